import { type Call, isTollgateError, pipeline } from '@tollgate/core';
import { detectProvider } from '@tollgate/retry';
import { type Config, resolveOptions } from './internal/config.js';
import { type ChatCall, type ChatCompletionBody, readCall } from './internal/request.js';
import { recordRejection } from './internal/sdk-errors.js';
import { freshTurn, transport } from './internal/transport.js';
import type { FetchLike, TollgateFetchOptions } from './options.js';

const INNER_FETCH = Symbol.for('@tollgate/openai/inner-fetch');

/**
 * A `fetch` that puts every chat completion (`POST …/chat/completions`) through Tollgate's
 * layers — your `layers`, then `retry()`, then `limit()` around the transport: estimated,
 * admitted, sent, settled with the reported usage (from the JSON body or the stream's usage
 * chunk), retried through the limiter when the provider refuses it, and the quota told what
 * the provider's answer says about it. Every other request passes straight through. Give it
 * to any OpenAI-compatible client that takes a custom `fetch`; for the official SDK,
 * {@link withTollgate} does it for you.
 *
 * When retrying stops, the caller gets the provider's last `Response` unchanged, so a client
 * raises its usual error. Tollgate's own failures reject with the Tollgate error itself —
 * core's `WaitTimeoutError`, `RequestTooLargeError`, `LimiterClosedError`, `StoreError`,
 * `InvalidArgumentError` (a bad `max_tokens`…), retry's `RetryAbortedError` — a network error
 * with the original error, and an abort with the signal's reason.
 *
 * @example
 * const limiter = new Limiter({ quota: { rpm: 600, tpm: 1_000_000, rps: 10, tps: 16_667 } });
 * const fetch = tollgateFetch({ limiter, retry: { provider: 'dashscope' } });
 * const response = await fetch(`${baseURL}/chat/completions`, {
 *   method: 'POST',
 *   headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
 *   body: JSON.stringify({ model: 'qwen3-max', messages, max_tokens: 500 }),
 * });
 */
export function tollgateFetch(options: TollgateFetchOptions): typeof fetch {
  const config = resolveOptions(options);
  const tollgated = async (
    input: string | URL | Request,
    init?: RequestInit,
  ): Promise<Response> => {
    try {
      return await answer(config, input, init);
    } catch (error) {
      // A client made by withTollgate throws it in place of the SDK's connection error.
      recordRejection(error);
      throw error;
    }
  };
  Object.defineProperty(tollgated, INNER_FETCH, { value: config.fetch });
  return tollgated as typeof fetch;
}

/** The transport under a fetch made by {@link tollgateFetch}; the fetch itself otherwise. */
export function innermostFetch(fetch: FetchLike): FetchLike {
  const inner: unknown = (fetch as { [INNER_FETCH]?: unknown })[INNER_FETCH];
  return typeof inner === 'function' ? (inner as FetchLike) : fetch;
}

/** The answer to one fetch: a chat completion through the layers, anything else as it came. */
async function answer(
  config: Config,
  input: string | URL | Request,
  init: RequestInit | undefined,
): Promise<Response> {
  const call = await readCall(input, init);
  if (call.kind === 'pass') return config.fetch(call.input, call.init);
  try {
    return await compose(config, call)(call.request, {
      attempt: 1,
      ...(call.signal === undefined ? {} : { signal: call.signal }),
    });
  } catch (error) {
    return lastAnswer(error, call.signal);
  }
}

/** `layers → retry → (fresh turn) → limit → transport` for one chat completion. */
function compose(config: Config, call: ChatCall): Call<ChatCompletionBody, Response> {
  const route = config.routeFor(config.provider ?? detectProvider(call.url));
  const limited = route.limit(call.options)(transport(config.fetch, call));
  const send: Call<ChatCompletionBody, Response> = async (request, context) =>
    (await limited(request, context)).response;
  return pipeline<ChatCompletionBody, Response>(
    ...config.layers,
    ...(route.retry === undefined ? [] : [route.retry]),
    freshTurn,
  )(send);
}

/**
 * What the caller gets once the layers give up: the provider's last response, unchanged, or
 * the error that stopped them — the original one (a network error, a Tollgate wait error), or
 * the abort reason, as a plain `fetch` rejects with it.
 */
function lastAnswer(error: unknown, signal: AbortSignal | undefined): Response {
  if (signal?.aborted) throw signal.reason;
  if (isTollgateError(error, 'TOLLGATE_PROVIDER_RESPONSE')) return error.response;
  if (
    isTollgateError(error) &&
    'lastError' in error &&
    !isTollgateError(error, 'TOLLGATE_RETRY_ABORTED')
  ) {
    const last = error.lastError;
    if (isTollgateError(last, 'TOLLGATE_PROVIDER_RESPONSE')) return last.response;
    if (last !== undefined) throw last;
  }
  throw error;
}
