import {
  type Clock,
  isTollgateError,
  Limiter,
  type QuotaDefinition,
  systemClock,
} from '@tollgate/core';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../src/index.js';
import { connectStandalone, redisUrl, uniquePrefix } from './helpers.js';

/** This machine's clock, `offsetMs` off: what a host with a drifting clock sees. */
const skewedClock = (offsetMs: number): Clock => ({
  now: () => Date.now() + offsetMs,
  setTimeout: systemClock.setTimeout,
  clearTimeout: systemClock.clearTimeout,
});

const OFFSETS = [-5000, 5000];

describe.skipIf(redisUrl === null)('clients whose clocks are 10 s apart', () => {
  const clients: Redis[] = [];
  beforeAll(() => {
    clients.push(connectStandalone(), connectStandalone());
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.quit()));
  });

  /** Fires 3 × limit acquisitions between the two limiters; returns how many got in. */
  async function burst(limit: number, quota: QuotaDefinition, injectClocks: boolean) {
    const prefix = uniquePrefix();
    const limiters = OFFSETS.map((offsetMs, i) => {
      const clock = skewedClock(offsetMs);
      const store = new RedisStore({
        client: clients[i]!,
        prefix,
        ...(injectClocks ? { clock } : {}),
      });
      return new Limiter({ quota, pacing: false, key: 'shared', clock, store });
    });
    // the clock that runs behind goes first; then both at once
    const first = await limiters[0]!.acquire({ tokens: 100, maxWaitMs: 100 });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 3 * limit - 1 }, (_, i) =>
        limiters[(i + 1) % 2]!.acquire({ tokens: 100, maxWaitMs: 100 }),
      ),
    );
    outcomes.push({ status: 'fulfilled', value: first });
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected')
        expect(isTollgateError(outcome.reason, 'TOLLGATE_WAIT_TIMEOUT')).toBe(true);
    }
    return { admitted: outcomes.filter((o) => o.status === 'fulfilled').length, limiters };
  }

  it.each<[number, QuotaDefinition]>([
    [10, { rps: 10 }],
    [8, { rps: 20, tps: 800 }],
  ])(
    'share one quota exactly on the server clock: %i admitted in a 1 s window',
    async (limit, quota) => {
      const { admitted, limiters } = await burst(limit, quota, false);
      expect(admitted).toBe(limit);
      for (const limiter of limiters) {
        const used = (await limiter.snapshot()).windows.map((w) => w.used);
        expect(used).toEqual(Object.keys(quota).map((k) => (k === 'rps' ? limit : limit * 100)));
      }
    },
  );

  it('would overrun the window if each decided on its own clock (why the server decides)', async () => {
    const { admitted } = await burst(10, { rps: 10 }, true);
    expect(admitted).toBeGreaterThan(10);
  });
});
