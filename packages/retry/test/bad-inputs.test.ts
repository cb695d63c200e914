/**
 * Every bad input to @tollgate/retry, one row each: where it enters, what it is, and the typed
 * error it gets there (or, for what a provider sends, that it is ignored). The README's
 * "Bad input" table is these rows, checked cell for cell.
 */
import {
  ConfigurationError,
  InvalidArgumentError,
  run,
  type TollgateErrorCode,
} from '@tollgate/core';
import { createFakeClock } from '@tollgate/core/testing';
import { describe } from 'vitest';
import {
  type BadInputRow,
  type ErrorClass,
  walkBadInputs,
} from '../../core/test/support/bad-inputs.js';
import { decorrelatedJitter, equalJitter, exponentialFullJitter, linear } from '../src/backoff.js';
import {
  parseGoDuration,
  parseRateLimitHeaders,
  parseRetryAfter,
  parseRetryAfterMs,
  retryAfterFromHeaders,
} from '../src/headers.js';
import {
  type Classifier,
  classify,
  classifyResponse,
  createClassifier,
  detectProvider,
  quotaFeedback,
  type RetryPolicyOptions,
  retry,
  retryBudget,
  retrying,
  retryPolicy,
} from '../src/index.js';

const CODES = new Map<ErrorClass, TollgateErrorCode>([
  [ConfigurationError, 'TOLLGATE_CONFIGURATION'],
  [InvalidArgumentError, 'TOLLGATE_INVALID_ARGUMENT'],
]);

/** A server error: retryable, with no hint, so the backoff decides the wait. */
const overloaded = { status: 503 };
/** A 429 whose wait the classifier has to say. */
const throttled = { status: 429 };
/** One retried call that fails with `failure`, under `options` (no budget, a fake clock). */
const retried = (options: RetryPolicyOptions, failure: unknown = overloaded) =>
  retrying(() => Promise.reject(failure), {
    budget: false,
    clock: createFakeClock(),
    ...options,
  });
const broken = (message: string) => () => {
  throw new Error(message);
};
const NOW = Date.UTC(2026, 0, 1);

