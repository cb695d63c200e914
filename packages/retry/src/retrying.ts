import { InvalidArgumentError } from '@tollgate/core';
import { anySignal } from '@tollgate/core/signals';
import { checkFunction, checkOptions, checkSignal } from '@tollgate/core/validate';
import { execute } from './internal/engine.js';
import { type RetryPolicy, type RetryPolicyOptions, retryPolicy } from './policy.js';

/** What the retried function receives on each attempt. */
export interface AttemptContext {
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** Fires when the call is aborted (per-call signal or the policy's); pass it to `fetch`. */
  readonly signal: AbortSignal | undefined;
  /**
   * Call it once part of a streamed body has been handed on: a network error after that is
   * not retried, since a retry would replay output the consumer already saw.
   */
  readonly outputStarted: () => void;
}

/**
 * Calls `fn` until it succeeds or the policy gives up. Errors are classified (provider-aware);
 * only retryable kinds are retried, after the server's hint or the backoff delay. `signal`
 * aborts this call: the current sleep ends at once and the call rejects with
 * `RetryAbortedError`.
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
  options: { readonly signal?: AbortSignal } = {},
): Promise<T> {
  let resolved: RetryPolicy;
  try {
    checkFunction(fn, 'retrying.fn', InvalidArgumentError);
    resolved = retryPolicy(policy);
    // `retrying(fn, policy, signal)`: the signal's own properties would read as unknown options
    if (typeof (options as Partial<AbortSignal> | null)?.aborted === 'boolean') {
      throw new InvalidArgumentError('must be { signal }, got an AbortSignal', 'retrying.options');
    }
    checkOptions(options, 'retrying.options', ['signal'], InvalidArgumentError);
    if (options.signal !== undefined) {
      checkSignal(options.signal, 'retrying.options.signal', InvalidArgumentError);
    }
  } catch (error) {
    return Promise.reject(error);
  }
  const signals = [options.signal, resolved.signal].filter((s) => s !== undefined);
  const combined = anySignal(signals);
  return execute(
    resolved,
    (attempt, outputStarted) => fn({ attempt, signal: combined.signal, outputStarted }),
    signals,
  ).finally(combined.dispose);
}
