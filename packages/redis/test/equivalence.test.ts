import {
  type AdmitDecision,
  MemoryStore,
  type StorePlan,
  type StoreWindow,
  type Ticket,
} from '@tollgate/core';
import { createFakeClock } from '@tollgate/core/testing';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../src/index.js';
import { connectStandalone, redisUrl, uniquePrefix } from './helpers.js';

/** mulberry32: a small seeded generator, so a failing sequence can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomPlan(next: () => number): StorePlan {
  const count = 1 + Math.floor(next() * 3);
  const windows: StoreWindow[] = [];
  for (let k = 0; k < count; k++) {
    const unit = next() < 0.4 ? 'requests' : 'tokens';
    const windowMs = [100, 250, 1000, 1500][Math.floor(next() * 4)]!;
    const limit =
      unit === 'requests' ? 1 + Math.floor(next() * 8) : Math.round((50 + next() * 950) * 10) / 10;
    windows.push({
      name: `${unit}/${windowMs}ms#${k}`,
      unit,
      limit,
      windowMs,
      paced: next() < 0.5,
    });
  }
  return {
    id: windows.map((w) => `${w.name}:${w.limit}/${w.windowMs}${w.paced ? 'p' : ''}`).join(','),
    windows,
  };
}

const shape = (decision: AdmitDecision) => ({
  now: decision.now,
  admitted: Array.from(decision.tickets, (ticket) => ticket !== undefined),
  retryAt: decision.retryAt,
  wakeAt: decision.wakeAt,
  blockedBy: decision.blockedBy,
});

describe.skipIf(redisUrl === null)('the Lua engine decides exactly like MemoryStore', () => {
  let client: Redis;
  beforeAll(() => {
    client = connectStandalone();
  });
  afterAll(async () => {
    await client.quit();
  });

  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`on a random sequence of admissions, settlements, departures, pauses, throttles and widenings (seed ${seed})`, async () => {
      const next = random(seed);
      const clock = createFakeClock(1_000_000 + next() * 1000);
      const memory = new MemoryStore({ clock });
      const redis = new RedisStore({ client, clock, prefix: uniquePrefix() });
      const plan = randomPlan(next);
      const largest = Math.max(...plan.windows.map((w) => (w.unit === 'tokens' ? w.limit : 0)), 10);
      const live: Array<[Ticket, Ticket]> = [];
      const released = new Set<Ticket>();

      for (let step = 0; step < 250; step++) {
        const what = next();
        const where = `seed ${seed}, step ${step}`;
        if (what < 0.5) {
          const costs = Array.from({ length: 1 + Math.floor(next() * 8) }, () =>
            Math.floor(next() * largest * (next() < 0.05 ? 1.3 : 0.6)),
          );
          // half the decisions let backfilling delay the head by up to 0.5 s (or not at all)
          const options =
            next() < 0.5 ? { headLatestStart: clock.now() + next() * 500 } : undefined;
          const expected = memory.admit('k', plan, costs, options);
          const actual = await redis.admit('k', plan, costs, options);
          expect(shape(actual), where).toEqual(shape(expected));
          expected.tickets.forEach((ticket, i) => {
            const other = actual.tickets[i];
            if (ticket !== undefined && other !== undefined) live.push([ticket, other]);
          });
        } else if (what < 0.6 && live.length > 0) {
          const [mine, theirs] = live[Math.floor(next() * live.length)]!;
          const tokens = Math.floor(next() * largest * 0.8);
          memory.rebook('k', plan, mine, tokens);
          await redis.rebook('k', plan, theirs, tokens);
        } else if (what < 0.68 && live.length > 0) {
          const [mine, theirs] = live[Math.floor(next() * live.length)]!;
          memory.release('k', plan, mine);
          await redis.release('k', plan, theirs);
          released.add(mine);
        } else if (what < 0.74 && live.length > 0) {
          // the request of an admission leaves now: both move it (never a released one)
          const index = Math.floor(next() * live.length);
          const [mine, theirs] = live[index]!;
          if (!released.has(mine)) {
            const tokens = Math.floor(next() * largest * 0.6);
            const moved = memory.restamp('k', plan, mine, tokens);
            const movedThere = await redis.restamp('k', plan, theirs, tokens);
            expect(movedThere === theirs, where).toBe(moved === mine);
            live[index] = [moved, movedThere];
          }
        } else if (what < 0.76) {
          const durationMs = Math.floor(next() * 400);
          expect(await redis.pause('k', plan, durationMs), where).toBe(
            memory.pause('k', plan, durationMs),
          );
        } else if (what < 0.78) {
          const factor = 0.1 + Math.floor(next() * 9) / 10;
          const durationMs = Math.floor(next() * 600);
          expect(await redis.throttle('k', plan, factor, durationMs), where).toBe(
            memory.throttle('k', plan, factor, durationMs),
          );
        } else if (what < 0.8) {
          // a widened margin, fractional and decaying: later bookings move into the future
          const decayMs = 100 + next() * 3000;
          const widening = {
            stepMs: 1 + next() * 200,
            maxMs: (0.01 + next() * 0.99) * decayMs,
            decayMs,
          };
          expect(await redis.widen('k', plan, widening), where).toBe(
            memory.widen('k', plan, widening),
          );
        } else if (what < 0.84) {
          expect(await redis.snapshot('k', plan), where).toEqual(memory.snapshot('k', plan));
        } else {
          // fractional steps too: the scripts must keep every double exact
          await clock.advance(next() < 0.2 ? next() * 50 : Math.floor(next() * 150));
        }
      }
      expect(await redis.snapshot('k', plan)).toEqual(memory.snapshot('k', plan));
    });
  }
});
