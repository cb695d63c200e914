import { performance } from 'node:perf_hooks';

/**
 * Simulated time: `start + real elapsed × timeScale`, in milliseconds since the epoch. Timers
 * take simulated milliseconds and fire after `ms / timeScale` real ones (rounded up: never early),
 * however many: past the host's timer limit they are chained, not fired at once.
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

/**
 * The longest delay a host timer keeps: Node fires a longer one after 1 ms (with a warning),
 * so each real timer is armed for at most this long, and re-armed until its time.
 */
export const HOST_MAX_MS = 2 ** 31 - 1;

/** Real time and real timers; injectable so that tests can run days of timers in no time. */
export interface HostTimers {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const NODE_TIMERS: HostTimers = {
  now: realNow,
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export function createScaledClock(
  timeScale: number,
  anchor?: ClockAnchor,
  host: HostTimers = NODE_TIMERS,
): SimulatorClock {
  const start = host.now();
  const { realMs, simulatedMs } = anchor ?? { realMs: start, simulatedMs: start };
  const now = () => simulatedMs + (host.now() - realMs) * timeScale;
  // A real timer wakes when it is due or at the host's limit, whichever is first; one that
  // wakes early (the limit, or Node firing a fraction of a millisecond before
  // `performance.now()` says it is due) sleeps again for the rest: never early, never a spin.
  interface Timer {
    handle: unknown;
  }
  const arm = (timer: Timer, callback: () => void, dueAt: number) => {
    const realDelayMs = Math.ceil(Math.max(0, dueAt - now()) / timeScale);
    timer.handle = host.setTimeout(
      () => {
        if (now() < dueAt) arm(timer, callback, dueAt);
        else callback();
      },
      Math.min(realDelayMs, HOST_MAX_MS),
    );
  };
  return {
    now,
    setTimeout: (callback, ms) => {
      const timer: Timer = { handle: undefined };
      // NaN (or a negative delay) is "at once", as for the global setTimeout
      arm(timer, callback, now() + Math.max(0, ms || 0));
      return timer;
    },
    clearTimeout: (handle) => {
      const timer = handle as Timer | undefined;
      if (timer?.handle !== undefined) host.clearTimeout(timer.handle);
    },
    timeScale,
    anchor: Object.freeze({ realMs, simulatedMs }),
  };
}
