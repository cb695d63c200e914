import { performance } from 'node:perf_hooks';

/**
 * Simulated time: `start + real elapsed × timeScale`, in milliseconds since the epoch. Timers
 * take simulated milliseconds and fire after `ms / timeScale` real ones (rounded up: never early).
 * Structurally a `Clock` of `@tollgate/core`, so a limiter can run on the simulator's time.
 */
export interface SimulatorClock {
  /** Simulated milliseconds since the epoch. */
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Simulated milliseconds per real millisecond. */
  readonly timeScale: number;
  /**
   * Where simulated time was real time: give it (with `timeScale`) to `simulatorClock` in
   * another thread or process on this machine to get a clock in step with this one.
   */
  readonly anchor: ClockAnchor;
}

/** A real instant and the simulated instant it maps to. */
export interface ClockAnchor {
  /** `performance.timeOrigin + performance.now()`: the epoch in ms, in every thread alike. */
  readonly realMs: number;
  /** The simulated time at that instant, in ms since the epoch. */
  readonly simulatedMs: number;
}

/** High-resolution milliseconds since the epoch, on a time base every thread shares. */
const realNow = (): number => performance.timeOrigin + performance.now();

export function createScaledClock(timeScale: number, anchor?: ClockAnchor): SimulatorClock {
  const start = realNow();
  const { realMs, simulatedMs } = anchor ?? { realMs: start, simulatedMs: start };
  const now = () => simulatedMs + (realNow() - realMs) * timeScale;
  // Node may fire a timer a fraction of a millisecond before `performance.now()` says it is
  // due; a timer that wakes early sleeps again for the rest, so it never fires before its time.
  interface Timer {
    handle: ReturnType<typeof setTimeout> | undefined;
  }
  const arm = (timer: Timer, callback: () => void, dueAt: number) => {
    const realMs = Math.ceil(Math.max(0, dueAt - now()) / timeScale);
    timer.handle = globalThis.setTimeout(() => {
      if (now() < dueAt) arm(timer, callback, dueAt);
      else callback();
    }, realMs);
  };
  return {
    now,
    setTimeout: (callback, ms) => {
      const timer: Timer = { handle: undefined };
      arm(timer, callback, now() + Math.max(0, ms));
      return timer;
    },
    clearTimeout: (handle) => {
      const timer = handle as Timer | undefined;
      if (timer?.handle !== undefined) globalThis.clearTimeout(timer.handle);
    },
    timeScale,
    anchor: Object.freeze({ realMs, simulatedMs }),
  };
}
