import type { Call, CallContext, Layer } from '@tollgate/core';
import { describe, expect, it, vi } from 'vitest';
import {
  constant,
  RetryAbortedError,
  RetryAfterTooLongError,
  type RetryEvent,
  type RetryPolicyOptions,
  retry,
  retryPolicy,
} from '../src/index.js';
import {
  APIError,
  dashscopeCompatibleBody,
  fetchFailed,
  DASHSCOPE_MESSAGES as M,
  OPENAI_BODIES,
} from './helpers/providers.js';
import { admitting, RecordingLimiter } from './helpers/recording-limiter.js';
import { runnableClock } from './helpers/runnable-clock.js';

interface ChatRequest {
  readonly model: string;
}
interface ChatResponse {
  readonly content: string;
}

const request: ChatRequest = { model: 'qwen3-max' };
const dashscope429 = (code: string, message: string) =>
  APIError.fromResponse(429, dashscopeCompatibleBody(code, message), new Headers());

/**
 * `retry → admitting(limiter) → model`, composed by hand as core's pipeline does
 * (`pipeline(a, b)(call)` is `a(b(call))`). The model fails with `failures` in turn.
 */
function setup(failures: ReadonlyArray<unknown>, options: RetryPolicyOptions = {}) {
  const clock = runnableClock();
  const limiter = new RecordingLimiter();
  const retries: RetryEvent[] = [];
  const contexts: CallContext[] = [];
  const model: Call<ChatRequest, ChatResponse> = async (_request, context) => {
    contexts.push(context);
    const failure = failures[contexts.length - 1];
    if (failure !== undefined) throw failure;
    return { content: `answer on attempt ${context.attempt}` };
  };
  const policy = retryPolicy({
    clock,
    provider: 'dashscope',
    backoff: constant(100),
    budget: false,
    onRetry: (event) => retries.push(event),
    ...options,
  });
  const send = retry(policy)(admitting(limiter)(model));
  return { clock, limiter, retries, contexts, send };
}

