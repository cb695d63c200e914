/**
 * Where retry gets time from and how it sleeps. Structurally the same as core's `Clock`, so
 * one fake clock serves both in tests.
 */
export interface RetryClock {
  /** Milliseconds since the epoch (or any fixed origin, consistently). */
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock: `Date.now` and the global timers. */
export const systemClock: RetryClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as Parameters<typeof clearTimeout>[0]),
};
