import { Clock, Duration, Effect, Exit, Fiber } from 'effect';
import { TestClock } from 'effect/testing';
import { describe, expect, it } from 'vitest';
import { classifyError, RateLimited, retrying, retrySchedule } from '../src/index.js';

const runTest = <A, E>(effect: Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromise(Effect.provide(effect, TestClock.layer()));

/** A DashScope-style 429 with a `retry-after` hint, as the openai SDK's APIError carries it. */
const throttled = (retryAfterSeconds: number) => ({
  status: 429,
  headers: { 'retry-after': String(retryAfterSeconds) },
  error: {
    code: 'limit_requests',
    message: 'Requests rate limit exceeded, please try again later.',
  },
});

/** An effect failing with `failures` in turn, then succeeding; records when each attempt started. */
const flaky = (failures: ReadonlyArray<unknown>, starts: number[]) => {
  let attempt = 0;
  return Effect.flatMap(Clock.currentTimeMillis, (now) => {
    starts.push(now);
    const failure = failures[attempt++];
    return failure === undefined ? Effect.succeed('reply') : Effect.fail(failure);
  });
};

/** Runs `self` in a fiber, advances the TestClock by `duration` and returns how `self` ended. */
const drive = <A, E>(self: Effect.Effect<A, E>, duration: Duration.Input = '10 minutes') =>
  Effect.gen(function* () {
    const fiber = yield* Effect.forkChild(Effect.exit(self));
    yield* TestClock.adjust(duration);
    return yield* Fiber.join(fiber);
  });

describe('retrySchedule', () => {
  it("waits the server's hints: 1 s, then 5 s, then the call succeeds", () =>
    runTest(
      Effect.gen(function* () {
        const starts: number[] = [];
        const exit = yield* drive(
          flaky([throttled(1), throttled(5)], starts).pipe(
            Effect.retry(retrySchedule({ provider: 'dashscope', backoff: () => 60_000 })),
          ),
        );
        expect(exit).toEqual(Exit.succeed('reply'));
        expect(starts).toEqual([0, 1000, 6000]);
      }),
    ));
});

describe('retrySchedule stops', () => {
  it('at once on a failure that is not retryable, which propagates unchanged', () =>
    runTest(
      Effect.gen(function* () {
        const starts: number[] = [];
        const freeTierOut = {
          status: 429,
          error: {
            code: 'AllocationQuota.FreeTierOnly',
            message: 'Free allocated quota exceeded.',
          },
        };
        const exit = yield* drive(
          flaky([freeTierOut], starts).pipe(Effect.retry(retrySchedule({ provider: 'dashscope' }))),
        );
        expect(exit).toEqual(Exit.fail(freeTierOut));
        expect(starts).toEqual([0]);
        expect(classifyError(freeTierOut, { provider: 'dashscope' })._tag).toBe('QuotaExhausted');
      }),
    ));

  it("after maxAttempts, waiting the policy's backoff when the server gives no hint", () =>
    runTest(
      Effect.gen(function* () {
        const starts: number[] = [];
        const unavailable = { status: 503, error: { code: 'ModelServingError', message: 'busy' } };
        const exit = yield* drive(
          flaky([unavailable, unavailable, unavailable, unavailable], starts).pipe(
            Effect.retry(
              retrySchedule({ maxAttempts: 3, backoff: (retry) => 250 * retry, budget: false }),
            ),
          ),
        );
        expect(exit).toEqual(Exit.fail(unavailable));
        expect(starts).toEqual([0, 250, 750]);
      }),
    ));

  it('when the hint is longer than maxRetryAfterMs', () =>
    runTest(
      Effect.gen(function* () {
        const starts: number[] = [];
        const exit = yield* drive(
          flaky([throttled(1), throttled(120)], starts).pipe(
            Effect.retry(retrySchedule({ provider: 'dashscope', maxRetryAfterMs: 60_000 })),
          ),
        );
        expect(Exit.isFailure(exit)).toBe(true);
        expect(starts).toEqual([0, 1000]);
      }),
    ));

  it('keeps the verdict of a failure classified already: RateLimited with its retryAfter', () =>
    runTest(
      Effect.gen(function* () {
        const starts: number[] = [];
        const limited = classifyError(throttled(2), { provider: 'dashscope' });
        expect(limited).toBeInstanceOf(RateLimited);
        if (limited._tag !== 'RateLimited') return;
        expect([limited.kind, Duration.toMillis(limited.retryAfter ?? Duration.zero)]).toEqual([
          'request-rate',
          2000,
        ]);
        const exit = yield* drive(retrying(flaky([limited], starts), { provider: 'openai' }));
        expect(exit).toEqual(Exit.succeed('reply'));
        expect(starts).toEqual([0, 2000]);
      }),
    ));
});
