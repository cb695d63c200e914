/**
 * `retry()` around core's real `limit()` with `quotaFeedback()`: what a refused attempt says
 * about the quota must land in the shared quota before the retry is admitted, as core itself
 * reports it. One fake clock drives the limiter, its store and the retry policy.
 */
import {
  type Call,
  Limiter,
  type LimiterSnapshot,
  limit,
  MemoryStore,
  type Permit,
  pipeline,
  run,
} from '@tollgate/core';
import { createFakeClock, type FakeClock } from '@tollgate/core/testing';
import { describe, expect, it } from 'vitest';
import {
  type QuotaFeedbackOptions,
  quotaFeedback,
  type RetryEvent,
  retry,
  retryPolicy,
} from '../src/index.js';
import { APIError, dashscopeCompatibleBody, DASHSCOPE_MESSAGES as M } from './helpers/providers.js';

interface Req {
  readonly model: string;
}
interface Res {
  readonly content: string;
  readonly usage: {
    readonly prompt_tokens: number;
    readonly completion_tokens: number;
    readonly total_tokens: number;
  };
}

/** 600 RPM paces admissions 100 ms apart; the windows themselves never fill here. */
const QUOTA = { rpm: 600, tpm: 100_000 };
const KEY = 'dashscope:acct-1:qwen3-max';
const ESTIMATE = 100;
const request: Req = { model: 'qwen3-max' };

const dashscope429 = (code: string, message: string) =>
  APIError.fromResponse(429, dashscopeCompatibleBody(code, message), new Headers());

const limiterOn = (clock: FakeClock, store: MemoryStore) =>
  new Limiter({ quota: QUOTA, clock, store, key: KEY, margin: { ms: 0 } });

const window = (snapshot: LimiterSnapshot, unit: 'requests' | 'tokens') =>
  snapshot.windows.find((w) => w.unit === unit);

/**
 * `retry(policy) → limit(limiter, { feedback }) → model` on one clock and one store; the model
 * fails with `failures` in turn, then answers with a usage far below the reservation.
 */
function setup(failures: ReadonlyArray<unknown>, feedback: QuotaFeedbackOptions = {}) {
  const clock = createFakeClock();
  const store = new MemoryStore({ clock });
  const limiter = limiterOn(clock, store);
  const admittedAt: number[] = [];
  limiter.on('admitted', () => admittedAt.push(clock.now()));
  const permits: Permit[] = [];
  const retries: RetryEvent[] = [];
  const model: Call<Req, Res> = async (_request, context) => {
    if (context.permit !== undefined) permits.push(context.permit);
    const failure = failures[context.attempt - 1];
    if (failure !== undefined) throw failure;
    return {
      content: `answer on attempt ${context.attempt}`,
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    };
  };
  const policy = retryPolicy({
    clock,
    provider: 'dashscope',
    budget: false,
    backoff: () => 0,
    onRetry: (event) => retries.push(event),
  });
  const send = pipeline<Req, Res>(
    retry(policy),
    limit<Req, Res>(limiter, {
      estimate: () => ESTIMATE,
      feedback: quotaFeedback({ provider: 'dashscope', ...feedback }),
    }),
  )(model);
  /** Starts a call; its outcome is recorded as it settles, with the time it settled at. */
  const start = () => {
    const call: { value?: Res; error?: unknown; settledAt?: number } = {};
    const promise = run(send, request).then(
      (value) => {
        call.value = value;
        call.settledAt = clock.now();
      },
      (error: unknown) => {
        call.error = error;
        call.settledAt = clock.now();
      },
    );
    return { call, promise };
  };
  return { clock, store, limiter, admittedAt, permits, retries, start };
}

