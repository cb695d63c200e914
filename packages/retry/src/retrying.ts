import { RetryConfigurationError } from './errors.js';
import { execute } from './internal/engine.js';
import { anySignal, isAbortSignal } from './internal/signals.js';
import { type RetryPolicy, type RetryPolicyOptions, retryPolicy } from './policy.js';

/** What the retried function receives on each attempt. */
export interface AttemptContext {
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** Fires when the call is aborted (per-call signal or the policy's); pass it to `fetch`. */
  readonly signal: AbortSignal | undefined;
  /**
   * Set to `true` once part of a streamed body has been handed on: a network error after
   * that is not retried, since a retry would replay output the consumer already saw.
   */
  bodyConsumed: boolean;
}

/** Per-call options of {@link retrying}. */
export interface RetryingOptions {
  /** Aborts this call: the current sleep ends at once and the call rejects with `RetryAbortedError`. */
  readonly signal?: AbortSignal;
}

/**
 * Calls `fn` until it succeeds or the policy gives up. Errors are classified (provider-aware);
 * only retryable kinds are retried, after the server's hint or the backoff delay.
 *
 * Rejects with the original error when it is not retryable (`auth`, `quota-exhausted`,
 * `bad-request`…), and otherwise with `RetryExhaustedError`, `RetryAfterTooLongError`,
 * `RetryBudgetExceededError` or `RetryAbortedError` (the last error in `cause`/`lastError`).
 *
 * @example
 * const policy = retryPolicy({ provider: 'openai', maxElapsedMs: 60_000 });
 * const completion = await retrying(
 *   ({ signal }) => client.chat.completions.create(request, { signal }),
 *   policy,
 * );
 */
export function retrying<T>(
  fn: (context: AttemptContext) => Promise<T>,
  policy: RetryPolicy | RetryPolicyOptions = {},
  options: RetryingOptions = {},
): Promise<T> {
  if (typeof fn !== 'function') {
    return Promise.reject(new RetryConfigurationError('must be a function', 'retrying.fn'));
  }
  let resolved: RetryPolicy;
  try {
    resolved = retryPolicy(policy);
    if (options.signal !== undefined && !isAbortSignal(options.signal)) {
      throw new RetryConfigurationError('must be an AbortSignal', 'retrying.signal');
    }
  } catch (error) {
    return Promise.reject(error);
  }
  const signals = [options.signal, resolved.signal].filter((s) => s !== undefined);
  const combined = anySignal(signals);
  let current: AttemptContext | undefined;
  return execute(
    resolved,
    {
      run: (attempt) => {
        current = { attempt, signal: combined.signal, bodyConsumed: false };
        return fn(current);
      },
      bodyConsumed: () => current?.bodyConsumed === true,
    },
    signals,
  ).finally(combined.dispose);
}
