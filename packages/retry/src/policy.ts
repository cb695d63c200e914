import { type Clock, ConfigurationError, systemClock } from '@tollgate/core';
import {
  checkClock,
  checkFunction,
  checkNumber,
  checkOptions,
  checkSignal,
} from '@tollgate/core/validate';
import { type Backoff, exponentialFullJitter } from './backoff.js';
import { type RetryBudget, retryBudget } from './budget.js';
import type { Classification, ClassificationRule, Classifier, Provider } from './classification.js';
import { classifierOption } from './classify.js';
import { checkBudget } from './internal/check.js';

/** Passed to `onRetry` before each sleep. */
export interface RetryEvent {
  /** The attempt that just failed (1 for the first). */
  readonly attempt: number;
  /** How long until the next attempt starts. */
  readonly delayMs: number;
  readonly classification: Classification;
  readonly error: unknown;
  /** Time since the first attempt started. */
  readonly elapsedMs: number;
}

/** Why retrying stopped without a result. */
export type GiveUpReason =
  | 'not-retryable'
  | 'max-attempts'
  | 'max-elapsed'
  | 'retry-after-too-long'
  | 'budget'
  | 'aborted';

/** Passed to `onGiveUp` just before the call rejects. */
export interface GiveUpEvent {
  readonly reason: GiveUpReason;
  /** Attempts made. */
  readonly attempts: number;
  /** The last error's classification; undefined when aborted before any verdict. */
  readonly classification: Classification | undefined;
  /** The last attempt's error (undefined if aborted before the first attempt). */
  readonly error: unknown;
  /** What the call rejects with: the original error when `not-retryable`, else a give-up error. */
  readonly thrown: unknown;
  readonly elapsedMs: number;
}

export interface RetryPolicyOptions {
  /**
   * Attempts in all, the first included (`Infinity` for no count limit when `maxElapsedMs` is
   * finite). Raise it when a limiter paces retries, so a retry costs little; lower it for
   * interactive calls. @default 5
   */
  readonly maxAttempts?: number;
  /**
   * A time budget from the first attempt's start: no retry is scheduled to start after it.
   * It bounds when attempts start, not how long one runs; abort slow attempts with a signal.
   * Set it when the caller has a deadline. @default Infinity
   */
  readonly maxElapsedMs?: number;
  /** Aborts every call made with this policy (shutdown). Per-call signals are separate. */
  readonly signal?: AbortSignal;
  /** The schedule when the server gives no hint. @default exponentialFullJitter() */
  readonly backoff?: Backoff;
  /**
   * The longest server hint (`retry-after`, `x-ratelimit-reset-*`, "try again in…") worth
   * waiting for. A longer hint fails at once with `RetryAfterTooLongError`, which carries
   * the hint, so a fallback can switch models instead. openai-node uses 60 s as well.
   * @default 60_000
   */
  readonly maxRetryAfterMs?: number;
  /** The provider table to classify with. @default 'generic' */
  readonly provider?: Provider;
  /** Your classification rules, tried before the provider's table. */
  readonly rules?: ReadonlyArray<ClassificationRule>;
  /** A classifier of your own; replaces `provider` and `rules`. */
  readonly classifier?: Classifier;
  /**
   * A retry budget to share between policies (one per process or per account), or `false`
   * for none. @default a budget of its own: retryBudget() (20% of calls + 10/s)
   */
  readonly budget?: RetryBudget | false;
  /** @default the system clock */
  readonly clock?: Clock;
  /** Called before each sleep. A hook that throws ends the call with its error. */
  readonly onRetry?: (event: RetryEvent) => void;
  /** Called once when the call gives up. A hook that throws ends the call with its error. */
  readonly onGiveUp?: (event: GiveUpEvent) => void;
}

const POLICY_BRAND = Symbol.for('@tollgate/retry-policy');

