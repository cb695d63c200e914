/**
 * The simulator's clock at any delay. A host that behaves as Node does — a delay above
 * 2^31 − 1 ms (or below 1) fires after 1 ms — is injected, with a time of its own, so weeks of
 * timers run in no time and every real timer armed is counted: a long simulated delay must
 * neither fire early nor re-arm in a spin.
 */
import { describe, expect, it } from 'vitest';
import { createScaledClock, HOST_MAX_MS, type HostTimers } from '../src/internal/scaled-clock.js';

/** Node's timers on a manual time: `run()` fires due timers in order, as the event loop does. */
function nodeLikeHost() {
  let time = 1_000_000;
  let nextId = 0;
  const pending = new Map<number, { at: number; callback: () => void }>();
  const armedMs: number[] = [];
  const host: HostTimers = {
    now: () => time,
    setTimeout(callback, ms) {
      armedMs.push(ms);
      const delay = ms >= 1 && ms <= HOST_MAX_MS ? ms : 1;
      pending.set(++nextId, { at: time + delay, callback });
      return nextId;
    },
    clearTimeout: (handle) => pending.delete(handle as number),
  };
  return {
    host,
    armedMs,
    pending,
    /** Fires every timer due by `until` (real ms from now), stopping after `maxFired`. */
    run(until: number, maxFired = 10_000): void {
      const end = time + until;
      for (let fired = 0; fired < maxFired; fired++) {
        const [id, next] = [...pending].reduce<[number, { at: number }] | [undefined, undefined]>(
          (earliest, entry) =>
            earliest[1] === undefined || entry[1].at < earliest[1].at ? entry : earliest,
          [undefined, undefined],
        );
        if (id === undefined || next.at > end) break;
        time = next.at;
        pending.get(id)?.callback();
        pending.delete(id);
      }
      time = Math.max(time, end);
    },
  };
}

describe('the scaled clock past the host timer limit', () => {
  it.each([
    ['just past the limit, at scale 1', 1, HOST_MAX_MS + 1, 2],
    ['2^31 + 1000 ms at scale 1', 1, 2 ** 31 + 1000, 2],
    ['1e12 simulated ms (31 years) at scale 10', 10, 1e12, Math.ceil(1e11 / HOST_MAX_MS)],
  ])('fires a timer %s once, when due, on few real timers', (_name, timeScale, delayMs, timers) => {
    const node = nodeLikeHost();
    const clock = createScaledClock(timeScale, undefined, node.host);
    const dueAt = clock.now() + delayMs;
    const firedAt: number[] = [];
    clock.setTimeout(() => firedAt.push(clock.now()), delayMs);

    node.run(Math.ceil(delayMs / timeScale) - 1);
    expect(firedAt).toEqual([]);
    node.run(1);
    expect(firedAt).toHaveLength(1);
    expect(firedAt[0]).toBeGreaterThanOrEqual(dueAt);
    expect(node.armedMs).toHaveLength(timers); // one real timer per host limit, no spin
    expect(Math.max(...node.armedMs)).toBeLessThanOrEqual(HOST_MAX_MS);
    expect(node.pending.size).toBe(0);
  });

  it('never fires a timer of Infinity, and keeps one real timer armed per host limit', () => {
    const node = nodeLikeHost();
    const clock = createScaledClock(1, undefined, node.host);
    let fired = 0;
    clock.setTimeout(() => fired++, Number.POSITIVE_INFINITY);
    node.run(10 * HOST_MAX_MS);
    expect(fired).toBe(0);
    expect(node.armedMs).toHaveLength(11);
    expect(node.pending.size).toBe(1);
  });

  it('clears a long timer at any point of its chain', () => {
    const node = nodeLikeHost();
    const clock = createScaledClock(1, undefined, node.host);
    let fired = 0;
    const handle = clock.setTimeout(() => fired++, 3 * HOST_MAX_MS);
    node.run(1.5 * HOST_MAX_MS); // past the first link
    clock.clearTimeout(handle);
    expect(node.pending.size).toBe(0);
    node.run(3 * HOST_MAX_MS);
    expect(fired).toBe(0);
    expect(node.armedMs).toHaveLength(2);
  });

  it('keeps a timer within the limit to one real timer, rounded up, and fires NaN at once', () => {
    const node = nodeLikeHost();
    const clock = createScaledClock(20, undefined, node.host);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('30 ms'), 30);
    clock.setTimeout(() => fired.push('NaN'), Number.NaN);
    expect(node.armedMs).toEqual([2, 0]); // 30 / 20 rounded up; NaN as 0
    node.run(1);
    expect(fired).toEqual(['NaN']);
    node.run(1);
    expect(fired).toEqual(['NaN', '30 ms']);
  });
});
