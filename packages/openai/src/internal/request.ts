import type { ChatRequestLike } from '@tollgate/core';

/** The parsed JSON body of a chat completion request, as the estimator sees it. */
export type ChatCompletionBody = ChatRequestLike & { readonly [field: string]: unknown };

/** A request that is not a chat completion: sent as it came. */
export interface PassThrough {
  readonly kind: 'pass';
  readonly input: string | URL | Request;
  readonly init: RequestInit | undefined;
}

/** A chat completion, read once and sent (perhaps several times) with `init`. */
export interface ChatCall {
  readonly kind: 'chat';
  readonly url: string;
  /** Everything but the body and signal: method, headers and any other fetch options. */
  readonly init: RequestInit & { readonly headers: Headers };
  /** The body as the caller wrote it, parsed. */
  readonly request: ChatCompletionBody;
  /** The body as the caller wrote it. */
  readonly text: string;
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

  // The body sent may differ from the caller's (usage asked for, another model): the
  // transport lets fetch count it.
  const headers = new Headers(init?.headers ?? (inputIsRequest ? input.headers : undefined));
  headers.delete('content-length');
  const signal = init?.signal ?? (inputIsRequest ? input.signal : undefined) ?? undefined;
  const { body: _body, signal: _signal, ...rest } = init ?? {};
  return {
    kind: 'chat',
    url,
    init: { ...rest, method: 'POST', headers },
    request,
    text,
    signal,
  };
}

/**
 * The text to send for `request` (the caller's, or what a layer passed down) to `model`: with
 * `stream_options.include_usage` added to a stream that did not ask for it, since the limiter
 * needs the usage — `stripUsage` then says to remove the usage chunk from what the caller
 * reads. The caller's own text when nothing changed.
 */
export function bodyToSend(
  call: ChatCall,
  request: ChatCompletionBody,
  model: string | undefined,
): { readonly text: string; readonly stripUsage: boolean } {
  const streamOptions = isRecord(request.stream_options) ? request.stream_options : undefined;
  const stripUsage = request.stream === true && streamOptions?.include_usage !== true;
  if (!stripUsage && model === undefined && request === call.request) {
    return { text: call.text, stripUsage };
  }
  const sent = {
    ...request,
    ...(model === undefined ? {} : { model }),
    ...(stripUsage ? { stream_options: { ...streamOptions, include_usage: true } } : {}),
  };
  return { text: JSON.stringify(sent), stripUsage };
}
