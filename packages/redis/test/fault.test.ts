import { isTollgateError, Limiter, type StorePlan } from '@tollgate/core';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RedisStore } from '../src/index.js';
import { redisBinaries, uniquePrefix } from './helpers.js';
import {
  freePort,
  makeTempDir,
  type RedisServer,
  removeDir,
  startRedisServer,
} from './setup/redis-servers.js';

/** A plan for calling the stores directly (the limiters build their own). */
const PLAN: StorePlan = {
  id: 'fault-test',
  windows: [{ name: 'rpm', unit: 'requests', limit: 10, windowMs: 60_000, paced: false }],
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Tally {
  admitted: number;
  timedOut: number;
  other: unknown[];
}

/** Fires `count` acquisitions over the limiters in turn; every one must end admitted or typed. */
async function burst(limiters: ReadonlyArray<Limiter>, count: number): Promise<Tally> {
  const outcomes = await Promise.allSettled(
    Array.from({ length: count }, (_, i) =>
      limiters[i % limiters.length]!.acquire({ maxWaitMs: 2000 }),
    ),
  );
  const tally: Tally = { admitted: 0, timedOut: 0, other: [] };
  for (const outcome of outcomes) {
    if (outcome.status === 'fulfilled') tally.admitted++;
    else if (isTollgateError(outcome.reason, 'TOLLGATE_WAIT_TIMEOUT')) tally.timedOut++;
    else tally.other.push(outcome.reason);
  }
  return tally;
}

async function until(what: string, condition: () => Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting until ${what}`);
}

describe.skipIf(!redisBinaries)('when the Redis server stops mid-run and comes back', () => {
  let dir: string;
  let port: number;
  let server: RedisServer | undefined;
  const clients: Redis[] = [];
  const unhandled = vi.fn();

  beforeAll(async () => {
    process.on('unhandledRejection', unhandled);
    dir = await makeTempDir();
    port = await freePort();
    server = await startRedisServer(port, dir);
    for (let i = 0; i < 2; i++) {
      // an application's client: reconnects on its own, every 50 ms
      const client = new Redis({ port, host: '127.0.0.1', retryStrategy: () => 50 });
      client.on('error', () => {});
      clients.push(client);
    }
  });

  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await server?.stop();
    await removeDir(dir);
    process.off('unhandledRejection', unhandled);
  });

  it('follows the policy, loses nothing, does not crash, and shares exactly again', async () => {
    const prefix = uniquePrefix();
    const quota = { rpm: 10 };
    const closed = new RedisStore({ client: clients[0]!, prefix, commandTimeoutMs: 300 });
    const fallbacks = clients.map(
      (client) =>
        new RedisStore({
          client,
          prefix,
          commandTimeoutMs: 300,
          onUnavailable: { fallback: 'memory', share: 0.5 },
        }),
    );
    const limitersOn = (key: string) =>
      fallbacks.map((store) => new Limiter({ quota, store, key, pacing: false }));

    // 1. Redis up: two processes share the quota exactly
    const before = await burst(limitersOn('before'), 30);
    expect(before).toEqual({ admitted: 10, timedOut: 20, other: [] });
    const holder = new Limiter({ quota, store: closed, key: 'held', pacing: false });
    const errors: unknown[] = [];
    holder.on('error', ({ error }) => errors.push(error));
    const held = await holder.acquire();

    // 2. Redis stops
    await server!.stop();
    server = undefined;

    // fail-closed: no admissions, and the waiters wait, each as long as its own deadline says
    const failClosed = new Limiter({ quota, store: closed, key: 'closed', pacing: false });
    let waiterSettled = false;
    const waiter = failClosed.acquire().finally(() => {
      waiterSettled = true;
    });
    const bounded = await failClosed.acquire({ maxWaitMs: 600 }).catch((error) => error);
    expect(isTollgateError(bounded, 'TOLLGATE_WAIT_TIMEOUT')).toBe(true);
    expect(waiterSettled).toBe(false);
    expect(closed.mode).toBe('unavailable');
    const unavailable = await closed.admit('closed', PLAN, [0]).catch((error) => error);
    expect(isTollgateError(unavailable, 'TOLLGATE_STORE_UNAVAILABLE')).toBe(true);
    // a refused connection costs no command timeout: 20 calls well inside one 20 s timeout
    const patient = new RedisStore({ client: clients[0]!, prefix, commandTimeoutMs: 20_000 });
    const started = Date.now();
    for (let i = 0; i < 20; i++) {
      const error = await patient.admit('patient', PLAN, [0]).catch((e) => e);
      expect(isTollgateError(error, 'TOLLGATE_STORE_UNAVAILABLE')).toBe(true);
    }
    expect(Date.now() - started).toBeLessThan(10_000);
    // cancelling a permit Redis admitted: the lost refund is an error event, never a crash
    held.cancel();
    // past its 300 ms command timeout (timers fire in order), with Redis still down
    await sleep(600);
    expect(errors).toHaveLength(1);
    expect(isTollgateError(errors[0], 'TOLLGATE_STORE')).toBe(true);

    // the fallback: each process admits its share (floor(10 × 0.5) = 5), in memory
    const during = await burst(limitersOn('during'), 30);
    expect(during).toEqual({ admitted: 10, timedOut: 20, other: [] });
    expect(fallbacks.map((store) => store.mode)).toEqual(['fallback', 'fallback']);
    const oneProcess = await burst([limitersOn('alone')[0]!], 10);
    expect(oneProcess.admitted).toBe(5);

    // 3. Redis is back on the same port (empty: no persistence)
    server = await startRedisServer(port, dir);
    await until('every store is back on Redis', async () => {
      // calls are what probe Redis again
      await Promise.allSettled([failClosed, ...limitersOn('probe')].map((l) => l.snapshot()));
      return [closed, ...fallbacks].every((store) => store.mode === 'redis');
    });

    // exact sharing again, through Redis
    const after = await burst(limitersOn('after'), 30);
    expect(after).toEqual({ admitted: 10, timedOut: 20, other: [] });
    expect(await clients[0]!.exists(`${prefix}:{after}:q`)).toBe(1);
    await expect(failClosed.acquire()).resolves.toBeDefined();
    // the waiter of the outage was admitted once Redis answered, nothing lost
    await expect(waiter).resolves.toBeDefined();

    expect(unhandled).not.toHaveBeenCalled();
  });
});
