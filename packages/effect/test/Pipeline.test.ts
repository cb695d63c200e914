import { type CallContext, Limiter, limit } from '@tollgate/core';
import { quotaFeedback, retry } from '@tollgate/retry';
import { Clock, Data, Effect, Fiber } from 'effect';
import { TestClock } from 'effect/testing';
import { describe, expect, it } from 'vitest';
import { classifyError, pipelineEffect, tollgateClock } from '../src/index.js';

const runTest = <A, E>(effect: Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromise(Effect.provide(effect, TestClock.layer()));

interface Request {
  readonly prompt: string;
}

class Moderated extends Data.TaggedError('Moderated')<{ readonly prompt: string }> {}

const throttled = {
  status: 429,
  headers: { 'retry-after': '2' },
  error: { code: 'limit_requests', message: 'Requests rate limit exceeded' },
};

/** A limiter of 1 request and 1,000 tokens per second on the TestClock, with `limit` and `retry` layers. */
const setup = Effect.gen(function* () {
  const clock = yield* tollgateClock;
  const limiter = new Limiter({
    quota: { rps: 1, tps: 1000 },
    clock,
    margin: { ms: 0, widen: false },
  });
  const layers = [
    retry({ provider: 'dashscope', clock, budget: false, maxAttempts: 3 }),
    limit<Request, string>(limiter, {
      estimate: () => 100,
      feedback: quotaFeedback({ provider: 'dashscope' }),
    }),
  ];
  return { clock, limiter, layers };
});

/** Lets pending promise callbacks run until `done()` holds (at most `turns` event-loop turns). */
const settle = (done: () => boolean, turns = 50) =>
  Effect.gen(function* () {
    for (let turn = 0; turn < turns && !done(); turn++) {
      yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)));
    }
  });

describe('pipelineEffect', () => {
  it('retries a 429 through the limiter after its hint, and the reply comes back as an Effect', () =>
    runTest(
      Effect.gen(function* () {
        const { limiter, layers } = yield* setup;
        const starts: number[] = [];
        const send = pipelineEffect(
          layers,
          (request: Request, context: CallContext) =>
            Effect.flatMap(Clock.currentTimeMillis, (now) => {
              starts.push(now);
              return context.attempt === 1
                ? Effect.fail(classifyError(throttled, { provider: 'dashscope' }))
                : Effect.succeed(`reply to ${request.prompt}`);
            }),
          { provider: 'dashscope' },
        );
        const fiber = yield* Effect.forkChild(send({ prompt: 'hi' }));
        yield* TestClock.adjust('10 seconds');
        expect(yield* Fiber.join(fiber)).toBe('reply to hi');
        expect(starts).toEqual([0, 2000]);
        const snapshot = yield* Effect.promise(() => limiter.snapshot());
        expect([snapshot.inFlight, snapshot.queued]).toEqual([0, 0]);
      }),
    ));

  it("the call's own typed failure comes back as itself (catchTag matches), not retried", () =>
    runTest(
      Effect.gen(function* () {
        const { layers } = yield* setup;
        let calls = 0;
        const send = pipelineEffect(layers, (request: Request) => {
          calls++;
          return Effect.fail(new Moderated({ prompt: request.prompt }));
        });
        const recovered = yield* send({ prompt: 'rude' }).pipe(
          Effect.catchTag('Moderated', (e) => Effect.succeed(`refused: ${e.prompt}`)),
        );
        expect(recovered).toBe('refused: rude');
        expect(calls).toBe(1);
      }),
    ));

  it('gives up with RetryGaveUp carrying the last failure, classified, after maxAttempts', () =>
    runTest(
      Effect.gen(function* () {
        const { layers } = yield* setup;
        const send = pipelineEffect(layers, () => Effect.fail(throttled), {
          provider: 'dashscope',
        });
        const fiber = yield* Effect.forkChild(Effect.flip(send({ prompt: 'x' })));
        yield* TestClock.adjust('1 minute');
        const error = yield* Fiber.join(fiber);
        expect(error).toMatchObject({ _tag: 'RetryGaveUp' });
        if (!('_tag' in error) || error._tag !== 'RetryGaveUp') return;
        expect([error.reason, error.attempts, error.last._tag]).toEqual([
          'max-attempts',
          3,
          'RateLimited',
        ]);
      }),
    ));

  it('interrupted while waiting for admission: nothing booked, nothing queued', () =>
    runTest(
      Effect.gen(function* () {
        const { limiter, layers } = yield* setup;
        let calls = 0;
        const send = pipelineEffect(layers, () => {
          calls++;
          return Effect.succeed('ok');
        });
        yield* send({ prompt: 'first' });
        const waiting = yield* Effect.forkChild(send({ prompt: 'second' }));
        yield* TestClock.adjust('500 millis');
        expect((yield* Effect.promise(() => limiter.snapshot())).queued).toBe(1);
        yield* Fiber.interrupt(waiting);
        yield* TestClock.adjust('0 millis');
        const snapshot = yield* Effect.promise(() => limiter.snapshot());
        expect([snapshot.queued, snapshot.inFlight, snapshot.windows[0]?.used]).toEqual([0, 0, 1]);
        yield* TestClock.adjust('2 seconds');
        expect(calls).toBe(1);
      }),
    ));

  it('interrupted while running: the inner fiber is interrupted, the permit ends, the booking stays', () =>
    runTest(
      Effect.gen(function* () {
        const { limiter, layers } = yield* setup;
        let interrupted = 0;
        const send = pipelineEffect(layers, () =>
          Effect.never.pipe(
            Effect.onInterrupt(() =>
              Effect.sync(() => {
                interrupted++;
              }),
            ),
          ),
        );
        const running = yield* Effect.forkChild(send({ prompt: 'slow' }));
        yield* TestClock.adjust('10 millis');
        expect((yield* Effect.promise(() => limiter.snapshot())).inFlight).toBe(1);
        yield* Fiber.interrupt(running);
        // the abort reaches the inner fiber through the pipeline's signal, a few turns later
        let snapshot = yield* Effect.promise(() => limiter.snapshot());
        for (let turn = 0; turn < 50 && snapshot.inFlight > 0; turn++) {
          yield* settle(() => false, 1);
          snapshot = yield* Effect.promise(() => limiter.snapshot());
        }
        expect([interrupted, snapshot.inFlight, snapshot.windows[0]?.used]).toEqual([1, 0, 1]);
      }),
    ));
});
