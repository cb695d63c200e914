import type { Call, CallContext, Layer } from '@tollgate/core';
import { describe, expect, it } from 'vitest';
import {
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

/** `retry → model`; the model fails with `failures` in turn. */
function setup(failures: ReadonlyArray<unknown>, options: RetryPolicyOptions = {}) {
  const clock = runnableClock();
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
    backoff: () => 100,
    budget: false,
    onRetry: (event) => retries.push(event),
    ...options,
  });
  const send = retry(policy)(model);
  return { clock, retries, contexts, send };
}

describe('retry() layer', () => {
  it('retries a request-rate 429 after the backoff, as a new call below', async () => {
    const { clock, contexts, send, retries } = setup([dashscope429('limit_requests', M.rateQuota)]);
    const start = clock.now();
    const outcome = await clock.run(send(request, { attempt: 1 }));
    expect(outcome).toEqual({ value: { content: 'answer on attempt 2' } });
    expect(contexts).toHaveLength(2);
    expect(retries).toMatchObject([
      { attempt: 1, delayMs: 100, classification: { kind: 'request-rate' } },
    ]);
    expect(clock.now() - start).toBe(100);
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
    expect(contexts.every((context) => typeof context.outputStarted === 'function')).toBe(true);
    expect(contexts.every((context) => context.signal === signal)).toBe(true);
    expect(callerContext).toEqual({ attempt: 1, signal });
  });

  it('waits for the provider hint on a token-rate 429', async () => {
    const headers = new Headers({
      'x-ratelimit-remaining-tokens': '0',
      'x-ratelimit-reset-tokens': '2.5s',
    });
    const error = APIError.fromResponse(
      429,
      { error: { code: 'rate_limit_exceeded', type: 'tokens', message: 'Rate limit exceeded.' } },
      headers,
    );
    const { clock, contexts, send } = setup([error], { provider: 'openai' });
    const start = clock.now();
    await clock.run(send(request, { attempt: 1 }));
    expect(contexts).toHaveLength(2);
    expect(clock.now() - start).toBe(2_500);
  });

  it('fails fast with a hint longer than maxRetryAfterMs', async () => {
    const error = APIError.fromResponse(
      429,
      OPENAI_BODIES.requestsPerMin,
      new Headers({ 'retry-after': '600' }),
    );
    const { clock, send, contexts } = setup([error], {
      provider: 'openai',
      maxRetryAfterMs: 20_000,
    });
    const outcome = await clock.run(send(request, { attempt: 1 }));
    const thrown = (outcome as { error: unknown }).error;
    expect(thrown).toBeInstanceOf(RetryAfterTooLongError);
    expect(thrown).toMatchObject({ retryAfterMs: 600_000, limit: 'max-retry-after' });
    expect(contexts).toHaveLength(1);
  });

  it('does not retry an exhausted free quota: the original error goes up', async () => {
    const quota = dashscope429('insufficient_quota', M.freeQuota);
    const { clock, send, contexts } = setup([quota]);
    expect(await clock.run(send(request, { attempt: 1 }))).toEqual({ error: quota });
    expect(contexts).toHaveLength(1);
  });

  it('does not retry a network error once the call handed output on', async () => {
    const clock = runnableClock();
    const broken = fetchFailed('UND_ERR_SOCKET');
    let calls = 0;
    const model: Call<ChatRequest, ChatResponse> = async (_request, context) => {
      calls++;
      if (calls === 1) throw broken; // before any output: retried
      context.outputStarted?.();
      throw broken;
    };
    const send = retry({ clock, budget: false, backoff: () => 1 })(model);
    expect(await clock.run(send(request, { attempt: 1 }))).toEqual({ error: broken });
    expect(calls).toBe(2);
  });

  it('tells the layers above when the call handed output on', async () => {
    const clock = runnableClock();
    const started: string[] = [];
    const model: Call<ChatRequest, ChatResponse> = async (_request, context) => {
      context.outputStarted?.();
      return { content: 'streamed' };
    };
    const send = retry({ clock, budget: false })(model);
    await clock.run(send(request, { attempt: 1, outputStarted: () => started.push('outer') }));
    expect(started).toEqual(['outer']);
  });

  it('rejects at once when the context signal aborts during a sleep, leaving no timer', async () => {
    const { clock, send, contexts } = setup([dashscope429('limit_requests', M.rateQuota)], {
      backoff: () => 30_000,
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
    expect(contexts).toHaveLength(1);
  });

  it("combines the policy's signal with the context's for the attempts", async () => {
    const policyController = new AbortController();
    const { clock, send, contexts } = setup([dashscope429('limit_requests', M.rateQuota)], {
      signal: policyController.signal,
      backoff: () => 10_000,
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
