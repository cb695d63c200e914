import { isTollgateError, Limiter } from '@tollgate/core';
import { createFakeClock } from '@tollgate/core/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RedisStore } from '../src/index.js';
import { freePort } from './setup/redis-servers.js';

// A client of a port nobody listens on: every command stays queued until the store's timeout.
let client: Redis;
const unhandled = vi.fn();

beforeAll(async () => {
  process.on('unhandledRejection', unhandled);
  client = new Redis({ port: await freePort(), host: '127.0.0.1', retryStrategy: () => 100 });
  client.on('error', () => {});
});

afterAll(() => {
  client.disconnect();
  process.off('unhandledRejection', unhandled);
  expect(unhandled).not.toHaveBeenCalled();
});

const plan = {
  id: 'requests/60s:10',
  windows: [
    { name: 'requests/60s', unit: 'requests' as const, limit: 10, windowMs: 60_000, paced: false },
    { name: 'tokens/60s', unit: 'tokens' as const, limit: 1000, windowMs: 60_000, paced: false },
  ],
};

describe('while Redis does not answer', () => {
  it("fails closed by default: StoreUnavailableError at once, cause attached, mode 'unavailable'", async () => {
    const store = new RedisStore({ client, commandTimeoutMs: 100 });
    const error = await store.admit('k', plan, [1]).catch((e) => e);
    expect(isTollgateError(error, 'TOLLGATE_STORE_UNAVAILABLE')).toBe(true);
    expect(error.retryInMs).toBeGreaterThan(0);
    // the client is reconnecting (nothing recorded), or the command timed out in its queue
    expect(error.cause.message).toMatch(/connection is (reconnecting|close)|did not answer/);
    expect(store.mode).toBe('unavailable');
    await expect(store.snapshot('k', plan)).rejects.toMatchObject({
      code: 'TOLLGATE_STORE_UNAVAILABLE',
    });
    await expect(store.pause('k', plan, 10)).rejects.toMatchObject({
      code: 'TOLLGATE_STORE_UNAVAILABLE',
    });
    // a settlement may still be delivered by ioredis later: it may have been recorded
    await expect(store.release('k', plan, 12)).rejects.toMatchObject({ code: 'TOLLGATE_STORE' });
  });

  it('holds the waiters of a limiter: bounded by their deadlines, none admitted', async () => {
    const limiter = new Limiter({
      quota: { rpm: 10 },
      store: new RedisStore({ client, commandTimeoutMs: 100 }),
    });
    const errors: unknown[] = [];
    limiter.on('error', ({ error }) => errors.push(error));
    const outcomes = await Promise.allSettled([
      limiter.acquire({ maxWaitMs: 300 }),
      limiter.acquire({ maxWaitMs: 400 }),
    ]);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      if (outcome.status === 'rejected')
        expect(isTollgateError(outcome.reason, 'TOLLGATE_WAIT_TIMEOUT')).toBe(true);
    }
    expect(errors).toHaveLength(1);
    expect(isTollgateError(errors[0], 'TOLLGATE_STORE_UNAVAILABLE')).toBe(true);
  });

  it('falls back to memory with share of every limit, and routes fallback tickets back to it', async () => {
    const clock = createFakeClock(0);
    const store = new RedisStore({
      client,
      clock,
      commandTimeoutMs: 100,
      onUnavailable: { fallback: 'memory', share: 0.25 },
    });
    const first = await store.admit('k', plan, [100, 100, 100]);
    expect(store.mode).toBe('fallback');
    // floor(10 × 0.25) = 2 requests
    expect(first.tickets).toEqual(['m:0', 'm:1', undefined]);
    expect(first.blockedBy).toBe('requests/60s');
    expect((await store.snapshot('k', plan)).windows).toEqual([
      { name: 'requests/60s', used: 2, limit: 2 },
      { name: 'tokens/60s', used: 200, limit: 250 },
    ]);
    await store.release('k', plan, first.tickets[0]!);
    await store.rebook('k', plan, first.tickets[1]!, 50);
    expect((await store.snapshot('k', plan)).windows.map((w) => w.used)).toEqual([1, 50]);
    expect(await store.pause('k', plan, 1000)).toBe(1000);
    expect((await store.admit('k', plan, [0])).blockedBy).toBe('pause');
  });

  it('keeps a limiter admitting at the fallback share', async () => {
    const store = new RedisStore({
      client,
      commandTimeoutMs: 100,
      onUnavailable: { fallback: 'memory', share: 0.5 },
    });
    const limiter = new Limiter({ quota: { rpm: 10 }, store, pacing: false, key: 'share' });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 12 }, () => limiter.acquire({ maxWaitMs: 2000 })),
    );
    const admitted = outcomes.filter((outcome) => outcome.status === 'fulfilled').length;
    expect(admitted).toBe(5);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected')
        expect(isTollgateError(outcome.reason, 'TOLLGATE_WAIT_TIMEOUT')).toBe(true);
    }
  });
});