/** A validated, immutable policy. Build one with {@link retryPolicy}; share it between calls. */
export interface RetryPolicy {
  readonly [POLICY_BRAND]: true;
  readonly maxAttempts: number;
  readonly maxElapsedMs: number;
  readonly signal: AbortSignal | undefined;
  readonly backoff: Backoff;
  readonly maxRetryAfterMs: number;
  readonly classifier: Classifier;
  readonly budget: RetryBudget | undefined;
  readonly clock: Clock;
  readonly onRetry: ((event: RetryEvent) => void) | undefined;
  readonly onGiveUp: ((event: GiveUpEvent) => void) | undefined;
}

const OPTION_KEYS = [
  'maxAttempts',
  'maxElapsedMs',
  'signal',
  'backoff',
  'maxRetryAfterMs',
  'provider',
  'rules',
  'classifier',
  'budget',
  'clock',
  'onRetry',
  'onGiveUp',
];

/**
 * Validates retry options once and returns an immutable {@link RetryPolicy}. Unknown or invalid
 * options throw core's `ConfigurationError` naming the option. A policy passed in is returned
 * as it is.
 *
 * @example
 * const policy = retryPolicy({
 *   provider: 'dashscope',
 *   maxElapsedMs: 120_000,
 *   onRetry: ({ attempt, delayMs, classification }) =>
 *     console.warn(`attempt ${attempt}: ${classification.kind}, retrying in ${delayMs} ms`),
 * });
 */
export function retryPolicy(options: RetryPolicyOptions | RetryPolicy = {}): RetryPolicy {
  if (isRetryPolicy(options)) return options;
  checkOptions(options, 'retryPolicy', OPTION_KEYS);
  const option = (name: string) => `retryPolicy.${name}`;

  const maxAttempts = checkNumber(options.maxAttempts ?? 5, option('maxAttempts'), {
    min: 1,
    integer: true,
    infinity: true,
  });
  const maxElapsedMs = checkNumber(
    options.maxElapsedMs ?? Number.POSITIVE_INFINITY,
    option('maxElapsedMs'),
    { above: 0, infinity: true },
  );
  if (maxAttempts === Number.POSITIVE_INFINITY && maxElapsedMs === Number.POSITIVE_INFINITY) {
    throw new ConfigurationError(
      'with maxElapsedMs also Infinity, retries would never end; set one of them',
      option('maxAttempts'),
    );
  }
  if (options.signal !== undefined) checkSignal(options.signal, option('signal'));
  const backoff =
    options.backoff === undefined
      ? exponentialFullJitter()
      : checkFunction(options.backoff, option('backoff'));
  const maxRetryAfterMs = checkNumber(
    options.maxRetryAfterMs ?? 60_000,
    option('maxRetryAfterMs'),
    {
      min: 0,
      infinity: true,
    },
  );

  const classifier = classifierOption(options, 'retryPolicy');

  const clock = checkClock(options.clock ?? systemClock, option('clock'));
  let budget: RetryBudget | undefined;
  if (options.budget === undefined) budget = retryBudget({ clock });
  else if (options.budget !== false) budget = checkBudget(options.budget, option('budget'));

  const onRetry =
    options.onRetry === undefined ? undefined : checkFunction(options.onRetry, option('onRetry'));
  const onGiveUp =
    options.onGiveUp === undefined
      ? undefined
      : checkFunction(options.onGiveUp, option('onGiveUp'));

  return Object.freeze({
    [POLICY_BRAND]: true as const,
    maxAttempts,
    maxElapsedMs,
    signal: options.signal,
    backoff,
    maxRetryAfterMs,
    classifier,
    budget,
    clock,
    onRetry,
    onGiveUp,
  });
}

/** True for a policy built by {@link retryPolicy} (by any copy of this package). */
export function isRetryPolicy(value: unknown): value is RetryPolicy {
  return typeof value === 'object' && value !== null && POLICY_BRAND in value;
}
