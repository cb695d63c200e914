import type { LimiterSnapshot } from '@tollgate/core';
import { quotaFeedback } from '@tollgate/retry';
import { Effect, Exit, Fiber, Layer } from 'effect';
import { TestClock } from 'effect/testing';
import { describe, expect, it } from 'vitest';
import {
  makeQuota,
  Quota,
  type QuotaOptions,
  QuotaStore,
  QuotaWaitTimeout,
  RequestTooLarge,
  retrySchedule,
  withQuota,
} from '../src/index.js';

/** 1 request and 1,000 tokens per second, no margin: every admission instant is a whole second. */
const ONE_PER_SECOND: QuotaOptions = {
  quota: { rps: 1, tps: 1000 },
  margin: { ms: 0, widen: false },
};

const runTest = <A, E>(
  effect: Effect.Effect<A, E, Quota>,
  options: QuotaOptions = ONE_PER_SECOND,
): Promise<A> =>
  Effect.runPromise(
    effect.pipe(
      Effect.provide(Quota.layer(options).pipe(Layer.provide(QuotaStore.memory))),
      Effect.provide(TestClock.layer()),
    ),
  );

const snapshot = Quota.use((quota) => quota.snapshot);
const used = (snap: LimiterSnapshot, unit: 'requests' | 'tokens') =>
  snap.windows.find((window) => window.unit === unit)?.used;
const now = Effect.clockWith((clock) => clock.currentTimeMillis);

describe('withQuota', () => {
  it('runs the second request of a 1 RPS quota when the TestClock reaches one second', () =>
    runTest(
      Effect.gen(function* () {
        const finished: number[] = [];
        const call = Effect.flatMap(now, (at) => Effect.sync(() => finished.push(at)));
        const fibers = yield* Effect.forEach([1, 2], () =>
          Effect.forkChild(withQuota(call, { tokens: 100 })),
        );
        yield* TestClock.adjust('999 millis');
        expect(finished).toEqual([0]);
        expect((yield* snapshot).queued).toBe(1);
        yield* TestClock.adjust('1 millis');
        yield* Fiber.joinAll(fibers);
        expect(finished).toEqual([0, 1000]);
        const snap = yield* snapshot;
        expect([snap.queued, snap.inFlight, used(snap, 'requests')]).toEqual([0, 0, 1]);
      }),
    ));

  it('interrupted while waiting: the wait is aborted, nothing booked, nothing held', () =>
    runTest(
      Effect.gen(function* () {
        yield* withQuota(Effect.void, { tokens: 100 });
        let ran = false;
        const waiting = yield* Effect.forkChild(
          withQuota(
            Effect.sync(() => {
              ran = true;
            }),
            { tokens: 300 },
          ),
        );
        yield* TestClock.adjust('500 millis');
        expect((yield* snapshot).queued).toBe(1);
        yield* Fiber.interrupt(waiting);
        const snap = yield* snapshot;
        expect([snap.queued, snap.inFlight, used(snap, 'requests'), used(snap, 'tokens')]).toEqual([
          0, 0, 1, 100,
        ]);
        yield* TestClock.adjust('2 seconds');
        expect(ran).toBe(false);
        expect(used(yield* snapshot, 'requests')).toBe(0);
      }),
    ));

  it('interrupted while running: the permit ends (in flight 0) and its booking stays', () =>
    runTest(
      Effect.gen(function* () {
        const running = yield* Effect.forkChild(withQuota(Effect.never, { tokens: 400 }));
        yield* TestClock.adjust('10 millis');
        expect((yield* snapshot).inFlight).toBe(1);
        yield* Fiber.interrupt(running);
        const snap = yield* snapshot;
        expect([snap.inFlight, used(snap, 'requests'), used(snap, 'tokens')]).toEqual([0, 1, 400]);
      }),
    ));

  it('a failure that may have reached the provider keeps the booking; one that provably did not is refunded', () =>
    runTest(
      Effect.gen(function* () {
        const refused = yield* Effect.exit(
          withQuota(Effect.fail({ status: 429 }), { tokens: 200 }),
        );
        expect(Exit.isFailure(refused)).toBe(true);
        let snap = yield* snapshot;
        expect([snap.inFlight, used(snap, 'requests'), used(snap, 'tokens')]).toEqual([0, 1, 200]);

        yield* TestClock.adjust('1 second');
        const unreachable = Object.assign(new Error('connect ECONNREFUSED'), {
          code: 'ECONNREFUSED',
        });
        const neverSent = yield* Effect.exit(
          withQuota(Effect.fail(new Error('fetch failed', { cause: unreachable })), {
            tokens: 200,
          }),
        );
        expect(Exit.isFailure(neverSent)).toBe(true);
        snap = yield* snapshot;
        expect([snap.inFlight, used(snap, 'requests'), used(snap, 'tokens')]).toEqual([0, 0, 0]);

        // a `sent` rule of the caller's: this typed failure happened before sending
        const early = yield* Effect.exit(
          withQuota(Effect.fail('validation' as const), { tokens: 200, sent: () => false }),
        );
        expect(Exit.isFailure(early)).toBe(true);
        expect(used(yield* snapshot, 'requests')).toBe(0);
      }),
    ));

  it('fails with RequestTooLarge, typed, when no window can ever hold the request', () =>
    runTest(
      Effect.gen(function* () {
        const error = yield* Effect.flip(withQuota(Effect.succeed('reply'), { tokens: 1001 }));
        expect(error).toBeInstanceOf(RequestTooLarge);
        expect(error._tag).toBe('RequestTooLarge');
        if (error._tag !== 'RequestTooLarge') return;
        expect([error.window, error.limit, error.requested]).toEqual(['tokens/1s', 1000, 1001]);
        const recovered = yield* withQuota(Effect.succeed('reply'), { tokens: 1001 }).pipe(
          Effect.catchTag('RequestTooLarge', (e) => Effect.succeed(`split: ${e.requested}`)),
        );
        expect(recovered).toBe('split: 1001');
        const snap = yield* snapshot;
        expect([snap.queued, snap.inFlight, used(snap, 'requests')]).toEqual([0, 0, 0]);
      }),
    ));

  it('fails with QuotaWaitTimeout, typed, when admission needs longer than maxWaitMs', () =>
    runTest(
      Effect.gen(function* () {
        yield* withQuota(Effect.void, { tokens: 100 });
        const error = yield* Effect.flip(withQuota(Effect.void, { tokens: 100, maxWaitMs: 500 }));
        expect(error).toBeInstanceOf(QuotaWaitTimeout);
        if (error._tag !== 'QuotaWaitTimeout') return;
        expect(error.maxWaitMs).toBe(500);
        expect(error.expectedWaitMs).toBe(1000);
        const snap = yield* snapshot;
        expect([snap.queued, snap.inFlight, used(snap, 'requests')]).toEqual([0, 0, 1]);
      }),
    ));

  it("settles with the usage the effect reports: under 'actual' accounting the window books it", () =>
    runTest(
      Effect.gen(function* () {
        const reply = yield* withQuota(Effect.succeed({ usage: { total_tokens: 300 } }), {
          tokens: 900,
          usage: (value) => ({ totalTokens: value.usage.total_tokens }),
        });
        expect(reply.usage.total_tokens).toBe(300);
        const snap = yield* snapshot;
        expect([snap.inFlight, used(snap, 'tokens')]).toEqual([0, 300]);
      }),
      { ...ONE_PER_SECOND, quota: { rps: 1, tps: 1000, accounting: 'actual' } },
    ));
  it("keeps the reservation under 'reserved' accounting, whatever the usage says", () =>
    runTest(
      Effect.gen(function* () {
        yield* withQuota(Effect.succeed(300), {
          tokens: 900,
          usage: (total) => ({ totalTokens: total }),
        });
        const snap = yield* snapshot;
        expect([snap.inFlight, used(snap, 'tokens')]).toEqual([0, 900]);
      }),
    ));

  it('usage that cannot be read settles without it: the booking stays, the permit ends', () =>
    runTest(
      Effect.gen(function* () {
        yield* withQuota(Effect.succeed(1), {
          tokens: 500,
          usage: () => ({ totalTokens: -1 }),
        });
        const snap = yield* snapshot;
        expect([snap.inFlight, used(snap, 'tokens')]).toEqual([0, 500]);
      }),
      { ...ONE_PER_SECOND, quota: { rps: 1, tps: 1000, accounting: 'actual' } },
    ));
});

