import type { CallContext, Limiter, Permit, TokenEstimate } from '@tollgate/core';
import {
  detectProvider,
  isRetryError,
  type Provider,
  type RetryPolicy,
  type RetryPolicyOptions,
} from '@tollgate/retry';
import { isProviderResponseError, ProviderResponseError } from './errors.js';
import { syncRateLimitHeaders } from './internal/headers.js';
import { neverSent } from './internal/network.js';
import { type Config, resolveOptions } from './internal/options.js';
import { type ChatCall, type ChatCompletionBody, readCall } from './internal/request.js';
import { tapUsage } from './internal/sse.js';
import { readUsage } from './internal/usage.js';

export type { ChatCompletionBody } from './internal/request.js';

/** A `fetch`: what `tollgateFetch` takes as its transport and what it returns. */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Options of {@link tollgateFetch}. */
export interface TollgateFetchOptions {
  /** The quota every chat completion is admitted by. Share one limiter per account and model. */
  readonly limiter: Limiter;
  /**
   * How refused attempts are retried: a policy, its options, or `false` for one attempt only
   * (a rate refusal still pauses the limiter). Each retry is a new admission by the limiter.
   * @default retryPolicy({ provider }) — 5 attempts, full-jitter backoff, server hints honoured
   */
  readonly retry?: RetryPolicy | RetryPolicyOptions | false;
  /**
   * Whose error table classifies refusals (`insufficient_quota` is a TPM throttle on DashScope
   * and an empty balance on OpenAI). @default detectProvider(request URL) — `generic` for hosts
   * it does not know, such as a local gateway in front of DashScope
   */
  readonly provider?: Provider;
  /** The transport the requests go out through. @default globalThis.fetch */
  readonly fetch?: FetchLike;
  /**
   * A request's cost, from its parsed JSON body: a token count, or `{ prompt, output }` (the
   * limiter then corrects the prompt part by the bias it learns from reported usage).
   * @default core's defaultChatEstimator: prompt estimate + (max_completion_tokens ?? max_tokens ?? 1024) × n
   */
  readonly estimate?: (request: ChatCompletionBody) => number | TokenEstimate;
  /** Queue priority of these calls; higher goes first. @default the limiter's (0) */
  readonly priority?: number;
  /**
   * Longest wait for each admission; the call then fails with core's `WaitTimeoutError`.
   * @default the limiter's maxWaitMs
   */
  readonly maxWaitMs?: number;
  /**
   * Pause the limiter when a response's `x-ratelimit-remaining-requests` or
   * `x-ratelimit-remaining-tokens` is 0, until the matching `x-ratelimit-reset-*`.
   * Turn off when the limiter is shared with traffic the headers do not describe. @default true
   */
  readonly syncHeaders?: boolean;
}

const INNER_FETCH = Symbol.for('@tollgate/openai/inner-fetch');

/**
 * A `fetch` that puts every chat completion (`POST …/chat/completions`) through the limiter:
 * estimated, admitted, sent, settled with the reported usage (from the JSON body or the
 * stream's usage chunk), and retried through the limiter when the provider refuses it. Every
 * other request passes straight through. Give it to any OpenAI-compatible client that takes a
 * custom `fetch`; for the official SDK, {@link withTollgate} does it for you.
 *
 * When retrying stops, the caller gets the provider's last `Response` unchanged, so a client
 * raises its usual error. Tollgate's own failures reject: core's `WaitTimeoutError`,
 * `RequestTooLargeError`, `LimiterClosedError`, and an abort with the signal's reason.
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
    const call = await readCall(input, init);
    if (call.kind === 'pass') return config.fetch(call.input, call.init);
    return sendChat(config, call);
  };
  Object.defineProperty(tollgated, INNER_FETCH, { value: config.fetch });
  return tollgated as typeof fetch;
}

/** The transport under a fetch made by {@link tollgateFetch}; the fetch itself otherwise. */
export function innermostFetch(fetch: FetchLike): FetchLike {
  const inner: unknown = (fetch as { [INNER_FETCH]?: unknown })[INNER_FETCH];
  return typeof inner === 'function' ? (inner as FetchLike) : fetch;
}

