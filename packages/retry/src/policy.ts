import { type Clock, systemClock } from '@tollgate/core';
import { type Backoff, exponentialFullJitter } from './backoff.js';
import { type RetryBudget, retryBudget } from './budget.js';
import {
  type Classification,
  type ClassificationRule,
  type Classifier,
  createClassifier,
  type Provider,
} from './classify.js';
import { RetryConfigurationError } from './errors.js';
import { isAbortSignal } from './internal/signals.js';
import {
  assertFunction,
  assertKnownKeys,
  assertNumber,
  assertPositiveOrInfinity,
} from './internal/validate.js';

/** What the `retry()` layer told the limiter of the failed attempt. */
export type LimiterFeedback =
  | {
      readonly action: 'pause';
      readonly durationMs: number;
      /** Set if the limiter's `pause` rejected; the retry went ahead regardless. */
      readonly error?: unknown;
    }
  | {
      readonly action: 'throttle';
      readonly factor: number;
      readonly durationMs: number;
      readonly error?: unknown;
    };

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
  /** What the layer told the limiter, if anything. */
  readonly feedback?: LimiterFeedback;
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
  /** What the call rejects with: the original error when `not-retryable`, else a RetryError. */
  readonly thrown: unknown;
  readonly elapsedMs: number;
  readonly feedback?: LimiterFeedback;
}

/** Lowering the pace after a burst refusal: `factor × limit` for `durationMs`. */
export interface BurstThrottle {
  /** 0 < factor ≤ 1. @default 0.5 */
  readonly factor?: number;
  /** @default 60_000 (DashScope: throttling usually lifts within a minute) */
  readonly durationMs?: number;
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
  /**
   * `retry()` layer: on request-rate and token-rate, pause the limiter that admitted the
   * attempt, for every caller of the quota. Turn off if the limiter learns from headers by
   * itself. @default true
   */
  readonly pauseOnRateLimit?: boolean;
  /**
   * How long to pause the limiter after a rate refusal without any hint (DashScope sends
   * none). A second refusal pauses again, and the backoff grows. @default 1_000
   */
  readonly defaultPauseMs?: number;
  /**
   * `retry()` layer: on a burst refusal, lower the limiter's pace for a while, or `false`.
   * @default { factor: 0.5, durationMs: 60_000 }
   */
  readonly burstThrottle?: BurstThrottle | false;
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
  readonly pauseOnRateLimit: boolean;
  readonly defaultPauseMs: number;
  readonly burstThrottle: Required<BurstThrottle> | undefined;
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
  'pauseOnRateLimit',
  'defaultPauseMs',
  'burstThrottle',
  'onRetry',
  'onGiveUp',
] as const;