describe('withQuota under retrySchedule', () => {
  it('a refusal pauses the quota for every caller (feedback), and the retry is a new admission', () =>
    runTest(
      Effect.gen(function* () {
        const starts: Array<[string, number]> = [];
        let refusals = 0;
        const call = (name: string) =>
          Effect.flatMap(now, (at) => {
            starts.push([name, at]);
            if (name === 'a' && refusals++ === 0) {
              return Effect.fail({
                status: 429,
                headers: { 'retry-after': '1' },
                error: { code: 'limit_requests', message: 'Requests rate limit exceeded' },
              });
            }
            return Effect.succeed(name);
          });
        const limited = (name: string) =>
          withQuota(call(name), {
            tokens: 100,
            feedback: quotaFeedback({ provider: 'dashscope' }),
          }).pipe(Effect.retry(retrySchedule({ provider: 'dashscope' })));
        const a = yield* Effect.forkChild(limited('a'));
        yield* TestClock.adjust('100 millis');
        const b = yield* Effect.forkChild(limited('b'));
        yield* TestClock.adjust('5 seconds');
        expect(yield* Fiber.joinAll([a, b])).toEqual(['a', 'b']);
        expect(starts[0]).toEqual(['a', 0]);
        // b arrived at 100 ms, inside the pause the refusal asked for: both wait until 1 s
        const later = starts.slice(1).map(([, at]) => at);
        expect(later.length).toBe(2);
        for (const at of later) expect(at).toBeGreaterThanOrEqual(1000);
        expect(used(yield* snapshot, 'requests')).toBe(0);
      }),
      { quota: { rps: 10, tps: 10_000 }, margin: { ms: 0, widen: false } },
    ));
});

describe('Quota.layer and makeQuota', () => {
  it('closes the limiter when the scope closes: a later acquire fails with QuotaClosed', () =>
    Effect.runPromise(
      Effect.gen(function* () {
        const quota = yield* Effect.scoped(makeQuota(ONE_PER_SECOND));
        const error = yield* Effect.flip(quota.acquire({ tokens: 1 }));
        expect(error._tag).toBe('QuotaClosed');
      }).pipe(Effect.provide(QuotaStore.memory), Effect.provide(TestClock.layer())),
    ));

  it('two quotas with tags of their own on one store and key share one quota', () =>
    Effect.runPromise(
      Effect.gen(function* () {
        const a = yield* makeQuota({ ...ONE_PER_SECOND, key: 'shared' });
        const b = yield* makeQuota({ ...ONE_PER_SECOND, key: 'shared' });
        yield* a.withQuota(Effect.void, { tokens: 10 });
        const error = yield* Effect.flip(b.withQuota(Effect.void, { tokens: 10, maxWaitMs: 0 }));
        expect(error._tag).toBe('QuotaWaitTimeout');
        expect(used(yield* b.snapshot, 'requests')).toBe(1);
      }).pipe(Effect.scoped, Effect.provide(QuotaStore.memory), Effect.provide(TestClock.layer())),
    ));
});
