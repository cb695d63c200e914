import type { Call } from '@tollgate/core';
import { anySignal } from '@tollgate/core/signals';
import { execute } from './internal/engine.js';
import { type RetryPolicy, type RetryPolicyOptions, retryPolicy } from './policy.js';

/** A layer for every request and response type: `pipeline(retry(policy), limit(limiter))`. */
export type RetryLayer = <Req, Res>(next: Call<Req, Res>) => Call<Req, Res>;

/**
 * A pipeline layer that retries the calls below it. Each attempt runs with a new context —
 * `attempt: n`, the policy's signal joined to the caller's, and an `outputStarted` of its
 * own — and a failure is classified: a retryable one is retried after the server's hint or
 * the backoff delay, through the layers below. Put it outside `limit()`: each retry is then
 * a new admission, and cannot overrun the quota's windows; `limit()`'s `feedback` option
 * (`quotaFeedback()`) has already paused or throttled the quota by then.
 *
 * @example
 * const send = pipeline(
 *   retry({ provider: 'dashscope' }),
 *   limit(limiter, { feedback: quotaFeedback({ provider: 'dashscope' }) }),
 * )(callModel);
 */
export function retry(policy: RetryPolicy | RetryPolicyOptions = {}): RetryLayer {
  const resolved = retryPolicy(policy);
  return <Req, Res>(next: Call<Req, Res>): Call<Req, Res> =>
    (request, context) => {
      const signals = [context.signal, resolved.signal].filter((s) => s !== undefined);
      const combined = anySignal(signals);
      return execute(
        resolved,
        (attempt, outputStarted) =>
          next(request, {
            ...context,
            attempt,
            ...(combined.signal === undefined ? {} : { signal: combined.signal }),
            outputStarted: () => {
              outputStarted();
              context.outputStarted?.();
            },
          }),
        signals,
      ).finally(combined.dispose);
    };
}
