import { Limiter } from '@tollgate/core';
import { createFakeClock } from '@tollgate/core/testing';
import { Clock, Effect, Fiber } from 'effect';
import { TestClock } from 'effect/testing';
import { describe, expect, it } from 'vitest';
import { effectClock, tollgateClock } from '../src/Clock.js';

const runTest = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.runPromise(Effect.provide(effect, TestClock.layer()));

describe('tollgateClock', () => {
  it('reads the TestClock and fires timers only when it is adjusted', () =>
    runTest(
      Effect.gen(function* () {
        const clock = yield* tollgateClock;
        expect(clock.now()).toBe(0);
        const fired: number[] = [];
        clock.setTimeout(() => fired.push(clock.now()), 1000);
        const cleared = clock.setTimeout(() => fired.push(-1), 1500);
        yield* TestClock.adjust('999 millis');
        expect(fired).toEqual([]);
        clock.clearTimeout(cleared);
        yield* TestClock.adjust('1 second');
        expect(fired).toEqual([1000]);
        expect(clock.now()).toBe(1999);
      }),
    ));

  it('drives a limiter: the second request of a 1 RPS quota is admitted after one second', () =>
    runTest(
      Effect.gen(function* () {
        const clock = yield* tollgateClock;
        const limiter = new Limiter({ quota: { rps: 1 }, clock, margin: { ms: 0 } });
        const admitted: number[] = [];
        for (let i = 0; i < 2; i++) {
          void limiter.acquire().then((permit) => {
            admitted.push(clock.now());
            permit.settle();
          });
        }
        yield* TestClock.adjust('10 millis');
        expect(admitted).toEqual([0]);
        yield* TestClock.adjust('989 millis');
        expect(admitted).toEqual([0]);
        yield* TestClock.adjust('1 millis');
        expect(admitted).toEqual([0, 1000]);
        limiter.close();
      }),
    ));
});

describe('tollgateClock timers', () => {
  it('never call back in the caller’s turn, even at 0 ms', () =>
    runTest(
      Effect.gen(function* () {
        const clock = yield* tollgateClock;
        const fired: string[] = [];
        clock.setTimeout(() => fired.push('zero'), 0);
        clock.setTimeout(() => fired.push('negative'), -5);
        fired.push('caller');
        yield* TestClock.adjust('0 millis');
        yield* Effect.yieldNow;
        expect(fired).toEqual(['caller', 'zero', 'negative']);
      }),
    ));
});

describe('tollgateClock long timers', () => {
  it('a timer longer than a host timer holds (2^31 − 1 ms) fires once, when due', () =>
    runTest(
      Effect.gen(function* () {
        const clock = yield* tollgateClock;
        let fired = 0;
        clock.setTimeout(() => fired++, 2 ** 31 + 1000);
        yield* TestClock.adjust(2 ** 31);
        expect(fired).toBe(0);
        yield* TestClock.adjust(1000);
        expect(fired).toBe(1);
      }),
    ));
});

describe('effectClock', () => {
  it("runs Effect's time on a Tollgate clock: sleeps end when that clock reaches them", async () => {
    const fake = createFakeClock();
    const clock = effectClock(fake);
    let woke: number | undefined;
    const fiber = Effect.runFork(
      Effect.sleep('1 second').pipe(
        Effect.andThen(Clock.currentTimeMillis),
        Effect.tap((now) =>
          Effect.sync(() => {
            woke = now;
          }),
        ),
        Effect.provideService(Clock.Clock, clock),
      ),
    );
    const start = fake.now();
    await fake.advance(999);
    expect(woke).toBeUndefined();
    await fake.advance(1);
    await Effect.runPromise(Fiber.join(fiber));
    expect(woke).toBe(start + 1000);
  });
});
