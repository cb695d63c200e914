/**
 * The system clock's timers at any length. Host timers fire at once (Node warns) for a delay
 * above 2^31 − 1 ms; vitest's fake timers do the same, so these tests run the real
 * `systemClock` on them and count callbacks while time moves in steps.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Limiter, type Permit, systemClock } from '../src/index.js';

const HOST_MAX_MS = 2 ** 31 - 1;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Moves fake time forward `total` ms in `steps` equal steps, letting promises settle. */
async function advance(total: number, steps: number): Promise<void> {
  for (let i = 0; i < steps; i++) await vi.advanceTimersByTimeAsync(total / steps);
}

describe('systemClock timers', () => {
  it.each([
    ['just past the host limit', HOST_MAX_MS + 1],
    ['2^31 + 1000 ms', 2 ** 31 + 1000],
    ['1e12 ms (about 31 years)', 1e12],
  ])('fires a timer of %s once, and not a step early', async (_name, delayMs) => {
    let fired = 0;
    systemClock.setTimeout(() => fired++, delayMs);
    await advance(delayMs - 1, 16);
    expect(fired).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(fired).toBe(1);
    await advance(4 * HOST_MAX_MS, 4);
    expect(fired).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('clears a long timer at any point of its chain', async () => {
    let fired = 0;
    const handle = systemClock.setTimeout(() => fired++, 3 * HOST_MAX_MS);
    await advance(1.5 * HOST_MAX_MS, 3); // past the first link
    systemClock.clearTimeout(handle);
    expect(vi.getTimerCount()).toBe(0);
    await advance(3 * HOST_MAX_MS, 3);
    expect(fired).toBe(0);
  });

  it('leaves a timer within the host limit to the host, as before', async () => {
    let fired = 0;
    systemClock.setTimeout(() => fired++, HOST_MAX_MS);
    await vi.advanceTimersByTimeAsync(HOST_MAX_MS - 1);
    expect(fired).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(fired).toBe(1);
  });
});

describe('the limiter on the system clock with durations past the host limit', () => {
  it('a maxWaitMs of 1e12 does not time out early: the waiter is admitted when room comes', async () => {
    const limiter = new Limiter({ quota: { rpm: 1 }, pacing: false, margin: { ms: 0 } });
    await limiter.acquire();
    let permit: Permit | undefined;
    let error: unknown;
    limiter.acquire({ maxWaitMs: 1e12 }).then(
      (admitted) => {
        permit = admitted;
      },
      (rejected: unknown) => {
        error = rejected;
      },
    );
    await advance(59_999, 4);
    expect([permit, error]).toEqual([undefined, undefined]);
    await vi.advanceTimersByTimeAsync(1);
    expect(error).toBeUndefined();
    expect(permit?.waitedMs).toBe(60_000);
    limiter.close();
  });

  it.each([
    ['pause(3e9)', (limiter: Limiter) => limiter.pause(3e9)],
    ['heed({ pauseMs: 3e9 })', (limiter: Limiter) => limiter.heed({ pauseMs: 3e9 })],
  ])('%s holds admissions for all of it, with one wait and no spinning', async (_name, hold) => {
    const limiter = new Limiter({ quota: { rps: 10 }, pacing: false });
    let waits = 0;
    limiter.on('waiting', () => waits++);
    await hold(limiter);
    let permit: Permit | undefined;
    void limiter.acquire().then((admitted) => {
      permit = admitted;
    });
    await advance(3e9 - 1, 64);
    expect(permit).toBeUndefined();
    expect(waits).toBe(1); // one decision, one timer: not re-decided every millisecond
    await vi.advanceTimersByTimeAsync(1);
    expect(permit?.waitedMs).toBe(3e9);
    limiter.close();
  });

  it('a leaseMs of 3e9 ends a forgotten permit once, when due, and not a step early', async () => {
    const limiter = new Limiter({ quota: { rps: 10 }, leaseMs: 3e9 });
    const expired: number[] = [];
    limiter.on('expired', ({ heldMs }) => expired.push(heldMs));
    const permit = await limiter.acquire();
    await advance(3e9 - 1, 64);
    expect([permit.state, expired]).toEqual(['active', []]);
    await vi.advanceTimersByTimeAsync(1);
    expect([permit.state, expired]).toEqual(['expired', [3e9]]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
