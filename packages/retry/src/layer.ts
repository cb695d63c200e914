import type { Call, CallContext } from '@tollgate/core';
import type { Classification } from './classify.js';
import { execute } from './internal/engine.js';
import { anySignal } from './internal/signals.js';
import {
  type LimiterFeedback,
  type RetryPolicy,
  type RetryPolicyOptions,
  retryPolicy,
} from './policy.js';

declare module '@tollgate/core' {
  interface CallContext {
    /**
     * Set to `true` by the call once part of a streamed body has been handed on. The `retry()`
     * layer then does not retry a network error of that attempt: it would replay output.
     */
    bodyConsumed?: boolean;
  }
}

/**
 * What the `retry()` layer needs from the limiter an attempt recorded in its context
 * (`context.limiter`, set by core's `limit()`): hold every admission of the shared quota for
 * a while, and lower its pace for a while.
 */
export interface PausableLimiter {
  /** Holds all admissions of the shared quota for `durationMs`. */
  pause(durationMs: number): Promise<void>;
  /** Lowers every window's effective limit (and pace) to `factor × limit` for `durationMs`. */
  throttle(factor: number, durationMs: number): Promise<void>;
}

/** A layer for every request and response type: `pipeline(retry(policy), limit(limiter))`. */
export type RetryLayer = <Req, Res>(next: Call<Req, Res>) => Call<Req, Res>;

/**
 * A pipeline layer that retries the calls below it. Each attempt runs with a new context
 * `{ ...context, attempt: n }`; when it fails, the error is classified and:
 *
 * - request-rate / token-rate: the limiter recorded on that attempt's context is paused until
 *   the provider's reset (its hint, else `defaultPauseMs`), for every caller of the quota;
 * - burst: the limiter's pace is lowered (`burstThrottle`) for a while;
 *
 * then the request is retried through the layers below: the retry is a new admission, so it
 * cannot overrun the quota's windows. Put it outside `limit()`.
 *
 * @example
 * const send = pipeline(retry({ provider: 'dashscope' }), limit(limiter))(callModel);
 */
export function retry(policy: RetryPolicy | RetryPolicyOptions = {}): RetryLayer {
  const resolved = retryPolicy(policy);
  return <Req, Res>(next: Call<Req, Res>): Call<Req, Res> =>
    (request, context) => {
      const signals = [context.signal, resolved.signal].filter((s) => s !== undefined);
      const combined = anySignal(signals);
      let current: CallContext | undefined;
      return execute(
        resolved,
        {
          run: (attempt) => {
            current = {
              ...context,
              attempt,
              ...(combined.signal === undefined ? {} : { signal: combined.signal }),
            };
            return next(request, current);
          },
          bodyConsumed: () => current?.bodyConsumed === true,
          feedback: (_attempt, classification) =>
            tellLimiter(resolved, limiterOf(current), classification),
        },
        signals,
      ).finally(combined.dispose);
    };
}

/** The limiter the attempt recorded, if it has the methods the layer uses. */
function limiterOf(context: CallContext | undefined): Partial<PausableLimiter> | undefined {
  const limiter: unknown = context?.limiter;
  return typeof limiter === 'object' && limiter !== null
    ? (limiter as Partial<PausableLimiter>)
    : undefined;
}

async function tellLimiter(
  policy: RetryPolicy,
  limiter: Partial<PausableLimiter> | undefined,
  classification: Classification,
): Promise<LimiterFeedback | undefined> {
  if (limiter === undefined) return undefined;
  const { kind } = classification;
  if ((kind === 'request-rate' || kind === 'token-rate') && policy.pauseOnRateLimit) {
    if (typeof limiter.pause !== 'function') return undefined;
    // A hint beyond the ceiling is not trusted for longer than the ceiling.
    const durationMs = Math.ceil(
      Math.min(classification.retryAfterMs ?? policy.defaultPauseMs, policy.maxRetryAfterMs),
    );
    try {
      await limiter.pause(durationMs);
      return { action: 'pause', durationMs };
    } catch (error) {
      return { action: 'pause', durationMs, error };
    }
  }
  if (kind === 'burst' && policy.burstThrottle !== undefined) {
    if (typeof limiter.throttle !== 'function') return undefined;
    const { factor, durationMs } = policy.burstThrottle;
    try {
      await limiter.throttle(factor, durationMs);
      return { action: 'throttle', factor, durationMs };
    } catch (error) {
      return { action: 'throttle', factor, durationMs, error };
    }
  }
  return undefined;
}
