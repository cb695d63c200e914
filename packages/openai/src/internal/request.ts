import type { ChatRequestLike } from '@tollgate/core';
import type { TollgateCallOptions } from '../call-options.js';
import { dropCallHeaders, takeCallOptions } from './call-headers.js';

/** The parsed JSON body of a chat completion request, as the estimator sees it. */
export type ChatCompletionBody = ChatRequestLike & { readonly [field: string]: unknown };

/** A request that is not a chat completion: sent as it came, less any `x-tollgate-*` header. */
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
  /** This call's own priority and deadline, from its `x-tollgate-*` headers. */
  readonly options: TollgateCallOptions;
}

const CHAT_PATH = /\/chat\/completions\/*$/;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isRequest = (input: string | URL | Request): input is Request =>
  typeof input !== 'string' && !(input instanceof URL);

function urlOf(input: string | URL | Request): string {
  if (isRequest(input)) return input.url;
  return typeof input === 'string' ? input : input.href;
}

function isChatCompletions(url: string): boolean {
  try {
    return CHAT_PATH.test(new URL(url, 'http://localhost').pathname);
  } catch {
    return false;
  }
}

/** The request's headers: the init's, else the `Request` input's. */
function headersOf(input: string | URL | Request, init: RequestInit | undefined): Headers {
  return new Headers(init?.headers ?? (isRequest(input) ? input.headers : undefined));
}

/** `init` for a request sent as it came, without the reserved headers it may carry. */
function passThrough(input: string | URL | Request, init: RequestInit | undefined): PassThrough {
  const headers = headersOf(input, init);
  return dropCallHeaders(headers)
    ? { kind: 'pass', input, init: { ...init, headers } }
    : { kind: 'pass', input, init };
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
    if (!isRequest(input) || input.body === null) return undefined;
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
  const method = (init?.method ?? (isRequest(input) ? input.method : 'GET')).toUpperCase();
  if (method !== 'POST' || !isChatCompletions(url)) return passThrough(input, init);

  const text = await bodyText(input, init);
  // A body read from a one-shot source (a stream) cannot be read again: send the text instead.
  const consumed = isOneShot(init?.body);
  const passText = (): PassThrough =>
    passThrough(input, consumed && text !== undefined ? { ...init, body: text } : init);
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
  const headers = headersOf(input, init);
  headers.delete('content-length');
  const options = takeCallOptions(headers);
  const signal = init?.signal ?? (isRequest(input) ? input.signal : undefined) ?? undefined;
  const { body: _body, signal: _signal, ...rest } = init ?? {};
  return {
    kind: 'chat',
    url,
    init: { ...rest, method: 'POST', headers },
    request,
    text,
    signal,
    options,
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
