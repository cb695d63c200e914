import { InvalidArgumentError } from '@tollgate/core';
import { checkMethods, checkNumber, mustBe } from '@tollgate/core/validate';
import type { RetryBudget } from '../budget.js';
import { type Classification, ERROR_KINDS } from '../classification.js';

/**
 * A custom classifier's verdict, checked where the retry loop or the feedback reads it: a
 * known `kind`, a boolean `retryable`, and a `retryAfterMs` that is absent or a finite number
 * >= 0 — not a `TypeError` from deep inside, nor a NaN wait.
 */
export function checkClassification(value: unknown, path: string): Classification {
  const verdict = value as Partial<Classification> | null;
  if (
    typeof verdict !== 'object' ||
    verdict === null ||
    !ERROR_KINDS.includes(verdict.kind as never) ||
    typeof verdict.retryable !== 'boolean'
  ) {
    throw new InvalidArgumentError(
      mustBe('a Classification ({ kind, retryable, retryAfterMs? })', value),
      path,
    );
  }
  if (verdict.retryAfterMs !== undefined) {
    checkNumber(verdict.retryAfterMs, `${path}.retryAfterMs`, { min: 0 }, InvalidArgumentError);
  }
  return verdict as Classification;
}

const BUDGET_METHODS = Object.keys({
  recordCall: true,
  tryAcquireRetry: true,
  available: true,
} satisfies Record<keyof RetryBudget, true>);

/** A {@link RetryBudget}: an object with every method of one; the message names those missing. */
export function checkBudget(value: unknown, path: string): RetryBudget {
  const expected = `a RetryBudget (${BUDGET_METHODS.join(', ')}) or false`;
  return checkMethods<RetryBudget>(value, path, expected, BUDGET_METHODS);
}