describe('retry() layer', () => {
  it('pauses the limiter the attempt recorded on a request-rate 429, then retries through it', async () => {
    const { clock, limiter, contexts, send, retries } = setup([
      dashscope429('limit_requests', M.rateQuota),
    ]);
    const outcome = await clock.run(send(request, { attempt: 1 }));
    expect(outcome).toEqual({ value: { content: 'answer on attempt 2' } });
    expect(limiter.calls).toEqual([{ method: 'pause', durationMs: 1_000 }]);
    expect(limiter.admissions).toBe(2);
    // The limiter the inner layer recorded on the failed attempt's own context.
    expect(contexts[0]?.limiter).toBe(limiter);
    expect(retries[0]?.feedback).toEqual({ action: 'pause', durationMs: 1_000 });
  });

  it('gives each attempt a new context with its number, the caller context untouched', async () => {
    const { clock, contexts, send } = setup([
      dashscope429('limit_requests', M.rateQuota),
      fetchFailed('ECONNRESET'),
    ]);
    const signal = new AbortController().signal;
    const callerContext: CallContext = { attempt: 1, signal };
    await clock.run(send(request, callerContext));
    expect(contexts.map((context) => context.attempt)).toEqual([1, 2, 3]);
    expect(new Set(contexts).size).toBe(3);
    expect(contexts.every((context) => context.signal === signal)).toBe(true);
    expect(callerContext).toEqual({ attempt: 1, signal });
  });

  it('pauses for the provider hint on a token-rate 429', async () => {
    const headers = new Headers({
      'x-ratelimit-remaining-tokens': '0',
      'x-ratelimit-reset-tokens': '2.5s',
    });
    const error = APIError.fromResponse(
      429,
      { error: { code: 'rate_limit_exceeded', type: 'tokens', message: 'Rate limit exceeded.' } },
      headers,
    );
    const { clock, limiter, contexts, send } = setup([error], { provider: 'openai' });
    const start = clock.now();
    await clock.run(send(request, { attempt: 1 }));
    expect(limiter.calls).toEqual([{ method: 'pause', durationMs: 2_500 }]);
    expect(contexts).toHaveLength(2);
    expect(clock.now() - start).toBe(2_500);
  });

  it('throttles the limiter on a burst refusal, then retries on the backoff', async () => {
    const { clock, limiter, send } = setup([dashscope429('limit_burst_rate', M.burstRate)]);
    const start = clock.now();
    await clock.run(send(request, { attempt: 1 }));
    expect(limiter.calls).toEqual([{ method: 'throttle', factor: 0.5, durationMs: 60_000 }]);
    expect(clock.now() - start).toBe(100);
  });

  it('uses the configured throttle and default pause', async () => {
    const { clock, limiter, send } = setup(
      [
        dashscope429('Throttling.BurstRate', M.burstRate),
        dashscope429('Throttling.AllocationQuota', M.allocationQuota),
      ],
      { burstThrottle: { factor: 0.25, durationMs: 5_000 }, defaultPauseMs: 3_000 },
    );
    await clock.run(send(request, { attempt: 1 }));
    expect(limiter.calls).toEqual([
      { method: 'throttle', factor: 0.25, durationMs: 5_000 },
      { method: 'pause', durationMs: 3_000 },
    ]);
  });

  it('tells the limiter of the failed attempt, not of an earlier one', async () => {
    const clock = runnableClock();
    const limiters = [new RecordingLimiter('first'), new RecordingLimiter('second')];
    let attempt = 0;
    // An inner layer that admits each attempt through a different limiter (as a rotation would).
    const alternating: Layer<ChatRequest, ChatResponse> = (next) => (req, context) => {
      const limiter = limiters[attempt++ % 2] as RecordingLimiter;
      return admitting(limiter)(next)(req, context);
    };
    const model = vi
      .fn<Call<ChatRequest, ChatResponse>>()
      .mockRejectedValueOnce(dashscope429('limit_requests', M.rateQuota))
      .mockRejectedValueOnce(dashscope429('limit_burst_rate', M.burstRate))
      .mockResolvedValue({ content: 'ok' });
    const send = retry({ clock, provider: 'dashscope', backoff: constant(1), budget: false })(
      alternating(model),
    );
    await clock.run(send(request, { attempt: 1 }));
    expect(limiters[0]?.calls).toEqual([{ method: 'pause', durationMs: 1_000 }]);
    expect(limiters[1]?.calls).toEqual([{ method: 'throttle', factor: 0.5, durationMs: 60_000 }]);
  });

  it('still pauses the quota when it gives up, so other callers hold back', async () => {
    const error = dashscope429('limit_requests', M.rateQuota);
    const { clock, limiter, send } = setup([error, error], { maxAttempts: 2 });
    const outcome = await clock.run(send(request, { attempt: 1 }));
    expect((outcome as { error: unknown }).error).toMatchObject({
      code: 'TOLLGATE_RETRY_EXHAUSTED',
      attempts: 2,
    });
    expect(limiter.calls).toHaveLength(2);
  });

  it('pauses no longer than maxRetryAfterMs, and fails fast with the longer hint', async () => {
    const error = APIError.fromResponse(
      429,
      OPENAI_BODIES.requestsPerMin,
      new Headers({ 'retry-after': '600' }),
    );
    const { clock, limiter, send } = setup([error], {
      provider: 'openai',
      maxRetryAfterMs: 20_000,
    });
    const outcome = await clock.run(send(request, { attempt: 1 }));
    const thrown = (outcome as { error: unknown }).error;
    expect(thrown).toBeInstanceOf(RetryAfterTooLongError);
    expect(thrown).toMatchObject({ retryAfterMs: 600_000, limit: 'max-retry-after' });
    expect(limiter.calls).toEqual([{ method: 'pause', durationMs: 20_000 }]);
  });

  it('does not touch the limiter for errors that are not rate limits', async () => {
    const quota = dashscope429('insufficient_quota', M.freeQuota);
    const { clock, limiter, send, contexts } = setup([quota]);
    expect(await clock.run(send(request, { attempt: 1 }))).toEqual({ error: quota });
    expect(limiter.calls).toEqual([]);
    expect(contexts).toHaveLength(1);
  });

  it('retries without feedback when no limiter is on the context', async () => {
    const clock = runnableClock();
    const model = vi
      .fn<Call<ChatRequest, ChatResponse>>()
      .mockRejectedValueOnce(dashscope429('limit_requests', M.rateQuota))
      .mockResolvedValue({ content: 'ok' });
    const retries: RetryEvent[] = [];
    const send = retry({
      clock,
      provider: 'dashscope',
      budget: false,
      backoff: constant(1),
      onRetry: (e) => retries.push(e),
    })(model);
    expect(await clock.run(send(request, { attempt: 1 }))).toEqual({ value: { content: 'ok' } });
    expect(retries[0]?.feedback).toBeUndefined();
  });

  it('does not pause when pauseOnRateLimit is off, nor throttle when burstThrottle is false', async () => {
    const { clock, limiter, send } = setup(
      [dashscope429('limit_requests', M.rateQuota), dashscope429('limit_burst_rate', M.burstRate)],
      { pauseOnRateLimit: false, burstThrottle: false },
    );
    await clock.run(send(request, { attempt: 1 }));
    expect(limiter.calls).toEqual([]);
    expect(limiter.admissions).toBe(3);
  });

  it('retries even when the limiter cannot be paused, and reports the failure', async () => {
    const { clock, limiter, send, retries } = setup([dashscope429('limit_requests', M.rateQuota)]);
    const storeDown = new Error('store unreachable');
    limiter.failure = storeDown;
    expect(await clock.run(send(request, { attempt: 1 }))).toEqual({
      value: { content: 'answer on attempt 2' },
    });
    expect(retries[0]?.feedback).toEqual({ action: 'pause', durationMs: 1_000, error: storeDown });
  });

  it('does not retry a network error after the call consumed a streamed body', async () => {
    const clock = runnableClock();
    const broken = fetchFailed('UND_ERR_SOCKET');
    const model: Call<ChatRequest, ChatResponse> = async (_request, context) => {
      context.bodyConsumed = true;
      throw broken;
    };
    const send = retry({ clock, budget: false })(model);
    expect(await clock.run(send(request, { attempt: 1 }))).toEqual({ error: broken });
  });

  it('rejects at once when the context signal aborts during a sleep, leaving no timer', async () => {
    const { clock, send, limiter } = setup([dashscope429('limit_requests', M.rateQuota)], {
      backoff: constant(30_000),
      defaultPauseMs: 0,
    });
    const controller = new AbortController();
    const call = send(request, { attempt: 1, signal: controller.signal });
    const settled = call.catch((error: unknown) => error);
    await clock.advance(5);
    expect(clock.pendingTimers()).toBe(1);
    controller.abort(new Error('shutdown'));
    const error = await settled;
    expect(error).toBeInstanceOf(RetryAbortedError);
    expect(error).toMatchObject({ attempts: 1, cause: new Error('shutdown') });
    expect(clock.pendingTimers()).toBe(0);
    expect(limiter.admissions).toBe(1);
  });

  it("combines the policy's signal with the context's for the attempts", async () => {
    const policyController = new AbortController();
    const { clock, send, contexts } = setup([dashscope429('limit_requests', M.rateQuota)], {
      signal: policyController.signal,
      backoff: constant(10_000),
    });
    const callerController = new AbortController();
    const call = send(request, { attempt: 1, signal: callerController.signal }).catch(
      (e: unknown) => e,
    );
    await clock.advance(1);
    const attemptSignal = contexts[0]?.signal;
    expect(attemptSignal).toBeDefined();
    expect(attemptSignal?.aborted).toBe(false);
    policyController.abort('closing');
    expect(attemptSignal?.aborted).toBe(true);
    expect(await call).toMatchObject({ code: 'TOLLGATE_RETRY_ABORTED', cause: 'closing' });
    expect(clock.pendingTimers()).toBe(0);
  });

  it('is a layer for any request and response type', () => {
    const layer: Layer<ChatRequest, ChatResponse> = retry({ maxAttempts: 2 });
    const other: Layer<string, number> = retry({ maxAttempts: 2 });
    expect(typeof layer).toBe('function');
    expect(typeof other).toBe('function');
  });
});
