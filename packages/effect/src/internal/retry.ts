import { type RetryPolicy, type RetryPolicyOptions, retryPolicy } from '@tollgate/retry';
import { Cause, Duration, Effect, Schedule } from 'effect';
import { classifyError, type ProviderFailure } from '../errors.js';

/** What the retry schedule outputs at each retry. */
export interface RetryDecision {
  /** The attempt that just failed (1 for the first). */
  readonly attempt: number;
  /** How long until the next attempt. */
  readonly delayMs: number;
  /** Whether the delay is the server's hint (else the policy's backoff). */
  readonly hinted: boolean;
  /** The failure, classified. */
  readonly failure: ProviderFailure;
}

/** The schedule of a validated policy. */
export function scheduleOf(policy: RetryPolicy): Schedule.Schedule<RetryDecision, unknown> {
  return Schedule.fromStepWithMetadata(
    Effect.sync(() => {
      let previousMs: number | undefined;
      return (meta: Schedule.InputMetadata<unknown>) => {
        const failure = classifyError(meta.input, { classifier: policy.classifier });
        const { classification } = failure;
        const hintMs = classification.retryAfterMs;
        const delayMs = hintMs ?? policy.backoff(meta.attempt, previousMs);
        const decision: RetryDecision = {
          attempt: meta.attempt,
          delayMs,
          hinted: hintMs !== undefined,
          failure,
        };
        const stop =
          !classification.retryable ||
          meta.attempt >= policy.maxAttempts ||
          (hintMs !== undefined && hintMs > policy.maxRetryAfterMs) ||
          meta.elapsed + delayMs > policy.maxElapsedMs ||
          !Number.isFinite(delayMs) ||
          delayMs < 0;
        if (stop) return Cause.done(decision);
        if (hintMs === undefined) previousMs = delayMs;
        policy.onRetry?.({
          attempt: meta.attempt,
          delayMs,
          classification,
          error: meta.input,
          elapsedMs: meta.elapsed,
        });
        return Effect.succeed([decision, Duration.millis(delayMs)] as const);
      };
    }),
  );
}

/** Validates the options (core's `ConfigurationError` when invalid) and builds the schedule. */
export const makeRetrySchedule = (
  options: RetryPolicyOptions | RetryPolicy = {},
): Schedule.Schedule<RetryDecision, unknown> => scheduleOf(retryPolicy(options));
