import { InvalidArgumentError, RequestTooLargeError, WaitAbortedError } from '../errors.js';
import type { TokenEstimate } from '../estimate.js';
import type { QuotaFeedback, Usage } from '../permit.js';
import type { StoreWindow } from '../store.js';
import {
  checkBoolean,
  checkNumber,
  checkOptions,
  checkSignal,
  mustBe,
  type NumberRange,
} from '../validate.js';

/** One `acquire`, validated: what it books, where it queues, how long it may wait. */
export interface Request {
  /** Tokens to book; for an estimate, at the prompt bias learned when it was booked. */
  readonly cost: number;
  readonly estimate: TokenEstimate | undefined;
  readonly priority: number;
  readonly signal: AbortSignal | undefined;
  readonly maxWaitMs: number;
}

/** What a request is checked against: the limiter's token windows and defaults. */
export interface RequestRules {
  /** The token windows of the plan (margin applied). */
  readonly tokenWindows: ReadonlyArray<StoreWindow>;
  /** The smallest of their limits: no booking may exceed it (Infinity without token windows). */
  readonly maxTokens: number;
  readonly defaultMaxWaitMs: number;
  /** What an estimate books at the bias learned so far. */
  costOf(estimate: TokenEstimate): number;
}

const ACQUIRE_KEYS = ['tokens', 'priority', 'signal', 'maxWaitMs'];
const ESTIMATE_KEYS = ['prompt', 'output'];
const USAGE_KEYS = ['promptTokens', 'completionTokens', 'totalTokens'];
/** Token counts and durations: finite, >= 0. */
const NON_NEGATIVE = { min: 0 } as const;
const ANY = {} as const;
const WAIT = { min: 0, infinity: true } as const;

/**
 * The hot path's test for a token count or duration (NaN fails both comparisons); only a
 * value that fails it goes to `checkNumber`, which words the error.
 */
export const isAmount = (value: unknown): value is number =>
  typeof value === 'number' && value >= 0 && value < Number.POSITIVE_INFINITY;

/** `checkNumber` for an argument, called only once the fast test failed. */
const amount = (value: unknown, path: string, range: NumberRange = NON_NEGATIVE): number =>
  checkNumber(value, path, range, InvalidArgumentError);

/**
 * Validates `acquire` options. Throws {@link InvalidArgumentError} for a bad option,
 * {@link RequestTooLargeError} when no window can ever hold the cost, and
 * {@link WaitAbortedError} when the signal has already fired.
 */
export function parseRequest(options: unknown, rules: RequestRules): Request {
  const checked = checkOptions(options, 'acquire', ACQUIRE_KEYS, InvalidArgumentError);
  const { tokens = 0, priority = 0, signal, maxWaitMs = rules.defaultMaxWaitMs } = checked;
  let cost: number;
  let estimate: TokenEstimate | undefined;
  if (isAmount(tokens)) {
    cost = Math.ceil(tokens);
  } else {
    // an estimate, or a bad value: checkTokens words its error
    estimate = checkTokens(tokens, 'tokens') as TokenEstimate;
    // a bias learned above 1 never makes a request that fits unbiased too large
    const unbiased = Math.ceil(estimate.prompt) + Math.ceil(estimate.output);
    cost = unbiased <= rules.maxTokens ? rules.costOf(estimate) : unbiased;
  }
  if (typeof priority !== 'number' || !Number.isFinite(priority)) amount(priority, 'priority', ANY);
  if (maxWaitMs !== Number.POSITIVE_INFINITY && !isAmount(maxWaitMs)) {
    amount(maxWaitMs, 'maxWaitMs', WAIT);
  }
  if (signal !== undefined) checkSignal(signal, 'signal', InvalidArgumentError);
  for (const window of rules.tokenWindows) {
    if (cost > window.limit) throw new RequestTooLargeError(window.name, window.limit, cost);
  }
  const abortSignal = signal as AbortSignal | undefined;
  if (abortSignal?.aborted) throw new WaitAbortedError(0, undefined, abortSignal.reason);
  return {
    cost,
    estimate,
    priority: priority as number,
    signal: abortSignal,
    maxWaitMs: maxWaitMs as number,
  };
}

/**
 * What a request reserves: a token count, or an estimate `{ prompt, output }` of counts (each
 * finite and >= 0). Throws {@link InvalidArgumentError} naming `path` otherwise.
 */
export function checkTokens(tokens: unknown, path: string): number | TokenEstimate {
  if (isAmount(tokens)) return tokens;
  if (typeof tokens === 'object' && tokens !== null) {
    const parts = checkOptions(tokens, path, ESTIMATE_KEYS, InvalidArgumentError);
    if (!isAmount(parts.prompt)) amount(parts.prompt, `${path}.prompt`);
    if (!isAmount(parts.output)) amount(parts.output, `${path}.output`);
    return tokens as TokenEstimate;
  }
  if (typeof tokens === 'number') return amount(tokens, path);
  throw new InvalidArgumentError(mustBe('a token count or { prompt, output }', tokens), path);
}

/** Validates what a settlement reports: known fields, each a finite number >= 0. */
export function checkUsage(usage: unknown): Usage {
  if (typeof usage !== 'object' || usage === null || Array.isArray(usage)) {
    return checkOptions(usage, 'usage', USAGE_KEYS, InvalidArgumentError);
  }
  // on every settlement: one pass, and no path built unless a value is wrong
  for (const key in usage) {
    if (key !== 'promptTokens' && key !== 'completionTokens' && key !== 'totalTokens') {
      return checkOptions(usage, 'usage', USAGE_KEYS, InvalidArgumentError);
    }
    const value = (usage as Record<string, unknown>)[key];
    if (value !== undefined && !isAmount(value)) amount(value, `usage.${key}`);
  }
  return usage as Usage;
}

/** Validates a provider's feedback: a pause of `pauseMs >= 0`, a throttle of factor (0, 1]. */
export function checkFeedback(feedback: unknown): QuotaFeedback {
  const { pauseMs, throttle, widenMargin } = checkOptions(
    feedback,
    'feedback',
    ['pauseMs', 'throttle', 'widenMargin'],
    InvalidArgumentError,
  );
  if (pauseMs !== undefined) amount(pauseMs, 'feedback.pauseMs');
  if (widenMargin !== undefined)
    checkBoolean(widenMargin, 'feedback.widenMargin', InvalidArgumentError);
  if (throttle !== undefined) {
    const { factor, durationMs } = checkOptions(
      throttle,
      'feedback.throttle',
      ['factor', 'durationMs'],
      InvalidArgumentError,
    );
    checkNumber(factor, 'feedback.throttle.factor', { above: 0, max: 1 }, InvalidArgumentError);
    amount(durationMs, 'feedback.throttle.durationMs');
  }
  return feedback as QuotaFeedback;
}
