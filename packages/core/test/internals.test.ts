/**
 * The limiter's parts, each on its own: plan building, request parsing and the scheduler,
 * with a real MemoryStore and the fake clock. The limiter's own tests cover them together.
 */
import { describe, expect, it } from 'vitest';
import { Emitter } from '../src/emitter.js';
import type { LimiterEvents } from '../src/events.js';
import { defineQuota, MemoryStore, type Permit } from '../src/index.js';
import { buildPlan, parsePacking } from '../src/internal/plan.js';
import { parseRequest, type RequestRules } from '../src/internal/request.js';
import { Scheduler } from '../src/internal/scheduler.js';
import { createFakeClock } from '../src/testing.js';

describe('buildPlan', () => {
  it('applies the margin and paces one window per unit: the slowest of a minute or less', () => {
    const quota = defineQuota({
      rpm: 300,
      rps: 10,
      tpm: 1_000_000,
      tps: 16_667,
      windows: [{ unit: 'tokens', limit: 5_000_000, windowMs: 3_600_000 }],
    });
    const plan = buildPlan(quota, { ms: 20, ratio: 0.1 }, true);
    expect(plan.windows.map((w) => [w.name, w.limit, w.windowMs, w.paced])).toEqual([
      ['requests/1s', 9, 1_020, false],
      ['requests/1m', 270, 60_020, true], // 300 RPM is slower than 10 RPS
      ['tokens/1s', 16_667 * 0.9, 1_020, true], // within 1% of TPM's rate: the shorter one
      ['tokens/1m', 900_000, 60_020, false],
      ['tokens/1h', 4_500_000, 3_600_020, false], // enforced, never paced
    ]);
    expect(buildPlan(quota, {}, false).windows.every((w) => !w.paced)).toBe(true);
  });

  it('rejects a margin that leaves a window no room, naming the option', () => {
    const quota = defineQuota({ rps: 1 });
    expect(() => buildPlan(quota, { ratio: 0.5 }, true)).toThrow(
      'Limiter.margin.ratio: leaves requests/1s a limit below 1',
    );
    expect(() => buildPlan(quota, { ms: -1 }, true)).toThrow('Limiter.margin.ms');
  });

  it('reads packing: true, false, or bounds', () => {
    expect(parsePacking(true)).toEqual({ lookahead: 64, maxDelayMs: 5000 });
    expect(parsePacking(false)).toEqual({ lookahead: 1, maxDelayMs: 0 });
    expect(parsePacking({ maxDelayMs: 0 })).toEqual({ lookahead: 64, maxDelayMs: 0 });
    expect(() => parsePacking({ lookahead: 0 })).toThrow('Limiter.packing.lookahead');
  });
});

describe('parseRequest', () => {
  const rules: RequestRules = {
    tokenWindows: buildPlan(defineQuota({ tps: 1000 }), {}, true).windows,
    maxTokens: 1000,
    defaultMaxWaitMs: 5000,
    // a bias of 2, clamped to what a window holds, as the limiter books it
    costOf: (estimate) => Math.min(Math.ceil(estimate.prompt * 2) + estimate.output, 1000),
  };

  it('books a number as given, rounded up, and an estimate at the learned bias', () => {
    expect(parseRequest({ tokens: 10.2 }, rules)).toMatchObject({ cost: 11, maxWaitMs: 5000 });
    expect(parseRequest({ tokens: { prompt: 100, output: 50 } }, rules)).toMatchObject({
      cost: 250,
      estimate: { prompt: 100, output: 50 },
    });
  });

  it('never lets the bias make too large a request that fits unbiased', () => {
    expect(parseRequest({ tokens: { prompt: 600, output: 300 } }, rules).cost).toBe(1000);
    expect(() => parseRequest({ tokens: 1001 }, rules)).toThrow(
      'request needs 1001 in window tokens/1s, which never holds more than 1000',
    );
  });

  it('words every bad option the same way', () => {
    expect(() => parseRequest({ tokens: -1 }, rules)).toThrow(
      'tokens: must be a finite number >= 0, got -1',
    );
    expect(() => parseRequest({ tokens: { prompt: 1 } }, rules)).toThrow(
      'tokens.output: must be a finite number >= 0, got undefined',
    );
    expect(() => parseRequest({ maxWaitMs: Number.NaN }, rules)).toThrow(
      'maxWaitMs: must be a finite number >= 0 or Infinity, got NaN',
    );
    expect(() => parseRequest({ priorty: 1 }, rules)).toThrow('acquire.priorty: unknown option');
  });
});

describe('Scheduler', () => {
  const setup = (maxInFlight: number) => {
    const clock = createFakeClock();
    const plan = buildPlan(defineQuota({ rps: 2 }), { ms: 0 }, false);
    const issued: number[] = [];
    const scheduler: Scheduler = new Scheduler({
      store: new MemoryStore({ clock }),
      key: 'k',
      plan,
      clock,
      lookahead: 8,
      maxHeadDelayMs: 0,
      maxInFlight,
      events: new Emitter<LimiterEvents>([], () => {}),
      costOf: () => 1,
      issue: (_request, _ticket, admittedAt) => {
        issued.push(admittedAt);
        return { admittedAt } as Permit;
      },
    });
    const request = {
      cost: 1,
      estimate: undefined,
      priority: 0,
      signal: undefined,
      maxWaitMs: 1e4,
    };
    return { clock, scheduler, issued, request };
  };

  it('admits what fits at once and the rest when the window frees, counting permits in flight', async () => {
    const { clock, scheduler, issued, request } = setup(Number.POSITIVE_INFINITY);
    for (let i = 0; i < 3; i++) void scheduler.submit(request);
    await clock.flush();
    expect(issued).toEqual([0, 0]);
    expect([scheduler.queued, scheduler.inFlight]).toEqual([1, 2]);
    await clock.advance(1000);
    expect(issued).toEqual([0, 0, 1000]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('holds waiters while maxInFlight permits are out, and lets one in when one ends', async () => {
    const { clock, scheduler, issued, request } = setup(1);
    void scheduler.submit(request);
    void scheduler.submit(request);
    await clock.advance(5000);
    expect(issued).toEqual([0]);
    scheduler.ended();
    await clock.flush();
    expect(issued).toEqual([0, 5000]);
  });
});
