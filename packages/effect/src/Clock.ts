/**
 * The time bridge: Tollgate's limiters read time and set timers through a `Clock` of their own;
 * this module makes one from Effect's `Clock`, so a limiter obeys `TestClock`.
 */
import type { Clock as TollgateClock } from '@tollgate/core';
import type { Effect } from 'effect';
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
