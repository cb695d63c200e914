import { ConfigurationError } from '@tollgate/core';
import type { OpenAI } from 'openai';
import { innermostFetch, tollgateFetch } from './fetch.js';
import { keepingTollgateErrors } from './internal/sdk-errors.js';
import type { FetchLike, TollgateFetchOptions } from './options.js';

/** Options of {@link withTollgate}: those of `tollgateFetch`, whose transport is the client's. */
export type WithTollgateOptions = Omit<TollgateFetchOptions, 'fetch'>;

/**
 * A new client, of the same class and with the SDK's own types, whose chat completions
 * (streaming included) go through Tollgate: estimated, admitted by the limiter, settled with
 * the reported usage, and retried through the limiter by the retry policy. Everything else —
 * base URL, key, headers, timeout, the client's own `fetch` — is inherited; the SDK's own
 * retries are switched off (`maxRetries: 0`), since Tollgate drives them. The client passed in
 * is left as it was.
 *
 * Tollgate's own failures reach the caller as themselves, not as the SDK's connection errors:
 * `create()` (streaming or not) rejects with core's `WaitTimeoutError`, `RequestTooLargeError`,
 * `LimiterClosedError`, `StoreError`, `InvalidArgumentError`, retry's `RetryAbortedError`…, so
 * `isTollgateError(error, 'TOLLGATE_WAIT_TIMEOUT')` and `instanceof` work; so do the clients
 * its `withOptions()` returns. The SDK's own errors (a refusal, a network error, the abort of
 * its `signal`, its `timeout`) stay the SDK's.
 *
 * Per call, `create(body, tollgate({ priority, maxWaitMs }))` sets the queue priority and the
 * longest wait of that call.
 *
 * Wrapping a client that is already wrapped replaces its Tollgate options instead of stacking
 * two limiters.
 *
 * @example
 * const limiter = new Limiter({ quota: { rpm: 600, tpm: 1_000_000, rps: 10, tps: 16_667 } });
 * const client = withTollgate(
 *   new OpenAI({ baseURL: 'https://dashscope-intl.aliyuncs.com/compatible-mode/v1', apiKey }),
 *   { limiter, retry: { provider: 'dashscope' } },
 * );
 * const reply = await client.chat.completions.create({ model: 'qwen3-max', messages });
 */
export function withTollgate<C extends OpenAI>(client: C, options: WithTollgateOptions): C {
  if (typeof (client as { withOptions?: unknown } | null)?.withOptions !== 'function') {
    throw new ConfigurationError('must be an OpenAI client (openai >= 6)', 'withTollgate client');
  }
  if (typeof options === 'object' && options !== null && 'fetch' in options) {
    throw new ConfigurationError(
      'give the transport to the client (new OpenAI({ fetch })); withTollgate uses it',
      'withTollgate.fetch',
    );
  }
  return keepingTollgateErrors(
    client.withOptions({
      fetch: tollgateFetch({ ...options, fetch: transportOf(client) }),
      maxRetries: 0,
    }),
  );
}

/** The client's configured fetch (a private field of the SDK), unwrapped from any Tollgate. */
function transportOf(client: OpenAI): FetchLike {
  const configured: unknown = (client as unknown as { fetch?: unknown }).fetch;
  if (typeof configured !== 'function') {
    return (input, init) => globalThis.fetch(input, init);
  }
  return innermostFetch(configured as FetchLike);
}
