import {
  ConfigurationError,
  InvalidArgumentError,
  isTollgateError,
  TollgateError,
} from '@tollgate/core';
import { describe, expect, it, vi } from 'vitest';
import {
  type GiveUpEvent,
  RetryAbortedError,
  RetryAfterTooLongError,
  RetryBudgetExceededError,
  type RetryEvent,
  RetryExhaustedError,
  type RetryPolicyOptions,
  retryBudget,
  retrying,
  retryPolicy,
} from '../src/index.js';
import {
  APIError,
  dashscopeCompatibleBody,
  fetchFailed,
  jsonResponse,
  DASHSCOPE_MESSAGES as M,
  OPENAI_BODIES,
} from './helpers/providers.js';
import { type RunnableClock, runnableClock } from './helpers/runnable-clock.js';

const overloaded = () => APIError.fromResponse(503, OPENAI_BODIES.overloaded, new Headers());
const throttled = (headers: Record<string, string> = {}) =>
  APIError.fromResponse(429, OPENAI_BODIES.requestsPerMin, new Headers(headers));
const billing = () => APIError.fromResponse(429, OPENAI_BODIES.insufficientQuota, new Headers());

function setup(options: RetryPolicyOptions = {}, clock = runnableClock()) {
  const retries: RetryEvent[] = [];
  const giveUps: GiveUpEvent[] = [];
  const policy = retryPolicy({
    clock,
    provider: 'openai',
    backoff: () => 100,
    budget: false,
    onRetry: (event) => retries.push(event),
    onGiveUp: (event) => giveUps.push(event),
    ...options,
  });
  return { clock, policy, retries, giveUps };
}

/** A function failing with `failures` in turn, then answering `'ok'`; records attempt times. */
function flaky(clock: RunnableClock, failures: ReadonlyArray<unknown>) {
  const startedAt: number[] = [];
  const fn = vi.fn(async () => {
    startedAt.push(clock.now());
    const failure = failures[startedAt.length - 1];
    if (failure !== undefined) throw failure;
    return 'ok';
  });
  return { fn, startedAt };
}

