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
}

export function createScaledClock(timeScale: number): SimulatorClock {
  const startReal = performance.now();
  const startSimulated = Date.now();
  const now = () => startSimulated + (performance.now() - startReal) * timeScale;
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
  };
}