async function sendChat(config: Config, call: ChatCall): Promise<Response> {
  const provider = config.provider ?? detectProvider(call.url);
  const { policy, layer } = config.retrierFor(provider);
  const tokens = config.estimate(call.request);
  const attempt = (_: ChatCall, context: CallContext) =>
    sendOnce(config, call, tokens, policy, context);
  try {
    return await layer(attempt)(call, {
      attempt: 1,
      ...(call.signal === undefined ? {} : { signal: call.signal }),
    });
  } catch (error) {
    return lastAnswer(error, call.signal);
  }
}

/**
 * What the caller gets once retrying stops: the provider's last response, unchanged, or the
 * error that stopped it — the original one (a network error, a Tollgate wait error), or the
 * abort reason, as a plain `fetch` rejects with it.
 */
function lastAnswer(error: unknown, signal: AbortSignal | undefined): Response {
  if (isProviderResponseError(error)) return error.response;
  if (isRetryError(error)) {
    if (isRetryError(error, 'TOLLGATE_RETRY_ABORTED')) {
      if (signal?.aborted) throw signal.reason;
      throw error;
    }
    if ('lastError' in error && error.lastError !== undefined) {
      if (isProviderResponseError(error.lastError)) return error.lastError.response;
      throw error.lastError;
    }
  }
  throw error;
}

/** One attempt: a new admission, the send, and the settlement of its permit. */
async function sendOnce(
  config: Config,
  call: ChatCall,
  tokens: number | TokenEstimate,
  policy: RetryPolicy,
  context: CallContext,
): Promise<Response> {
  const { limiter } = config;
  const signal = context.signal;
  // Recorded first: the retry layer pauses or throttles this limiter when the attempt is refused.
  context.limiter = limiter;
  // Ask for admission on a fresh turn of the event loop. A batch submitted at once builds its
  // requests as one long run of microtasks; a permit granted inside that run would wait for
  // the rest of it (and the transport's write too) before its bytes leave — hundreds of ms
  // after the limiter booked it, enough to collide with a request admitted a window later.
  await nextTurn();
  const permit = await limiter.acquire({
    tokens,
    ...(config.priority === undefined ? {} : { priority: config.priority }),
    ...(config.maxWaitMs === undefined ? {} : { maxWaitMs: config.maxWaitMs }),
    ...(signal === undefined ? {} : { signal }),
  });
  context.permit = permit;
  if (signal?.aborted) {
    permit.cancel();
    throw signal.reason;
  }
  let response: Response;
  try {
    response = await config.fetch(call.url, {
      ...call.init,
      body: call.body,
      ...(signal === undefined ? {} : { signal }),
    });
  } catch (error) {
    if (permit.state === 'active') {
      if (neverSent(error)) permit.cancel();
      else permit.settle(); // it may have reached the provider: keep the reservation
    }
    throw error;
  }
  if (config.syncHeaders) await syncRateLimitHeaders(limiter, response.headers, policy);
  if (response.ok) return settleFrom(response, permit, call);
  // A refused request still counts against the provider's windows.
  permit.settle();
  throw new ProviderResponseError(response, await textOf(response));
}

/** Resolves once the event loop has run what was already queued (tasks and microtasks). */
const nextTurn = (): Promise<void> =>
  new Promise((resolve) => {
    if (typeof setImmediate === 'function') setImmediate(resolve);
    else setTimeout(resolve, 0);
  });

/** Settles the permit with the response's usage: at once for JSON, as it streams for SSE. */
async function settleFrom(response: Response, permit: Permit, call: ChatCall): Promise<Response> {
  const settle = (usage: Parameters<Permit['settle']>[0]) => {
    if (permit.state === 'active') permit.settle(usage);
  };
  const contentType = response.headers.get('content-type') ?? '';
  if (response.body !== null && contentType.includes('text/event-stream')) {
    const body = tapUsage(response.body, { strip: call.injectedUsage, onSettle: settle });
    const headers = new Headers(response.headers);
    headers.delete('content-length'); // the usage chunk may be gone
    const tapped = new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
    Object.defineProperty(tapped, 'url', { value: response.url });
    return tapped;
  }
  settle(await readUsage(response));
  return response;
}

/** The body of a clone as text; the response itself stays unread. */
async function textOf(response: Response): Promise<string | undefined> {
  try {
    return await response.clone().text();
  } catch {
    return undefined;
  }
}
