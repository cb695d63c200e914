import type { Clock as TollgateClock } from '@tollgate/core';
import { Clock, Duration, Effect, type Fiber } from 'effect';

/**
 * A Tollgate `Clock` read from the Effect `Clock` of the running fiber's services: `now()` is
 * its `currentTimeMillis`, and each timer is a fiber forked with those services that sleeps on
 * that clock, then calls back. Under `TestClock` the limiter's waits, pacing and leases move
 * only with `TestClock.adjust`; the forked fibers run on the test clock's scheduler, so
 * `adjust` waits for what they wake.
 */
export const makeTollgateClock: Effect.Effect<TollgateClock> = Effect.gen(function* () {
  const services = yield* Effect.context<never>();
  const clock = yield* Clock.Clock;
  const fork = Effect.runForkWith(services);
  return {
    now: () => clock.currentTimeMillisUnsafe(),
    // never calls back in the caller's turn, as a host timer would not: a timer of 0 ms yields
    // to the scheduler first
    setTimeout: (callback: () => void, ms: number) =>
      fork(
        Effect.andThen(
          ms > 0 ? clock.sleep(Duration.millis(ms)) : Effect.yieldNow,
          Effect.sync(callback),
        ),
      ),
    clearTimeout: (handle: unknown) => (handle as Fiber.Fiber<void>).interruptUnsafe(),
  };
});
