import type { ChatRequestLike } from '@tollgate/core';

/** The parsed JSON body of a chat completion request, as the estimator sees it. */
export type ChatCompletionBody = ChatRequestLike & { readonly [field: string]: unknown };

/** A request that is not a chat completion: sent as it came. */
export interface PassThrough {
  readonly kind: 'pass';
  readonly input: string | URL | Request;
  readonly init: RequestInit | undefined;
}

/** A chat completion, read once and sent (perhaps several times) with `init` and `body`. */
export interface ChatCall {
  readonly kind: 'chat';
  readonly url: string;
  /** Everything but the body: method, headers, signal and any other fetch options. */
  readonly init: RequestInit;
  /** The body as the caller wrote it. */
  readonly request: ChatCompletionBody;
  /** The body sent: the caller's, with `stream_options.include_usage` added when injected. */
  readonly body: string;
  /** Tollgate added `include_usage` to a streaming request: strip the usage chunk. */
  readonly injectedUsage: boolean;
  readonly signal: AbortSignal | undefined;
}

const CHAT_PATH = /\/chat\/completions\/*$/;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function urlOf(input: string | URL | Request): string {
  if (typeof input === 'string') return input;
  if (input instanceof URL) return input.href;
  return input.url;
}

function isChatCompletions(url: string): boolean {
  try {
    return CHAT_PATH.test(new URL(url, 'http://localhost').pathname);
  } catch {
    return false;
  }
}

function isOneShot(body: RequestInit['body']): boolean {
  if (typeof body !== 'object' || body === null) return false;
  return body instanceof ReadableStream || Symbol.asyncIterator in body;
}

/** The body as text; `undefined` when there is none. Reads a `Request` input through a clone. */
async function bodyText(
  input: string | URL | Request,
  init: RequestInit | undefined,
): Promise<string | undefined> {
  const body = init?.body;
  if (body === undefined || body === null) {
    if (typeof input === 'string' || input instanceof URL || input.body === null) return undefined;
    return input.clone().text();
  }
  if (typeof body === 'string') return body;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) {
    return new TextDecoder().decode(body);
  }
  // Blob, URLSearchParams, FormData, a stream…: let the platform read it.
  return new Response(body).text();
}

/**
 * Decides whether a fetch call is a chat completion (`POST …/chat/completions` with a JSON
 * object body) and, if it is, reads what the limiter and the sender need.
 */
export async function readCall(
  input: string | URL | Request,
  init: RequestInit | undefined,
): Promise<PassThrough | ChatCall> {
  const url = urlOf(input);
  const inputIsRequest = typeof input !== 'string' && !(input instanceof URL);
  const method = (init?.method ?? (inputIsRequest ? input.method : 'GET')).toUpperCase();
  if (method !== 'POST' || !isChatCompletions(url)) return { kind: 'pass', input, init };

  const text = await bodyText(input, init);
  // A body read from a one-shot source (a stream) cannot be read again: send the text instead.
  const consumed = isOneShot(init?.body);
  const passText = (): PassThrough => ({
    kind: 'pass',
    input,
    init: consumed && text !== undefined ? { ...init, body: text } : init,
  });
  if (text === undefined) return passText();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return passText();
  }
  if (!isRecord(parsed)) return passText();
  const request = parsed as ChatCompletionBody;

  const streamOptions = isRecord(request.stream_options) ? request.stream_options : undefined;
  const injectedUsage = request.stream === true && streamOptions?.include_usage !== true;
  const body = injectedUsage
    ? JSON.stringify({ ...request, stream_options: { ...streamOptions, include_usage: true } })
    : text;

  const headers = new Headers(init?.headers ?? (inputIsRequest ? input.headers : undefined));
  if (body !== text || consumed) headers.delete('content-length');
  const signal = init?.signal ?? (inputIsRequest ? input.signal : undefined) ?? undefined;
  const { body: _body, signal: _signal, ...rest } = init ?? {};
  return {
    kind: 'chat',
    url,
    init: { ...rest, method: 'POST', headers },
    request,
    body,
    injectedUsage,
    signal,
  };
}
