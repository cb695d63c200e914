/** An opaque timer handle, as returned by {@link Clock.setTimeout}. */
export type TimerHandle = unknown;

/**
 * Where the limiter reads time and sets its timers. Inject a fake one in tests
 * (`createFakeClock` from `@tollgate/core/testing`); the default is the system clock.
 */
export interface Clock {
  /** Milliseconds since the epoch (or any fixed origin the store shares). */
  now(): number;
  /**
   * Calls `callback` once, `ms` from now — however long that is: a pause or a `maxWaitMs` may
   * last days.
   */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The longest delay a host timer keeps: Node and browsers fire a longer one at once. */
const HOST_MAX_MS = 2 ** 31 - 1;

/** A timer longer than the host keeps, run as a chain of host timers of at most its limit. */
class ChainedTimer {
  current: ReturnType<typeof setTimeout> | undefined;

  constructor(callback: () => void, ms: number) {
    this.arm(callback, ms);
  }

  private arm(callback: () => void, remainingMs: number): void {
    const stepMs = Math.min(remainingMs, HOST_MAX_MS);
    this.current = globalThis.setTimeout(() => {
      if (remainingMs > stepMs) this.arm(callback, remainingMs - stepMs);
      else callback();
    }, stepMs);
  }
}

/**
 * The system clock: `Date.now()` and the global timers, chained past the host's limit of
 * 2^31 − 1 ms (about 24.8 days), so a timer of any length fires once, when due.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) =>
    ms > HOST_MAX_MS ? new ChainedTimer(callback, ms) : globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) =>
    globalThis.clearTimeout(
      handle instanceof ChainedTimer ? handle.current : (handle as ReturnType<typeof setTimeout>),
    ),
};