/**
 * Validates retry options once and returns an immutable {@link RetryPolicy}. Unknown or invalid
 * options throw {@link RetryConfigurationError} naming the option. A policy passed in is
 * returned as it is.
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
  assertKnownKeys(options, OPTION_KEYS, 'retryPolicy');
  const option = (name: string) => `retryPolicy.${name}`;

  const maxAttempts = assertPositiveOrInfinity(options.maxAttempts ?? 5, option('maxAttempts'));
  if (maxAttempts !== Number.POSITIVE_INFINITY && !Number.isInteger(maxAttempts)) {
    throw new RetryConfigurationError('must be an integer', option('maxAttempts'));
  }
  const maxElapsedMs = assertPositiveOrInfinity(
    options.maxElapsedMs ?? Number.POSITIVE_INFINITY,
    option('maxElapsedMs'),
  );
  if (maxAttempts === Number.POSITIVE_INFINITY && maxElapsedMs === Number.POSITIVE_INFINITY) {
    throw new RetryConfigurationError(
      'with maxElapsedMs also Infinity, retries would never end; set one of them',
      option('maxAttempts'),
    );
  }
  if (options.signal !== undefined && !isAbortSignal(options.signal)) {
    throw new RetryConfigurationError('must be an AbortSignal', option('signal'));
  }
  const backoff =
    options.backoff === undefined
      ? exponentialFullJitter()
      : assertFunction(options.backoff, option('backoff'));
  const maxRetryAfterMs = nonNegativeOrInfinity(
    options.maxRetryAfterMs ?? 60_000,
    option('maxRetryAfterMs'),
  );

  if (
    options.classifier !== undefined &&
    (options.provider !== undefined || options.rules !== undefined)
  ) {
    throw new RetryConfigurationError(
      'give either a classifier or provider/rules, not both',
      option('classifier'),
    );
  }
  const classifier =
    options.classifier === undefined
      ? createClassifierAt(options.provider, options.rules)
      : assertFunction(options.classifier, option('classifier'));

  const clock = options.clock ?? systemClock;
  if (
    typeof clock !== 'object' ||
    clock === null ||
    typeof clock.now !== 'function' ||
    typeof clock.setTimeout !== 'function' ||
    typeof clock.clearTimeout !== 'function'
  ) {
    throw new RetryConfigurationError(
      'must have now, setTimeout and clearTimeout',
      option('clock'),
    );
  }
  let budget: RetryBudget | undefined;
  if (options.budget === undefined) budget = retryBudget({ clock });
  else if (options.budget !== false) {
    if (
      typeof options.budget !== 'object' ||
      typeof options.budget.tryAcquireRetry !== 'function'
    ) {
      throw new RetryConfigurationError('must be a RetryBudget or false', option('budget'));
    }
    budget = options.budget;
  }

  const pauseOnRateLimit = options.pauseOnRateLimit ?? true;
  if (typeof pauseOnRateLimit !== 'boolean') {
    throw new RetryConfigurationError('must be a boolean', option('pauseOnRateLimit'));
  }
  const defaultPauseMs = assertNumber(options.defaultPauseMs ?? 1_000, option('defaultPauseMs'));
  if (defaultPauseMs < 0)
    throw new RetryConfigurationError('must not be negative', option('defaultPauseMs'));

  const burstThrottle = resolveBurstThrottle(options.burstThrottle);
  const onRetry =
    options.onRetry === undefined ? undefined : assertFunction(options.onRetry, option('onRetry'));
  const onGiveUp =
    options.onGiveUp === undefined
      ? undefined
      : assertFunction(options.onGiveUp, option('onGiveUp'));

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
    pauseOnRateLimit,
    defaultPauseMs,
    burstThrottle,
    onRetry,
    onGiveUp,
  });
}

/** True for a policy built by {@link retryPolicy} (by any copy of this package). */
export function isRetryPolicy(value: unknown): value is RetryPolicy {
  return typeof value === 'object' && value !== null && POLICY_BRAND in value;
}

function createClassifierAt(
  provider: Provider | undefined,
  rules: ReadonlyArray<ClassificationRule> | undefined,
): Classifier {
  // Errors name the option as `classifier.provider` / `classifier.rules[i]…`.
  return createClassifier({
    ...(provider === undefined ? {} : { provider }),
    ...(rules === undefined ? {} : { rules }),
  });
}

function resolveBurstThrottle(
  value: BurstThrottle | false | undefined,
): Required<BurstThrottle> | undefined {
  if (value === false) return undefined;
  const input = value ?? {};
  assertKnownKeys(input, ['factor', 'durationMs'], 'retryPolicy.burstThrottle');
  const factor = assertNumber(input.factor ?? 0.5, 'retryPolicy.burstThrottle.factor');
  if (factor <= 0 || factor > 1) {
    throw new RetryConfigurationError('must be in (0, 1]', 'retryPolicy.burstThrottle.factor');
  }
  const durationMs = assertNumber(
    input.durationMs ?? 60_000,
    'retryPolicy.burstThrottle.durationMs',
  );
  if (durationMs <= 0) {
    throw new RetryConfigurationError(
      'must be greater than 0',
      'retryPolicy.burstThrottle.durationMs',
    );
  }
  return { factor, durationMs };
}

function nonNegativeOrInfinity(value: unknown, option: string): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new RetryConfigurationError('must be a number ≥ 0 (Infinity allowed)', option);
  }
  return value;
}