describe('retrying', () => {
  it('retries retryable errors on the backoff schedule and returns the first success', async () => {
    const { clock, policy, retries } = setup();
    const { fn, startedAt } = flaky(clock, [overloaded(), fetchFailed('ECONNRESET')]);
    const start = clock.now();
    const outcome = await clock.run(retrying(fn, policy));
    expect(outcome).toEqual({ value: 'ok' });
    expect(startedAt.map((t) => t - start)).toEqual([0, 100, 200]);
    expect(
      retries.map(({ attempt, delayMs, classification }) => [
        attempt,
        delayMs,
        classification.kind,
      ]),
    ).toEqual([
      [1, 100, 'server'],
      [2, 100, 'network'],
    ]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('passes the attempt number and signal to the function', async () => {
    const { clock, policy } = setup();
    const controller = new AbortController();
    const seen: Array<[number, AbortSignal | undefined]> = [];
    const outcome = await clock.run(
      retrying(
        async ({ attempt, signal }) => {
          seen.push([attempt, signal]);
          if (attempt < 2) throw overloaded();
          return attempt;
        },
        policy,
        { signal: controller.signal },
      ),
    );
    expect(outcome).toEqual({ value: 2 });
    expect(seen).toEqual([
      [1, controller.signal],
      [2, controller.signal],
    ]);
  });

  it('rethrows a non-retryable error at once, unchanged', async () => {
    const { clock, policy, giveUps } = setup();
    const error = billing();
    const { fn } = flaky(clock, [error]);
    const outcome = await clock.run(retrying(fn, policy));
    expect(outcome).toEqual({ error });
    expect(fn).toHaveBeenCalledTimes(1);
    expect(giveUps).toMatchObject([
      {
        reason: 'not-retryable',
        attempts: 1,
        thrown: error,
        classification: { kind: 'quota-exhausted' },
      },
    ]);
  });

  it('does not retry errors it cannot classify (a bug is not transient)', async () => {
    const { clock, policy } = setup();
    const bug = new TypeError("Cannot read properties of undefined (reading 'choices')");
    const { fn } = flaky(clock, [bug]);
    expect(await clock.run(retrying(fn, policy))).toEqual({ error: bug });
    expect(fn).toHaveBeenCalledTimes(1);
  });

  describe('stop conditions', () => {
    it('gives up after maxAttempts with RetryExhaustedError carrying the last error', async () => {
      const { clock, policy, giveUps } = setup({ maxAttempts: 3 });
      const last = overloaded();
      const { fn } = flaky(clock, [overloaded(), overloaded(), last]);
      const outcome = await clock.run(retrying(fn, policy));
      const error = (outcome as { error: RetryExhaustedError }).error;
      expect(error).toBeInstanceOf(RetryExhaustedError);
      expect(error).toMatchObject({
        code: 'TOLLGATE_RETRY_EXHAUSTED',
        reason: 'max-attempts',
        attempts: 3,
        elapsedMs: 200,
        cause: last,
        lastError: last,
        classification: { kind: 'server', status: 503 },
      });
      expect(fn).toHaveBeenCalledTimes(3);
      expect(giveUps).toMatchObject([{ reason: 'max-attempts', attempts: 3, thrown: error }]);
    });

    it('gives up when the next backoff delay would end after maxElapsedMs', async () => {
      const { clock, policy } = setup({ maxElapsedMs: 250, maxAttempts: 10 });
      const { fn, startedAt } = flaky(clock, Array.from({ length: 10 }, overloaded));
      const start = clock.now();
      const outcome = await clock.run(retrying(fn, policy));
      expect((outcome as { error: unknown }).error).toMatchObject({
        reason: 'max-elapsed',
        attempts: 3,
        elapsedMs: 200,
      });
      expect(startedAt.map((t) => t - start)).toEqual([0, 100, 200]);
      expect(clock.pendingTimers()).toBe(0);
    });

    it('counts the time attempts take against maxElapsedMs', async () => {
      const { clock, policy } = setup({ maxElapsedMs: 1_000 });
      let attempts = 0;
      const slowFailure = async () => {
        attempts++;
        await new Promise((resolve) => clock.setTimeout(() => resolve(undefined), 600));
        throw overloaded();
      };
      const outcome = await clock.run(retrying(slowFailure, policy));
      expect((outcome as { error: unknown }).error).toMatchObject({
        reason: 'max-elapsed',
        attempts: 2,
        elapsedMs: 1_300,
      });
      expect(attempts).toBe(2);
    });

    it('fails fast with the hint when it exceeds the remaining time budget, without sleeping', async () => {
      const { clock, policy, giveUps } = setup({ maxElapsedMs: 5_000 });
      const start = clock.now();
      const { fn } = flaky(clock, [throttled({ 'retry-after': '30' })]);
      const outcome = await clock.run(retrying(fn, policy));
      const error = (outcome as { error: RetryAfterTooLongError }).error;
      expect(error).toBeInstanceOf(RetryAfterTooLongError);
      expect(error).toMatchObject({
        code: 'TOLLGATE_RETRY_AFTER_TOO_LONG',
        retryAfterMs: 30_000,
        allowedMs: 5_000,
        limit: 'max-elapsed',
        attempts: 1,
        classification: { kind: 'request-rate', retryAfterMs: 30_000 },
      });
      expect(clock.now()).toBe(start);
      expect(clock.pendingTimers()).toBe(0);
      expect(giveUps[0]?.reason).toBe('retry-after-too-long');
    });

    it('fails fast when the hint exceeds maxRetryAfterMs', async () => {
      const { clock, policy } = setup({ maxRetryAfterMs: 10_000 });
      const { fn } = flaky(clock, [throttled({ 'retry-after-ms': '10001' })]);
      const outcome = await clock.run(retrying(fn, policy));
      expect((outcome as { error: unknown }).error).toMatchObject({
        retryAfterMs: 10_001,
        allowedMs: 10_000,
        limit: 'max-retry-after',
      });
      expect(fn).toHaveBeenCalledTimes(1);
    });

    it('stops when the shared retry budget is spent', async () => {
      const clock = runnableClock();
      const budget = retryBudget({ ratio: 0.5, minRetriesPerSecond: 0, clock });
      const { policy } = setup({ budget }, clock);
      const first = flaky(clock, [overloaded(), overloaded()]);
      const second = flaky(clock, [overloaded()]);
      // Two calls deposit 0.5 each: one retry in the budget, for the first call.
      const results = await Promise.all([
        clock.run(retrying(first.fn, policy)),
        clock.run(retrying(second.fn, policy)),
      ]);
      const errors = results.map((result) => ('error' in result ? result.error : undefined));
      expect(errors.filter((error) => error instanceof RetryBudgetExceededError)).toHaveLength(2);
      expect(first.fn.mock.calls.length + second.fn.mock.calls.length).toBe(3);
      expect(isTollgateError(errors[0], 'TOLLGATE_RETRY_BUDGET_EXCEEDED')).toBe(true);
    });
  });

  describe('server hints', () => {
    it('sleeps exactly the retry-after-ms hint instead of the backoff', async () => {
      const { clock, policy, retries } = setup();
      const { fn, startedAt } = flaky(clock, [throttled({ 'retry-after-ms': '750' })]);
      const start = clock.now();
      expect(await clock.run(retrying(fn, policy))).toEqual({ value: 'ok' });
      expect(startedAt.map((t) => t - start)).toEqual([0, 750]);
      expect(retries[0]).toMatchObject({ delayMs: 750, classification: { retryAfterMs: 750 } });
    });

    it("waits each refusal's own retry-after, a later and longer one included (LiteLLM #20722: retries ignore later Retry-After values)", async () => {
      const { clock, policy, retries } = setup({ maxAttempts: 4 });
      const { fn, startedAt } = flaky(clock, [
        throttled({ 'retry-after': '1' }),
        throttled({ 'retry-after': '5' }),
        throttled({ 'retry-after': '2' }),
      ]);
      const start = clock.now();
      expect(await clock.run(retrying(fn, policy))).toEqual({ value: 'ok' });
      // 1 s, then the second hint's 5 s (not the first's 1 s again), then the third's 2 s
      expect(startedAt.map((t) => t - start)).toEqual([0, 1_000, 6_000, 8_000]);
      expect(retries.map(({ delayMs }) => delayMs)).toEqual([1_000, 5_000, 2_000]);
    });

    it('measures an HTTP-date retry-after from the policy clock', async () => {
      const { clock, policy } = setup({ provider: 'generic' });
      const at = new Date(clock.now() + 4_000).toUTCString();
      const { fn, startedAt } = flaky(clock, [{ status: 503, headers: { 'retry-after': at } }]);
      const start = clock.now();
      await clock.run(retrying(fn, policy));
      expect(startedAt.map((t) => t - start)).toEqual([0, 4_000]);
    });

    it('rounds a sub-millisecond hint up rather than waking early', async () => {
      const { clock, policy, retries } = setup({ provider: 'openai' });
      const { fn } = flaky(clock, [
        APIError.fromResponse(
          429,
          {
            error: {
              code: 'rate_limit_exceeded',
              type: 'tokens',
              message: 'Rate limit reached. Please try again in 1.2345ms.',
            },
          },
          new Headers(),
        ),
      ]);
      await clock.run(retrying(fn, policy));
      expect(retries[0]?.delayMs).toBe(2);
    });
  });

  describe('abort', () => {
    it('rejects at once when aborted during a sleep, leaving no timer behind', async () => {
      const { clock, policy, giveUps } = setup({ backoff: () => 60_000 });
      const controller = new AbortController();
      const { fn } = flaky(clock, [overloaded(), overloaded()]);
      let settled: unknown;
      const call = retrying(fn, policy, { signal: controller.signal }).catch((error: unknown) => {
        settled = error;
      });
      await clock.advance(10);
      expect(clock.pendingTimers()).toBe(1);
      const reason = new Error('user went away');
      const abortedAt = clock.now();
      controller.abort(reason);
      await call;
      expect(settled).toBeInstanceOf(RetryAbortedError);
      expect(settled).toMatchObject({
        code: 'TOLLGATE_RETRY_ABORTED',
        cause: reason,
        attempts: 1,
        elapsedMs: 10,
      });
      expect((settled as RetryAbortedError).lastError).toBeInstanceOf(APIError);
      expect(clock.pendingTimers()).toBe(0);
      expect(clock.now()).toBe(abortedAt);
      expect(fn).toHaveBeenCalledTimes(1);
      expect(giveUps[0]?.reason).toBe('aborted');
    });

    it('aborts through the policy signal as well', async () => {
      const controller = new AbortController();
      const { clock, policy } = setup({ signal: controller.signal, backoff: () => 1_000 });
      const { fn } = flaky(clock, [overloaded()]);
      const call = retrying(fn, policy);
      await clock.advance(1);
      controller.abort();
      await expect(call).rejects.toBeInstanceOf(RetryAbortedError);
      expect(clock.pendingTimers()).toBe(0);
    });

    it('does not start when already aborted', async () => {
      const { policy } = setup();
      const fn = vi.fn(async () => 'ok');
      const error = await retrying(fn, policy, { signal: AbortSignal.abort('stop') }).catch(
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'TOLLGATE_RETRY_ABORTED', cause: 'stop', attempts: 0 });
      expect(fn).not.toHaveBeenCalled();
    });

    it('does not retry the error an aborted attempt throws', async () => {
      const { clock, policy } = setup();
      const controller = new AbortController();
      const fn = vi.fn(
        ({ signal }: { signal: AbortSignal | undefined }) =>
          new Promise<string>((_, reject) => {
            signal?.addEventListener('abort', () =>
              reject(new DOMException('aborted', 'AbortError')),
            );
          }),
      );
      const call = clock.run(retrying(fn, policy, { signal: controller.signal }));
      controller.abort();
      const outcome = await call;
      expect((outcome as { error: unknown }).error).toMatchObject({
        code: 'TOLLGATE_RETRY_ABORTED',
        attempts: 1,
      });
      expect(fn).toHaveBeenCalledTimes(1);
    });
    it('rejects at once when aborted during an attempt that ignores its signal', async () => {
      const { clock, policy } = setup();
      const controller = new AbortController();
      const never = vi.fn(() => new Promise<string>(() => {}));
      const settled = retrying(never, policy, { signal: controller.signal }).catch(
        (e: unknown) => e,
      );
      await clock.advance(50);
      controller.abort('timeout from the caller');
      expect(await settled).toMatchObject({
        code: 'TOLLGATE_RETRY_ABORTED',
        cause: 'timeout from the caller',
        attempts: 1,
        elapsedMs: 50,
      });
      expect(never).toHaveBeenCalledTimes(1);
      expect(clock.pendingTimers()).toBe(0);
    });
  });

  it('does not retry a network error after the attempt handed output on', async () => {
    const { clock, policy, giveUps } = setup();
    const broken = fetchFailed('ECONNRESET');
    const outcome = await clock.run(
      retrying(async (attempt) => {
        attempt.outputStarted();
        throw broken;
      }, policy),
    );
    expect(outcome).toEqual({ error: broken });
    expect(giveUps[0]).toMatchObject({
      reason: 'not-retryable',
      classification: { kind: 'network', retryable: false },
    });
  });

  it('reads the body of a rejected Response to classify it', async () => {
    const { clock, policy, retries } = setup({ provider: 'dashscope' });
    const { fn } = flaky(clock, [
      jsonResponse(429, dashscopeCompatibleBody('limit_burst_rate', M.burstRate)),
    ]);
    expect(await clock.run(retrying(fn, policy))).toEqual({ value: 'ok' });
    expect(retries[0]?.classification).toMatchObject({ kind: 'burst', code: 'limit_burst_rate' });
  });

  it('feeds decorrelated jitter its own previous delay, not the hint', async () => {
    const seen: Array<number | undefined> = [];
    const { clock, policy } = setup({
      maxAttempts: 4,
      backoff: (retry, previous) => {
        seen.push(previous);
        return retry * 10;
      },
    });
    const { fn } = flaky(clock, [
      overloaded(),
      throttled({ 'retry-after-ms': '500' }),
      overloaded(),
    ]);
    await clock.run(retrying(fn, policy));
    expect(seen).toEqual([undefined, 10]);
  });

  it('lets a throwing onRetry hook end the call with its error', async () => {
    const { clock } = setup();
    const hookError = new Error('stop retrying');
    const policy = retryPolicy({
      clock,
      budget: false,
      onRetry: () => {
        throw hookError;
      },
    });
    const { fn } = flaky(clock, [overloaded()]);
    expect(await clock.run(retrying(fn, policy))).toEqual({ error: hookError });
  });

  it('accepts options instead of a policy, and rejects bad ones', async () => {
    const clock = runnableClock();
    const { fn } = flaky(clock, [overloaded()]);
    expect(await clock.run(retrying(fn, { clock, backoff: () => 5 }))).toEqual({ value: 'ok' });
    await expect(retrying(fn, { maxAttempts: 0 })).rejects.toBeInstanceOf(ConfigurationError);
    await expect(retrying('nope' as never)).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it("gives up with errors of core's family, recognised by code across bundled copies", async () => {
    const { clock, policy } = setup({ maxAttempts: 1 });
    const { fn } = flaky(clock, [overloaded()]);
    const outcome = await clock.run(retrying(fn, policy));
    const error = (outcome as { error: object }).error;
    expect(error).toBeInstanceOf(TollgateError);
    expect(isTollgateError(error, 'TOLLGATE_RETRY_EXHAUSTED')).toBe(true);
    if (isTollgateError(error, 'TOLLGATE_RETRY_EXHAUSTED')) expect(error.attempts).toBe(1);
    const copy = { [Symbol.for('@tollgate/error')]: true, code: 'TOLLGATE_RETRY_EXHAUSTED' };
    expect(isTollgateError(copy, 'TOLLGATE_RETRY_EXHAUSTED')).toBe(true);
    expect(isTollgateError(copy, 'TOLLGATE_WAIT_TIMEOUT')).toBe(false);
    expect(isTollgateError(new Error('plain'))).toBe(false);
  });
});
