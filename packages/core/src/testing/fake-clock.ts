import type { Clock, TimerHandle } from '../clock.js';

/** A {@link Clock} that only moves when told to. */
export interface FakeClock extends Clock {
  /**
   * Moves time forward by `ms`, firing due timers in time order (FIFO on ties) and letting
   * promises settle after each, so code awaiting stores and timers runs as it would.
   */
  advance(ms: number): Promise<void>;
  /** Lets pending promises settle without moving time. */
  flush(): Promise<void>;
  /** Timers set and not yet fired or cleared. */
  pendingTimers(): number;
}

interface FakeTimer {
  readonly at: number;
  readonly order: number;
  readonly callback: () => void;
}

/** Lets every queued microtask and promise continuation run (one real macrotask turn). */
const settle = (): Promise<void> =>
  new Promise<void>((resolve) => {
    const { setImmediate } = globalThis as { setImmediate?: (callback: () => void) => unknown };
    if (setImmediate === undefined) globalThis.setTimeout(resolve, 0);
    else setImmediate(resolve);
  });

/**
 * A fake clock for deterministic tests of code that takes a {@link Clock}.
 *
 * @example
 * const clock = createFakeClock();
 * const limiter = new Limiter({ quota: { rps: 1 }, clock, margin: { ms: 0 } });
 * await clock.advance(1000);
 */
export function createFakeClock(start = 0): FakeClock {
  let now = start;
  let order = 0;
  const timers = new Set<FakeTimer>();

  const nextDue = (until: number): FakeTimer | undefined => {
    let due: FakeTimer | undefined;
    for (const timer of timers) {
      if (timer.at > until) continue;
      if (
        due === undefined ||
        timer.at < due.at ||
        (timer.at === due.at && timer.order < due.order)
      ) {
        due = timer;
      }
    }
    return due;
  };

  return {
    now: () => now,
    setTimeout(callback: () => void, ms: number): TimerHandle {
      const timer: FakeTimer = { at: now + Math.max(0, ms), order: order++, callback };
      timers.add(timer);
      return timer;
    },
    clearTimeout(handle: TimerHandle): void {
      timers.delete(handle as FakeTimer);
    },
    async advance(ms: number): Promise<void> {
      if (!(ms >= 0)) throw new RangeError(`advance needs ms >= 0, got ${ms}`);
      const target = now + ms;
      await settle();
      for (let due = nextDue(target); due !== undefined; due = nextDue(target)) {
        timers.delete(due);
        now = Math.max(now, due.at);
        due.callback();
        await settle();
      }
      now = target;
      await settle();
    },
    flush: settle,
    pendingTimers: () => timers.size,
  };
}
