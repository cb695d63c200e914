import { InvalidArgumentError } from '@tollgate/core';
import { firedSignal } from '@tollgate/core/signals';
import { checkNumber } from '@tollgate/core/validate';
import type { Classification } from '../classification.js';
import {
  RetryAbortedError,
  RetryAfterTooLongError,
  RetryBudgetExceededError,
  RetryExhaustedError,
  type RetryOutcome,
} from '../errors.js';
import type { GiveUpReason, RetryPolicy } from '../policy.js';
import { checkClassification } from './check.js';
import { isResponseLike, readResponseBody } from './facts.js';
import { raceSignals } from './signals.js';
import { sleep } from './sleep.js';

/**
 * The retry loop around `run(attempt, outputStarted)`: `retrying` and the `retry()` layer
 * differ only in how they hand an attempt its context. An attempt that calls `outputStarted`
 * has handed part of its output on: its network failure is not retried.
 */
export type RunAttempt<T> = (attempt: number, outputStarted: () => void) => Promise<T>;

/**
 * The retry loop. Resolves with the first successful attempt; rejects with the original error
 * when it is not retryable, or with a give-up error (errors.ts) saying why retrying stopped.
 */
export async function execute<T>(
  policy: RetryPolicy,
  run: RunAttempt<T>,
  signals: ReadonlyArray<AbortSignal>,
): Promise<T> {
  const { clock } = policy;
  const start = clock.now();
  let previousBackoffMs: number | undefined;
  let lastError: unknown;
  let classification: Classification | undefined;

  const outcome = (made: number): RetryOutcome => ({
    attempts: made,
    elapsedMs: clock.now() - start,
    lastError,
    classification,
  });
  const giveUp = (reason: GiveUpReason, made: number, thrown: unknown): unknown => {
    policy.onGiveUp?.({
      reason,
      attempts: made,
      classification,
      error: lastError,
      thrown,
      elapsedMs: clock.now() - start,
    });
    return thrown;
  };

  policy.budget?.recordCall();
  for (let attempt = 1; ; attempt++) {
    const firedBefore = firedSignal(signals);
    if (firedBefore !== undefined) {
      throw giveUp(
        'aborted',
        attempt - 1,
        new RetryAbortedError(firedBefore.reason, outcome(attempt - 1)),
      );
    }
    let outputStarted = false;
    const result = await raceSignals(
      () =>
        run(attempt, () => {
          outputStarted = true;
        }),
      signals,
    );
    if (result.kind === 'value') return result.value;
    if (result.kind === 'aborted') {
      // The attempt is abandoned unsettled; lastError stays the previous attempt's, if any.
      throw giveUp('aborted', attempt, new RetryAbortedError(result.reason, outcome(attempt)));
    }
    lastError = result.error;
    classification = undefined;

    // The caller gave up: whatever the attempt threw is a consequence of that, not a failure.
    const firedDuring = firedSignal(signals);
    if (firedDuring !== undefined) {
      throw giveUp('aborted', attempt, new RetryAbortedError(firedDuring.reason, outcome(attempt)));
    }

    const body = isResponseLike(lastError) ? await readResponseBody(lastError) : undefined;
    classification = checkClassification(
      policy.classifier(lastError, {
        now: clock.now(),
        bodyConsumed: outputStarted,
        ...(body === undefined ? {} : { body }),
      }),
      'retryPolicy.classifier(error)',
    );
    if (!classification.retryable) throw giveUp('not-retryable', attempt, lastError);
    if (attempt >= policy.maxAttempts) {
      throw giveUp(
        'max-attempts',
        attempt,
        new RetryExhaustedError('max-attempts', outcome(attempt)),
      );
    }

    const hintMs = classification.retryAfterMs;
    if (hintMs !== undefined && hintMs > policy.maxRetryAfterMs) {
      const error = new RetryAfterTooLongError(
        hintMs,
        policy.maxRetryAfterMs,
        'max-retry-after',
        outcome(attempt),
      );
      throw giveUp('retry-after-too-long', attempt, error);
    }
    let delayMs: number;
    if (hintMs !== undefined) {
      delayMs = Math.ceil(hintMs);
    } else {
      const backoffMs = checkNumber(
        policy.backoff(attempt, previousBackoffMs),
        `retryPolicy.backoff(${attempt}, ${previousBackoffMs})`,
        { min: 0 },
        InvalidArgumentError,
      );
      previousBackoffMs = backoffMs;
      delayMs = Math.ceil(backoffMs);
    }

    // Documented choice: a wait that would end past the time budget fails now, carrying the
    // hint, instead of sleeping past the caller's deadline.
    const remainingMs = policy.maxElapsedMs - (clock.now() - start);
    if (delayMs > remainingMs) {
      const error =
        hintMs === undefined
          ? new RetryExhaustedError('max-elapsed', outcome(attempt))
          : new RetryAfterTooLongError(
              hintMs,
              Math.max(0, remainingMs),
              'max-elapsed',
              outcome(attempt),
            );
      throw giveUp(hintMs === undefined ? 'max-elapsed' : 'retry-after-too-long', attempt, error);
    }
    if (policy.budget !== undefined && !policy.budget.tryAcquireRetry()) {
      throw giveUp('budget', attempt, new RetryBudgetExceededError(outcome(attempt)));
    }

    policy.onRetry?.({
      attempt,
      delayMs,
      classification,
      error: lastError,
      elapsedMs: clock.now() - start,
    });
    const slept = await sleep(delayMs, clock, signals);
    if (slept.aborted) {
      throw giveUp('aborted', attempt, new RetryAbortedError(slept.reason, outcome(attempt)));
    }
  }
}
