import { TollgateError } from '@tollgate/core';
import type { Classification } from './classification.js';

declare module '@tollgate/core' {
  interface TollgateErrors {
    TOLLGATE_RETRY_EXHAUSTED: RetryExhaustedError;
    TOLLGATE_RETRY_AFTER_TOO_LONG: RetryAfterTooLongError;
    TOLLGATE_RETRY_BUDGET_EXCEEDED: RetryBudgetExceededError;
    TOLLGATE_RETRY_ABORTED: RetryAbortedError;
  }
}

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
 * Why retrying stopped without a result: the fields every give-up error carries. Match on
 * `code` with core's `isTollgateError(error, 'TOLLGATE_RETRY_EXHAUSTED')`.
 */
abstract class RetryStopped extends TollgateError implements RetryOutcome {
  readonly attempts: number;
  readonly elapsedMs: number;
  readonly lastError: unknown;
  readonly classification: Classification | undefined;

  constructor(message: string, outcome: RetryOutcome, cause: unknown = outcome.lastError) {
    super(message, { cause });
    this.attempts = outcome.attempts;
    this.elapsedMs = outcome.elapsedMs;
    this.lastError = outcome.lastError;
    this.classification = outcome.classification;
  }
}

/**
 * The last error was retryable, but the policy allows no further attempt: `maxAttempts` were
 * made, or the next backoff delay would end after `maxElapsedMs`. `cause` is the last error.
 */
export class RetryExhaustedError extends RetryStopped {
  readonly code = 'TOLLGATE_RETRY_EXHAUSTED';
  constructor(
    readonly reason: 'max-attempts' | 'max-elapsed',
    outcome: RetryOutcome,
  ) {
    super(
      reason === 'max-attempts'
        ? `gave up after ${outcome.attempts} attempts (${describe(outcome.classification)})`
        : `gave up after ${outcome.attempts} attempts: the time budget is spent (${describe(outcome.classification)})`,
      outcome,
    );
  }
}

/**
 * The provider asked to wait `retryAfterMs` before retrying, and that is more than the policy
 * allows: above `maxRetryAfterMs` (`limit: 'max-retry-after'`) or past what remains of
 * `maxElapsedMs` (`limit: 'max-elapsed'`). Thrown at once rather than sleeping past the
 * deadline; a fallback layer can use `retryAfterMs` to pick another model or account.
 */
export class RetryAfterTooLongError extends RetryStopped {
  readonly code = 'TOLLGATE_RETRY_AFTER_TOO_LONG';
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
      outcome,
    );
  }
}

/**
 * The shared retry budget refused a retry: too many retries relative to calls over its window.
 * The fleet is in trouble and retrying would add to the load. `cause` is the last error.
 */
export class RetryBudgetExceededError extends RetryStopped {
  readonly code = 'TOLLGATE_RETRY_BUDGET_EXCEEDED';
  constructor(outcome: RetryOutcome) {
    super(`retry budget exceeded after ${outcome.attempts} attempts`, outcome);
  }
}

/**
 * The caller's `AbortSignal` fired (before an attempt, during one, or during a sleep between
 * attempts). `cause` is the signal's reason; the last attempt's error is in `lastError`.
 */
export class RetryAbortedError extends RetryStopped {
  readonly code = 'TOLLGATE_RETRY_ABORTED';
  constructor(reason: unknown, outcome: RetryOutcome) {
    super(`retry aborted after ${outcome.attempts} attempts`, outcome, reason);
  }
}

function describe(classification: Classification | undefined): string {
  if (classification === undefined) return 'no classification';
  const status = classification.status === undefined ? '' : ` ${classification.status}`;
  const code = classification.code === undefined ? '' : ` ${classification.code}`;
  return `last error: ${classification.kind}${status}${code}`;
}
