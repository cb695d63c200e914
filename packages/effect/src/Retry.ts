/**
 * `@tollgate/retry`'s policies as Effect `Schedule`s: retry only what the classification says
 * can succeed, wait the server's hint when it gives one, else the policy's backoff.
 */
import type { RetryPolicy, RetryPolicyOptions } from '@tollgate/retry';
import { Effect, type Schedule } from 'effect';
import { makeRetrySchedule, type RetryDecision } from './internal/retry.js';

export type { RetryDecision } from './internal/retry.js';

/**
 * A `Schedule` for `Effect.retry` from a retry policy (or its options): each failure is
 * classified (`classifyError`, with the policy's provider, rules or classifier; a failure
 * already classified keeps its verdict); a non-retryable one stops at once, a retryable one
 * waits the server's `retryAfter` when there is one — the policy's `backoff` when not — and at
 * most `maxAttempts` attempts are made in all. A hint above `maxRetryAfterMs`, or a delay that
 * would end after `maxElapsedMs`, stops too; the last failure then propagates unchanged.
 * `onRetry` is called before each wait. (The policy's retry budget is not consulted: the
 * schedule has no view of the calls that succeed.) Invalid options throw core's
 * `ConfigurationError`.
 *
 * @example
 * const reply = yield* callModel(request).pipe(
 *   Effect.retry(retrySchedule({ provider: 'dashscope', maxAttempts: 6 })),
 * );
 */
export const retrySchedule: (
  options?: RetryPolicyOptions | RetryPolicy,
) => Schedule.Schedule<RetryDecision, unknown> = makeRetrySchedule;

/**
 * `self` retried on {@link retrySchedule}: shorthand for `Effect.retry(self, retrySchedule(options))`.
 *
 * @example
 * const reply = yield* retrying(withQuota(callModel(request), { tokens }), { provider: 'openai' });
 */
export const retrying = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  options?: RetryPolicyOptions | RetryPolicy,
): Effect.Effect<A, E, R> => Effect.retry(self, makeRetrySchedule(options));
