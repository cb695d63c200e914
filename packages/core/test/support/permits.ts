import type { Limiter, Permit } from '../../src/index.js';
import type { FakeClock } from '../../src/testing.js';

/** What became of an `acquire`: its permit or error, and when (on the fake clock) it settled. */
export interface Tracked {
  permit?: Permit;
  error?: unknown;
  at?: number;
}

/** Records what an `acquire` gave and when, without awaiting it. */
export function track(clock: FakeClock, promise: Promise<Permit>): Tracked {
  const result: Tracked = {};
  promise.then(
    (permit) => {
      result.permit = permit;
      result.at = clock.now();
    },
    (error: unknown) => {
      result.error = error;
      result.at = clock.now();
    },
  );
  return result;
}

/** Each window's usage, in the limiter's window order. */
export const used = async (limiter: Limiter): Promise<number[]> =>
  (await limiter.snapshot()).windows.map((w) => w.used);
