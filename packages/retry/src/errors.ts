import type { Classification } from './classify.js';

/**
 * The brand every Tollgate error carries. `isTollgateError` from `@tollgate/core` checks the
 * same global symbol, so it recognises retry's errors too, even when packages are bundled twice.
 */
const BRAND = Symbol.for('@tollgate/error');

/** Every error `@tollgate/retry` throws carries one of these stable codes; match on them. */
export type RetryErrorCode =
  | 'TOLLGATE_RETRY_CONFIGURATION'
  | 'TOLLGATE_RETRY_EXHAUSTED'
  | 'TOLLGATE_RETRY_AFTER_TOO_LONG'
  | 'TOLLGATE_RETRY_BUDGET_EXCEEDED'
  | 'TOLLGATE_RETRY_ABORTED';

/** What every give-up error knows about the calls that led to it. */
export interface RetryOutcome {
  /** Attempts made, the failed last one included. */
  readonly attempts: number;
  /** Time from the first attempt's start to the give-up, by the policy's clock. */
  readonly elapsedMs: number;
  /** The last attempt's error (also `cause`, except for {@link RetryAbortedError}). */
  readonly lastError: unknown;
  /** How the last error was classified; undefined if no attempt failed. */
  readonly classification: Classification | undefined;
}

/**
 * Base class of the errors thrown by `@tollgate/retry`. Branded like core's `TollgateError`,
 * so `isTollgateError(error)` is true for them; use {@link isRetryError} for the codes below.
 */