const rows: ReadonlyArray<BadInputRow> = [
  // retryPolicy(options): also what retry(), retrying() and @tollgate/openai's `retry` get
  {
    entry: '`retryPolicy(options)`',
    input: 'options not an object',
    via: 'throws',
    error: ConfigurationError,
    message: 'retryPolicy: must be an object, got 5',
    act: () => retryPolicy(5 as never),
  },
  {
    entry: '`retryPolicy(options)`',
    input: 'an unknown option',
    via: 'throws',
    error: ConfigurationError,
    message: 'retryPolicy.maxRetries: unknown option',
    act: () => retryPolicy({ maxRetries: 3 } as never),
  },
  {
    entry: '`retryPolicy(options)`',
    input: '`maxAttempts` not an integer ≥ 1 or Infinity',
    via: 'throws',
    error: ConfigurationError,
    message: 'retryPolicy.maxAttempts: must be an integer >= 1 or Infinity, got 0',
    act: () => retryPolicy({ maxAttempts: 0 }),
  },
  {
    entry: '`retryPolicy(options)`',
    input: '`maxAttempts` and `maxElapsedMs` both Infinity',
    via: 'throws',
    error: ConfigurationError,
    message: 'retryPolicy.maxAttempts: with maxElapsedMs also Infinity, retries would never end',
    act: () => retryPolicy({ maxAttempts: Number.POSITIVE_INFINITY }),
  },
  {
    entry: '`retryPolicy(options)`',
    input: '`maxElapsedMs` ≤ 0 or NaN',
    via: 'throws',
    error: ConfigurationError,
    message: 'retryPolicy.maxElapsedMs: must be a finite number > 0 or Infinity, got NaN',
    act: () => retryPolicy({ maxElapsedMs: Number.NaN }),
  },
  {
    entry: '`retryPolicy(options)`',
    input: '`maxRetryAfterMs` < 0 or NaN',
    via: 'throws',
    error: ConfigurationError,
    message: 'retryPolicy.maxRetryAfterMs: must be a finite number >= 0 or Infinity, got -5',
    act: () => retryPolicy({ maxRetryAfterMs: -5 }),
  },
  {
    entry: '`retryPolicy(options)`',
    input: '`signal` not an AbortSignal',
    via: 'throws',
    error: ConfigurationError,
    message: 'retryPolicy.signal: must be an AbortSignal',
    act: () => retryPolicy({ signal: {} as AbortSignal }),
  },
  {
    entry: '`retryPolicy(options)`',
    input: '`backoff`, `classifier`, `onRetry` or `onGiveUp` not a function',
    via: 'throws',
    error: ConfigurationError,
    message: 'retryPolicy.backoff: must be a function, got 100',
    act: () => retryPolicy({ backoff: 100 as never }),
  },
  {
    entry: '`retryPolicy(options)`',
    input: '`classifier` with `provider` or `rules`',
    via: 'throws',
    error: ConfigurationError,
    message: 'retryPolicy.classifier: give either a classifier or provider/rules, not both',
    act: () => retryPolicy({ classifier: createClassifier(), provider: 'openai' }),
  },
  {
    entry: '`retryPolicy(options)`',
    input: 'an unknown `provider`',
    via: 'throws',
    error: ConfigurationError,
    message: "retryPolicy.provider: must be one of 'dashscope', 'openai', 'generic', got \"azure\"",
    act: () => retryPolicy({ provider: 'azure' as never }),
  },
  {
    entry: '`retryPolicy(options)`',
    input: '`rules` not an array',
    via: 'throws',
    error: ConfigurationError,
    message: 'retryPolicy.rules: must be an array, got an object',
    act: () => retryPolicy({ rules: { status: 529, kind: 'server' } as never }),
  },
  {
    entry: '`retryPolicy(options)`',
    input: 'a rule with an unknown key or kind, or a `retryable` not a boolean',
    via: 'throws',
    error: ConfigurationError,
    message: "retryPolicy.rules[0].kind: must be one of 'request-rate',",
    act: () => retryPolicy({ rules: [{ status: 529, kind: 'overloaded' as never }] }),
  },
  {
    entry: '`retryPolicy(options)`',
    input: 'a rule without a matcher',
    via: 'throws',
    error: ConfigurationError,
    message: 'retryPolicy.rules[0]: needs at least one of status, code, type, message, test',
    act: () => retryPolicy({ rules: [{ kind: 'server' }] }),
  },
  {
    entry: '`retryPolicy(options)`',
    input: 'a rule matcher that is empty, of the wrong type, or a fractional status',
    via: 'throws',
    error: ConfigurationError,
    message: 'retryPolicy.rules[0].status: must be a non-empty list of valid values, got an array',
    act: () => retryPolicy({ rules: [{ status: [], kind: 'server' }] }),
  },
  {
    entry: '`retryPolicy(options)`',
    input: 'a rule `message` that is not a RegExp',
    via: 'throws',
    error: ConfigurationError,
    message: 'retryPolicy.rules[0].message: must be a RegExp, got "overloaded"',
    act: () => retryPolicy({ rules: [{ message: 'overloaded' as never, kind: 'server' }] }),
  },
  {
    entry: '`retryPolicy(options)`',
    input: '`clock` not a Clock, or its `now()` not a finite number',
    via: 'throws',
    error: ConfigurationError,
    message: 'retryPolicy.clock: must be a Clock',
    act: () => retryPolicy({ clock: { now: () => 0 } as never }),
  },
  {
    entry: '`retryPolicy(options)`',
    input: '`budget` without every RetryBudget method (the message names those missing)',
    via: 'throws',
    error: ConfigurationError,
    message:
      'retryPolicy.budget: must be a RetryBudget (recordCall, tryAcquireRetry, available) or false, got an object without recordCall, available',
    act: () => retryPolicy({ budget: { tryAcquireRetry: () => true } as never }),
  },
  // what a policy's own functions answer, found during a call
  {
    entry: 'a call through `retrying()` or `retry()`',
    input: '`backoff` returns a delay that is not a finite number ≥ 0',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'retryPolicy.backoff(1, undefined): must be a finite number >= 0, got NaN',
    act: () => retried({ backoff: () => Number.NaN }),
  },
  {
    entry: 'a call through `retrying()` or `retry()`',
    input: '`classifier` returns no Classification (`kind`, boolean `retryable`)',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'retryPolicy.classifier(error): must be a Classification',
    act: () =>
      run(
        retry({ classifier: (() => undefined) as never })(() => Promise.reject(overloaded)),
        {},
      ),
  },
  {
    entry: 'a call through `retrying()` or `retry()`',
    input: "`classifier`'s `retryAfterMs` not a finite number ≥ 0",
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'retryPolicy.classifier(error).retryAfterMs: must be a finite number >= 0, got -1',
    act: () =>
      retried(
        {
          classifier: (): ReturnType<Classifier> => ({
            kind: 'request-rate',
            retryable: true,
            provider: 'generic',
            retryAfterMs: -1,
          }),
        },
        throttled,
      ),
  },
  {
    entry: 'a call through `retrying()` or `retry()`',
    input: 'a rule `test`, `onRetry` or `onGiveUp` throws',
    via: 'rejects',
    error: undefined,
    message: 'onRetry is broken',
    act: () => retried({ backoff: () => 0, onRetry: broken('onRetry is broken') }),
  },
  {
    entry: '`retrying(fn, policy, options)`',
    input: '`fn` not a function',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'retrying.fn: must be a function, got "fetch"',
    act: () => retrying('fetch' as never),
  },
  {
    entry: '`retrying(fn, policy, options)`',
    input: '`policy` options that `retryPolicy` refuses',
    via: 'rejects',
    error: ConfigurationError,
    message: 'retryPolicy.maxAttempts: must be an integer >= 1 or Infinity, got -1',
    act: () => retrying(async () => 'ok', { maxAttempts: -1 }),
  },
  {
    entry: '`retrying(fn, policy, options)`',
    input: 'a signal in place of `{ signal }`',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'retrying.options: must be { signal }, got an AbortSignal',
    act: () => retrying(async () => 'ok', {}, new AbortController().signal as never),
  },
  {
    entry: '`retrying(fn, policy, options)`',
    input: 'an unknown option, `signal` not an AbortSignal',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'retrying.options.signal: must be an AbortSignal',
    act: () => retrying(async () => 'ok', {}, { signal: 'stop' as never }),
  },
  {
    entry: '`retry(policy)`',
    input: 'options that `retryPolicy` refuses',
    via: 'throws',
    error: ConfigurationError,
    message: 'retryPolicy.maxElapsedMs: must be a finite number > 0 or Infinity, got 0',
    act: () => retry({ maxElapsedMs: 0 }),
  },
  // backoff factories
  {
    entry: '`exponentialFullJitter(options)`, `equalJitter(options)`',
    input: 'options not an object, or an unknown option',
    via: 'throws',
    error: ConfigurationError,
    message: 'exponentialFullJitter.base: unknown option',
    act: () => exponentialFullJitter({ base: 100 } as never),
  },
  {
    entry: '`exponentialFullJitter(options)`, `equalJitter(options)`',
    input: '`baseMs` or `capMs` ≤ 0, `factor` < 1, not finite',
    via: 'throws',
    error: ConfigurationError,
    message: 'equalJitter.factor: must be a finite number >= 1, got 0.5',
    act: () => equalJitter({ factor: 0.5 }),
  },
  {
    entry: 'any backoff factory',
    input: '`capMs` below `baseMs`',
    via: 'throws',
    error: ConfigurationError,
    message: 'decorrelatedJitter.capMs: must be at least baseMs',
    act: () => decorrelatedJitter({ baseMs: 1000, capMs: 100 }),
  },
  {
    entry: '`linear(options)`',
    input: '`baseMs`, `stepMs` or `capMs` < 0',
    via: 'throws',
    error: ConfigurationError,
    message: 'linear.stepMs: must be a finite number >= 0, got -1',
    act: () => linear({ stepMs: -1 }),
  },
  {
    entry: 'any jittered backoff factory',
    input: '`random` not a function',
    via: 'throws',
    error: ConfigurationError,
    message: 'decorrelatedJitter.random: must be a function, got 0.5',
    act: () => decorrelatedJitter({ random: 0.5 as never }),
  },
  {
    entry: 'a jittered backoff, called',
    input: '`random()` returns a draw outside [0, 1)',
    via: 'throws',
    error: InvalidArgumentError,
    message: 'exponentialFullJitter.random(): must be a finite number in [0, 1), got 1',
    act: () => exponentialFullJitter({ random: () => 1 })(1, undefined),
  },
  // budgets
  {
    entry: '`retryBudget(options)`',
    input: 'options not an object, or an unknown option',
    via: 'throws',
    error: ConfigurationError,
    message: 'retryBudget.window: unknown option',
    act: () => retryBudget({ window: 10_000 } as never),
  },
  {
    entry: '`retryBudget(options)`',
    input: '`ratio` or `minRetriesPerSecond` < 0, `windowMs` ≤ 0, not finite',
    via: 'throws',
    error: ConfigurationError,
    message: 'retryBudget.windowMs: must be a finite number > 0, got 0',
    act: () => retryBudget({ windowMs: 0 }),
  },
  {
    entry: '`retryBudget(options)`',
    input: '`clock` without `now`, or a `now()` that is not a finite number',
    via: 'throws',
    error: ConfigurationError,
    message: 'retryBudget.clock.now(): must be a finite number, got NaN',
    act: () => retryBudget({ clock: { now: () => Number.NaN } }),
  },
  // classification
  {
    entry: '`createClassifier(options)`',
    input: 'an unknown option, an unknown `provider`, a bad rule (as for `retryPolicy`)',
    via: 'throws',
    error: ConfigurationError,
    message: 'classifier.rules[0].code: must be a non-empty list of valid values, got 429',
    act: () => createClassifier({ rules: [{ code: 429 as never, kind: 'request-rate' }] }),
  },
  {
    entry: '`classifier(input, context)`',
    input: 'an unknown key, `now` not a finite number, `bodyConsumed` not a boolean',
    via: 'throws',
    error: InvalidArgumentError,
    message: 'context.now: must be a finite number, got NaN',
    act: () => createClassifier()(throttled, { now: Number.NaN }),
  },
  {
    entry: '`classify(input, options)`',
    input: 'options neither a provider nor an object',
    via: 'throws',
    error: InvalidArgumentError,
    message: 'classify: must be a provider or classify options, got true',
    act: () => classify(throttled, true as never),
  },
  {
    entry: '`classify(input, options)`',
    input: 'an unknown provider',
    via: 'throws',
    error: InvalidArgumentError,
    message: "classify.provider: must be one of 'dashscope', 'openai', 'generic', got \"qwen\"",
    act: () => classify(throttled, 'qwen' as never),
  },
  {
    entry: '`classify(input, options)`',
    input: 'an unknown option, `now` not finite, `bodyConsumed` not a boolean, a bad rule',
    via: 'throws',
    error: InvalidArgumentError,
    message: 'classify.bodyConsumed: must be a boolean, got "yes"',
    act: () => classify(throttled, { bodyConsumed: 'yes' as never }),
  },
  {
    entry: '`classifyResponse(response, options)`',
    input: 'the same as `classify`',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'classifyResponse.now: must be a finite number, got Infinity',
    act: () =>
      classifyResponse(new Response(null, { status: 429 }), { now: Number.POSITIVE_INFINITY }),
  },
  {
    entry: '`detectProvider(baseURL)`',
    input: '`baseURL` neither a string nor a URL',
    via: 'throws',
    error: InvalidArgumentError,
    message: 'baseURL: must be a string or a URL, got undefined',
    act: () => detectProvider(undefined as never),
  },
  {
    entry: '`detectProvider(baseURL)`',
    input: 'a string that is not a URL',
    via: 'ignored',
    returns: 'generic',
    act: () => detectProvider('dashscope'),
  },
  // quota feedback
  {
    entry: '`quotaFeedback(options)`',
    input: 'options not an object, or an unknown option',
    via: 'throws',
    error: ConfigurationError,
    message: 'quotaFeedback.header: unknown option',
    act: () => quotaFeedback({ header: false } as never),
  },
  {
    entry: '`quotaFeedback(options)`',
    input: '`classifier` with `provider` or `rules`; an unknown `provider`; a bad rule',
    via: 'throws',
    error: ConfigurationError,
    message: 'quotaFeedback.classifier: give either a classifier or provider/rules, not both',
    act: () => quotaFeedback({ classifier: createClassifier(), rules: [] }),
  },
  {
    entry: '`quotaFeedback(options)`',
    input: '`defaultPauseMs` < 0 or not finite, `maxPauseMs` < 0',
    via: 'throws',
    error: ConfigurationError,
    message: 'quotaFeedback.defaultPauseMs: must be a finite number >= 0, got -1',
    act: () => quotaFeedback({ defaultPauseMs: -1 }),
  },
  {
    entry: '`quotaFeedback(options)`',
    input: '`burstThrottle` neither `false` nor `{ factor, durationMs }` in range',
    via: 'throws',
    error: ConfigurationError,
    message: 'quotaFeedback.burstThrottle.factor: must be a finite number in (0, 1], got 2',
    act: () => quotaFeedback({ burstThrottle: { factor: 2 } }),
  },
  {
    entry: '`quotaFeedback(options)`',
    input: '`headers` not a boolean',
    via: 'throws',
    error: ConfigurationError,
    message: 'quotaFeedback.headers: must be a boolean, got "on"',
    act: () => quotaFeedback({ headers: 'on' as never }),
  },
  {
    entry: 'a feedback call (from `limit()`)',
    input: '`classifier` returns no Classification',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'quotaFeedback.classifier(answer): must be a Classification',
    act: () =>
      quotaFeedback({ classifier: (() => ({ kind: 'slow' })) as never })({
        ok: false,
        error: throttled,
      }),
  },
  // header parsers: what the caller passes is checked, what the provider sends is ignored
  {
    entry: '`parseRetryAfter(value, nowMs)`',
    input: '`nowMs` missing or not a finite number',
    via: 'throws',
    error: InvalidArgumentError,
    message: 'nowMs: must be a finite number, got undefined',
    act: () => parseRetryAfter('Wed, 21 Oct 2026 07:28:00 GMT', undefined as never),
  },
  {
    entry: '`retryAfterFromHeaders(headers, options)`',
    input: 'an unknown option, `window` not `requests` or `tokens`, `now` not finite',
    via: 'throws',
    error: InvalidArgumentError,
    message:
      "retryAfterFromHeaders.options.window: must be one of 'requests', 'tokens', got \"request\"",
    act: () => retryAfterFromHeaders(new Headers(), { window: 'request' as never }),
  },
  {
    entry: '`retryAfterFromHeaders(headers)`, `parseRateLimitHeaders(headers)`',
    input: '`headers` that are not an object (a raw header string)',
    via: 'throws',
    error: InvalidArgumentError,
    message:
      'parseRateLimitHeaders.headers: must be headers (a Headers, an object with get(), or a record)',
    act: () => parseRateLimitHeaders('x-ratelimit-remaining-requests: 0' as never),
  },
  {
    entry: '`parseRetryAfterMs(value)`',
    input: 'a value that is not a number of milliseconds (`"soon"`, `"-5"`)',
    via: 'ignored',
    returns: undefined,
    act: () => parseRetryAfterMs('-5'),
  },
  {
    entry: '`parseRetryAfter(value, nowMs)`',
    input: 'neither delay-seconds nor an HTTP-date (`"31 Feb"`, `"Wed, 31 Feb 2026 …"`)',
    via: 'ignored',
    returns: undefined,
    act: () => parseRetryAfter('Tue, 31 Feb 2026 07:28:00 GMT', NOW),
  },
  {
    entry: '`parseGoDuration(value)`',
    input: 'a negative, empty or malformed duration (`"-1s"`, `"1x"`)',
    via: 'ignored',
    returns: undefined,
    act: () => parseGoDuration('-1s'),
  },
  {
    entry: '`parseRateLimitHeaders(headers)`',
    input: 'a header that is not a count or a duration (it is left out)',
    via: 'ignored',
    returns: undefined,
    act: () =>
      parseRateLimitHeaders({
        'x-ratelimit-remaining-requests': '-1',
        'x-ratelimit-reset-requests': 'soon',
      }),
  },
  {
    entry: 'classification, feedback',
    input: 'malformed `retry-after*` or `x-ratelimit-*` headers (no hint is taken from them)',
    via: 'ignored',
    returns: undefined,
    act: () =>
      classify({ status: 429, headers: { 'retry-after': 'later', 'retry-after-ms': 'NaN' } })
        .retryAfterMs,
  },
];

describe('every bad input gets a typed error at its point of entry', () => {
  walkBadInputs(rows, { readme: new URL('../README.md', import.meta.url), codes: CODES });
});
