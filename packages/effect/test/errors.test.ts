import {
  ConfigurationError,
  LimiterClosedError,
  RequestTooLargeError,
  StoreError,
  StoreUnavailableError,
  WaitAbortedError,
  WaitTimeoutError,
} from '@tollgate/core';
import { RetryExhaustedError } from '@tollgate/retry';
import { Duration, Effect } from 'effect';
import { describe, expect, it } from 'vitest';
import { classifyError, fromPipelineError, fromTollgateError } from '../src/index.js';

const body = (status: number, code: string, message: string, headers = {}) => ({
  status,
  headers,
  error: { code, message },
});

describe('classifyError', () => {
  it.each([
    [
      'dashscope',
      body(429, 'insufficient_quota', 'You exceeded your current quota'),
      'RateLimited',
      'token-rate',
    ],
    [
      'openai',
      body(429, 'insufficient_quota', 'You exceeded your current quota'),
      'QuotaExhausted',
      undefined,
    ],
    [
      'dashscope',
      body(429, 'limit_burst_rate', 'Request rate increased too quickly'),
      'RateLimited',
      'burst',
    ],
    ['generic', body(401, 'invalid_api_key', 'Incorrect API key'), 'AuthRejected', undefined],
    [
      'openai',
      body(400, 'context_length_exceeded', 'maximum context length is 8192'),
      'ContextTooLong',
      undefined,
    ],
    ['generic', body(422, 'invalid_value', 'temperature'), 'BadRequest', undefined],
    [
      'dashscope',
      body(503, 'ModelServingError', 'throttled due to system capacity limits'),
      'ProviderUnavailable',
      'server',
    ],
    [
      'generic',
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      'ProviderUnavailable',
      'network',
    ],
    ['generic', new TypeError('x is not a function'), 'UnknownFailure', undefined],
  ] as const)('%s: %j is %s (%s)', (provider, error, tag, kind) => {
    const failure = classifyError(error, { provider });
    expect(failure._tag).toBe(tag);
    expect('kind' in failure ? failure.kind : undefined).toBe(kind);
    expect(failure.cause).toBe(error);
  });

  it('carries the hint as a Duration and says what happened in its message', () => {
    const failure = classifyError(
      body(429, 'limit_requests', 'Requests rate limit exceeded', { 'retry-after': '3' }),
      { provider: 'dashscope' },
    );
    expect(failure._tag).toBe('RateLimited');
    if (failure._tag !== 'RateLimited') return;
    expect(Duration.toMillis(failure.retryAfter ?? Duration.zero)).toBe(3000);
    expect(failure.message).toBe('request-rate (429 limit_requests): Requests rate limit exceeded');
  });

  it('works with catchTag on the typed failure', async () => {
    const recovered = await Effect.runPromise(
      Effect.fail(classifyError(body(401, 'invalid_api_key', 'bad key'))).pipe(
        Effect.catchTag('AuthRejected', (e) => Effect.succeed(e.classification.status)),
      ),
    );
    expect(recovered).toBe(401);
  });
});

describe('fromTollgateError', () => {
  it("maps core's errors by code, keeping their fields and the original as cause", () => {
    const timeout = new WaitTimeoutError(500, 120, 1000);
    expect(fromTollgateError(timeout)).toMatchObject({
      _tag: 'QuotaWaitTimeout',
      maxWaitMs: 500,
      waitedMs: 120,
      expectedWaitMs: 1000,
      cause: timeout,
      message: 'admission needs 1000 ms, more than maxWaitMs=500',
    });
    expect(fromTollgateError(new RequestTooLargeError('tokens/1s', 1000, 1001))).toMatchObject({
      _tag: 'RequestTooLarge',
      window: 'tokens/1s',
      limit: 1000,
      requested: 1001,
    });
    expect(fromTollgateError(new WaitAbortedError(20, undefined, 'stop'))?._tag).toBe(
      'QuotaWaitAborted',
    );
    expect(fromTollgateError(new StoreUnavailableError('down', { retryInMs: 100 }))).toMatchObject({
      _tag: 'StoreUnavailable',
      retryInMs: 100,
    });
    expect(fromTollgateError(new StoreError('nonsense'))?._tag).toBe('StoreFailure');
    expect(fromTollgateError(new LimiterClosedError())?._tag).toBe('QuotaClosed');
  });

  it('leaves bugs (ConfigurationError…) and foreign errors alone', () => {
    expect(fromTollgateError(new ConfigurationError('bad', 'quota'))).toBeUndefined();
    expect(fromTollgateError(new Error('other'))).toBeUndefined();
  });
});

describe('fromPipelineError', () => {
  it("maps retry's give-up to RetryGaveUp with the last failure classified", () => {
    const last = body(429, 'limit_requests', 'Requests rate limit exceeded');
    const gaveUp = fromPipelineError(
      new RetryExhaustedError('max-attempts', {
        attempts: 5,
        elapsedMs: 9000,
        lastError: last,
        classification: undefined,
      }),
      { provider: 'dashscope' },
    );
    expect(gaveUp).toMatchObject({ _tag: 'RetryGaveUp', reason: 'max-attempts', attempts: 5 });
    if (gaveUp?._tag !== 'RetryGaveUp') return;
    expect(gaveUp.last._tag).toBe('RateLimited');
  });
});