export abstract class RetryError extends Error {
  abstract readonly code: RetryErrorCode;
  readonly [BRAND] = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An option passed to `retryPolicy`, a backoff, a budget or a classification rule is invalid. */
export class RetryConfigurationError extends RetryError {
  readonly code = 'TOLLGATE_RETRY_CONFIGURATION';
  constructor(
    message: string,
    /** The option at fault, e.g. `retryPolicy.maxAttempts`. */
    readonly option: string,
  ) {
    super(`${option}: ${message}`);
  }
}

/** Why the schedule ran out: the attempt count, or the time budget. */
export type ExhaustedReason = 'max-attempts' | 'max-elapsed';

/**
 * The last error was retryable, but the policy allows no further attempt: `maxAttempts` were
 * made, or the next backoff delay would end after `maxElapsedMs`. `cause` is the last error.
 */
export class RetryExhaustedError extends RetryError implements RetryOutcome {
  readonly code = 'TOLLGATE_RETRY_EXHAUSTED';
  readonly attempts: number;
  readonly elapsedMs: number;
  readonly lastError: unknown;
  readonly classification: Classification | undefined;
  constructor(
    readonly reason: ExhaustedReason,
    outcome: RetryOutcome,
  ) {
    super(
      reason === 'max-attempts'
        ? `gave up after ${outcome.attempts} attempts (${describe(outcome.classification)})`
        : `gave up after ${outcome.attempts} attempts: the time budget is spent (${describe(outcome.classification)})`,
      { cause: outcome.lastError },
    );
    this.attempts = outcome.attempts;
    this.elapsedMs = outcome.elapsedMs;
    this.lastError = outcome.lastError;
    this.classification = outcome.classification;
  }
}

/**
 * The provider asked to wait `retryAfterMs` before retrying, and that is more than the policy
 * allows: above `maxRetryAfterMs` (`limit: 'max-retry-after'`) or past what remains of
 * `maxElapsedMs` (`limit: 'max-elapsed'`). Thrown at once rather than sleeping past the
 * deadline; a fallback layer can use `retryAfterMs` to pick another model or account.
 */
export class RetryAfterTooLongError extends RetryError implements RetryOutcome {
  readonly code = 'TOLLGATE_RETRY_AFTER_TOO_LONG';
  readonly attempts: number;
  readonly elapsedMs: number;
  readonly lastError: unknown;
  readonly classification: Classification | undefined;
  constructor(
    /** What the provider asked for. */
    readonly retryAfterMs: number,
    /** The longest wait the policy allowed at that moment. */
    readonly allowedMs: number,
    readonly limit: 'max-retry-after' | 'max-elapsed',
    outcome: RetryOutcome,
  ) {
    super(
      `provider asks to retry after ${Math.ceil(retryAfterMs)} ms, more than the ${Math.floor(allowedMs)} ms allowed by ${limit === 'max-elapsed' ? 'maxElapsedMs' : 'maxRetryAfterMs'}`,
      { cause: outcome.lastError },
    );
    this.attempts = outcome.attempts;
    this.elapsedMs = outcome.elapsedMs;
    this.lastError = outcome.lastError;
    this.classification = outcome.classification;
  }
}

/**
 * The shared retry budget refused a retry: too many retries relative to calls over its window.
 * The fleet is in trouble and retrying would add to the load. `cause` is the last error.
 */
export class RetryBudgetExceededError extends RetryError implements RetryOutcome {
  readonly code = 'TOLLGATE_RETRY_BUDGET_EXCEEDED';
  readonly attempts: number;
  readonly elapsedMs: number;
  readonly lastError: unknown;
  readonly classification: Classification | undefined;
  constructor(outcome: RetryOutcome) {
    super(`retry budget exceeded after ${outcome.attempts} attempts`, {
      cause: outcome.lastError,
    });
    this.attempts = outcome.attempts;
    this.elapsedMs = outcome.elapsedMs;
    this.lastError = outcome.lastError;
    this.classification = outcome.classification;
  }
}

/**
 * The caller's `AbortSignal` fired (before an attempt, during one, or during a sleep between
 * attempts). `cause` is the signal's reason; the last attempt's error is in `lastError`.
 */
export class RetryAbortedError extends RetryError implements RetryOutcome {
  readonly code = 'TOLLGATE_RETRY_ABORTED';
  readonly attempts: number;
  readonly elapsedMs: number;
  readonly lastError: unknown;
  readonly classification: Classification | undefined;
  constructor(reason: unknown, outcome: RetryOutcome) {
    super(`retry aborted after ${outcome.attempts} attempts`, { cause: reason });
    this.attempts = outcome.attempts;
    this.elapsedMs = outcome.elapsedMs;
    this.lastError = outcome.lastError;
    this.classification = outcome.classification;
  }
}

interface RetryErrorByCode {
  TOLLGATE_RETRY_CONFIGURATION: RetryConfigurationError;
  TOLLGATE_RETRY_EXHAUSTED: RetryExhaustedError;
  TOLLGATE_RETRY_AFTER_TOO_LONG: RetryAfterTooLongError;
  TOLLGATE_RETRY_BUDGET_EXCEEDED: RetryBudgetExceededError;
  TOLLGATE_RETRY_ABORTED: RetryAbortedError;
}

const RETRY_CODES: ReadonlySet<string> = new Set<RetryErrorCode>([
  'TOLLGATE_RETRY_CONFIGURATION',
  'TOLLGATE_RETRY_EXHAUSTED',
  'TOLLGATE_RETRY_AFTER_TOO_LONG',
  'TOLLGATE_RETRY_BUDGET_EXCEEDED',
  'TOLLGATE_RETRY_ABORTED',
]);

/**
 * True when `error` was thrown by `@tollgate/retry` (optionally with one code). Checks the brand
 * and the code, not `instanceof`, so it works across bundled copies.
 *
 * @example
 * if (isRetryError(error, 'TOLLGATE_RETRY_AFTER_TOO_LONG')) scheduleLater(error.retryAfterMs);
 */
export function isRetryError(error: unknown): error is RetryError;
export function isRetryError<C extends RetryErrorCode>(
  error: unknown,
  code: C,
): error is RetryErrorByCode[C];
export function isRetryError(error: unknown, code?: RetryErrorCode): boolean {
  if (typeof error !== 'object' || error === null || !(BRAND in error)) return false;
  const actual = (error as { code?: unknown }).code;
  if (typeof actual !== 'string' || !RETRY_CODES.has(actual)) return false;
  return code === undefined || actual === code;
}

function describe(classification: Classification | undefined): string {
  if (classification === undefined) return 'no classification';
  const status = classification.status === undefined ? '' : ` ${classification.status}`;
  const code = classification.code === undefined ? '' : ` ${classification.code}`;
  return `last error: ${classification.kind}${status}${code}`;
}