describe('retry() with core Limiter and limit()', () => {
  it('pauses the shared quota on a limit_requests 429 and retries once the pause ends', async () => {
    const { clock, store, limiter, admittedAt, retries, start } = setup(
      [dashscope429('limit_requests', M.rateQuota)],
      { defaultPauseMs: 1_500 },
    );
    const { call, promise } = start();
    await clock.flush();

    // Attempt 1 was refused at t=0: the quota is paused for the default pause (DashScope
    // sends no hint), and attempt 2 waits in the limiter's queue.
    expect(retries).toMatchObject([
      {
        attempt: 1,
        delayMs: 0,
        classification: { kind: 'request-rate', code: 'limit_requests' },
      },
    ]);
    const paused = await limiter.snapshot();
    expect(paused.pausedForMs).toBe(1_500);
    expect(paused.queued).toBe(1);
    expect(admittedAt).toEqual([0]);

    // Another limiter on the same store and key is held by the same pause.
    const other = limiterOn(clock, store);
    expect((await other.snapshot()).pausedForMs).toBe(1_500);
    let otherPermit: Permit | undefined;
    const otherAcquire = other.acquire({ tokens: ESTIMATE }).then((permit) => {
      otherPermit = permit;
    });

    await clock.advance(1_499);
    expect(call.settledAt).toBeUndefined();
    expect(otherPermit).toBeUndefined();
    expect(admittedAt).toEqual([0]);
    expect((await limiter.snapshot()).pausedForMs).toBe(1);

    // The pause ends: the retry (queued first) is admitted at once and succeeds on attempt 2.
    await clock.advance(1);
    expect(call).toEqual({
      value: expect.objectContaining({ content: 'answer on attempt 2' }),
      settledAt: 1_500,
    });
    expect(admittedAt).toEqual([0, 1_500]);
    expect(otherPermit).toBeUndefined();

    // The other limiter's waiter then comes 100 ms behind it, on the 600 RPM pace.
    await clock.advance(99);
    expect(otherPermit).toBeUndefined();
    await clock.advance(1);
    await otherAcquire;
    expect(otherPermit?.admittedAt).toBe(1_600);
    otherPermit?.settle();

    await promise;
    expect(admittedAt).toHaveLength(2);
    expect((await limiter.snapshot()).pausedForMs).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('lowers the shared pace to the configured factor on a limit_burst_rate 429', async () => {
    const { clock, store, limiter, admittedAt, retries, start } = setup(
      [dashscope429('limit_burst_rate', M.burstRate)],
      { burstThrottle: { factor: 0.25, durationMs: 10_000 } },
    );
    const { call, promise } = start();
    await clock.flush();

    expect(retries[0]).toMatchObject({ classification: { kind: 'burst' } });
    const throttled = await limiter.snapshot();
    expect(throttled.throttle).toEqual({ factor: 0.25, remainingMs: 10_000 });
    expect(throttled.pausedForMs).toBe(0);
    expect(window(throttled, 'requests')?.limit).toBe(150);
    expect(window(throttled, 'tokens')?.limit).toBe(25_000);
    // Every limiter of the quota sees the throttle.
    expect((await limiterOn(clock, store).snapshot()).throttle?.factor).toBe(0.25);

    // The retry waits only for the pace booked by attempt 1 (600 RPM: 100 ms).
    await clock.advance(99);
    expect(call.settledAt).toBeUndefined();
    await clock.advance(1);
    await promise;
    expect(call).toMatchObject({ value: { content: 'answer on attempt 2' }, settledAt: 100 });
    expect(admittedAt).toEqual([0, 100]);
    expect((await limiter.snapshot()).throttle).toEqual({ factor: 0.25, remainingMs: 9_900 });

    await clock.advance(9_900);
    expect((await limiter.snapshot()).throttle).toBeUndefined();
    expect(clock.pendingTimers()).toBe(0);
  });

  it('rethrows "Free allocated quota exceeded." after one admission, without pausing', async () => {
    const freeTier = dashscope429('insufficient_quota', M.freeQuota);
    const { clock, limiter, admittedAt, retries, start } = setup([freeTier]);
    const { call, promise } = start();
    await promise;

    expect(call).toEqual({ error: freeTier, settledAt: 0 });
    expect(retries).toEqual([]);
    expect(admittedAt).toEqual([0]);
    const snapshot = await limiter.snapshot();
    expect(snapshot.pausedForMs).toBe(0);
    expect(snapshot.throttle).toBeUndefined();
    expect(snapshot.queued).toBe(0);
    expect(snapshot.inFlight).toBe(0);
    await clock.advance(0); // the limiter's lease check, set for the turn after the admission
    expect(clock.pendingTimers()).toBe(0);
  });

  it("keeps the failed attempt's reservation booked (reserved accounting)", async () => {
    const { clock, limiter, admittedAt, permits, start } = setup([
      dashscope429('limit_requests', M.rateQuota),
    ]);
    const { call, promise } = start();
    await clock.advance(1_000);
    await promise;

    expect(call).toMatchObject({ value: { content: 'answer on attempt 2' }, settledAt: 1_000 });
    expect(admittedAt).toEqual([0, 1_000]);
    // The refused attempt may have been counted by the provider: settled, not cancelled.
    expect(permits.map((permit) => [permit.state, permit.tokens])).toEqual([
      ['settled', ESTIMATE],
      ['settled', ESTIMATE],
    ]);
    const snapshot = await limiter.snapshot();
    expect(snapshot.inFlight).toBe(0);
    expect(window(snapshot, 'requests')?.used).toBe(2);
    // Both reservations, not the 15 tokens the successful answer reported.
    expect(window(snapshot, 'tokens')?.used).toBe(2 * ESTIMATE);
    expect(window(snapshot, 'tokens')?.remaining).toBe(100_000 - 2 * ESTIMATE);

    // The refusal widened the margin (the windows had room): the retry was booked that much
    // later. Each leaves the one-minute window a minute after its booking.
    const widenedAtRetry = 20 * (1 - 1_000 / 60_000); // one default step, decaying over 60 s
    expect(snapshot.widenedMs).toBeCloseTo(widenedAtRetry, 9);
    await clock.advance(59_000);
    expect(window(await limiter.snapshot(), 'tokens')?.used).toBe(ESTIMATE);
    await clock.advance(1_000 + widenedAtRetry - 0.001);
    expect(window(await limiter.snapshot(), 'tokens')?.used).toBe(ESTIMATE);
    await clock.advance(0.001);
    expect(window(await limiter.snapshot(), 'tokens')?.used).toBe(0);
  });
});
