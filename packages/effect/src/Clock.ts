/**
 * The time bridge: Tollgate's limiters read time and set timers through a `Clock` of their own;
 * this module makes one from Effect's `Clock`, so a limiter obeys `TestClock`.
 */
import type { Clock as TollgateClock } from '@tollgate/core';
import { type Clock, Duration, Effect } from 'effect';
import { makeTollgateClock } from './internal/clock.js';

/**
 * A Tollgate `Clock` driven by the Effect `Clock` of the fiber that runs it: pass it to a
 * `Limiter`, a `RedisStore`, a retry policy or a `modelChain` you build yourself. The layers of
 * this package use it already.
 *
 * @example
 * const limiter = yield* Effect.map(tollgateClock, (clock) => new Limiter({ quota, clock }));
 * yield* TestClock.adjust('1 second'); // the limiter sees one second pass
 */
export const tollgateClock: Effect.Effect<TollgateClock> = makeTollgateClock;

/**
 * The other way round: an Effect `Clock` read from a Tollgate `Clock` — the simulator's scaled
 * clock, say — so Effect's sleeps, schedules and the limiters of this package's layers run on it.
 *
 * @example
 * const simulator = await startSimulator({ ...presets.qwen3Max, timeScale: 10 });
 * program.pipe(Effect.provideService(Clock.Clock, effectClock(simulator.clock)));
 */
export function effectClock(clock: TollgateClock): Clock.Clock {
  const nanos = () => BigInt(Math.round(clock.now() * 1_000_000));
  return {
    currentTimeMillisUnsafe: () => clock.now(),
    currentTimeMillis: Effect.sync(() => clock.now()),
    currentTimeNanosUnsafe: nanos,
    currentTimeNanos: Effect.sync(nanos),
    monotonicTimeNanosUnsafe: nanos,
    monotonicTimeNanos: Effect.sync(nanos),
    sleep: (duration) =>
      Effect.callback<void>((resume) => {
        const handle = clock.setTimeout(() => resume(Effect.void), Duration.toMillis(duration));
        return Effect.sync(() => clock.clearTimeout(handle));
      }),
  };
}
