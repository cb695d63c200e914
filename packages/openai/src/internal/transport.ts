import type { Call, CallAccount, Layer, Usage } from '@tollgate/core';
import { ProviderResponseError } from '../errors.js';
import type { FetchLike } from '../options.js';
import { sendingWith } from './departure.js';
import { bodyToSend, type ChatCall, type ChatCompletionBody } from './request.js';
import { tapUsage } from './sse.js';
import { readUsage } from './usage.js';

/** What the transport hands `limit()`: the response, and its usage once it is known. */
export interface Answer {
  readonly response: Response;
  /** Read from a clone for JSON, before the response goes up; a promise for a stream. */
  readonly usage: Usage | undefined | Promise<Usage | undefined>;
}

/**
 * Sends one attempt of a chat completion: the body it is given, to the context's model and
 * with the context's account (base URL, key, organization, headers) when a layer set them;
 * the permit's booking moves to the instant the request is written (see `departure.ts`).
 * A non-2xx answer is thrown as a {@link ProviderResponseError}, for the layers above to
 * classify; a 2xx answer comes back with its usage.
 */
export function transport(fetch: FetchLike, call: ChatCall): Call<ChatCompletionBody, Answer> {
  return async (request, context) => {
    const { text, stripUsage } = bodyToSend(call, request, context.model);
    const { account, signal, permit } = context;
    const response = await sendingWith(permit, () =>
      fetch(urlFor(call.url, account), {
        ...call.init,
        headers: headersFor(call.init.headers, account),
        body: text,
        ...(signal === undefined ? {} : { signal }),
      }),
    );
    if (!response.ok) throw new ProviderResponseError(response, await textOf(response));
    return answerOf(response, stripUsage);
  };
}

/**
 * Asks the layers below on a fresh turn of the event loop. A batch submitted at once builds
 * its requests as one long run of microtasks; a permit granted inside that run would wait for
 * the rest of it (and the transport's write too) before its bytes leave — hundreds of ms after
 * the limiter booked it, enough to collide with a request admitted a window later.
 */
export const freshTurn: Layer<ChatCompletionBody, Response> =
  (next) => async (request, context) => {
    await new Promise<void>((resolve) => {
      if (typeof setImmediate === 'function') setImmediate(resolve);
      else setTimeout(resolve, 0);
    });
    return next(request, context);
  };

const CHAT_SUFFIX = /\/chat\/completions\/*$/;

function urlFor(url: string, account: CallAccount | undefined): string {
  if (account?.baseURL === undefined) return url;
  const { pathname, search } = new URL(url);
  const suffix = CHAT_SUFFIX.exec(pathname)?.[0] ?? '/chat/completions';
  return `${account.baseURL.replace(/\/+$/, '')}${suffix}${search}`;
}

function headersFor(headers: Headers, account: CallAccount | undefined): Headers {
  if (account === undefined) return headers;
  const merged = new Headers(headers);
  if (account.apiKey !== undefined) merged.set('authorization', `Bearer ${account.apiKey}`);
  if (account.organization !== undefined) merged.set('openai-organization', account.organization);
  for (const [name, value] of Object.entries(account.headers ?? {})) merged.set(name, value);
  return merged;
}

/** The usage of a 2xx answer: from the JSON body, or tapped from the stream as it passes. */
async function answerOf(response: Response, stripUsage: boolean): Promise<Answer> {
  const contentType = response.headers.get('content-type') ?? '';
  if (response.body === null || !contentType.includes('text/event-stream')) {
    return { response, usage: await readUsage(response) };
  }
  let settle: (usage: Usage | undefined) => void = () => {};
  const usage = new Promise<Usage | undefined>((resolve) => {
    settle = resolve;
  });
  const body = tapUsage(response.body, { strip: stripUsage, onSettle: settle });
  const headers = new Headers(response.headers);
  headers.delete('content-length'); // the usage chunk may be gone
  const tapped = new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
  Object.defineProperty(tapped, 'url', { value: response.url });
  return { response: tapped, usage };
}

/** The body of a clone as text; the response itself stays unread. */
async function textOf(response: Response): Promise<string | undefined> {
  try {
    return await response.clone().text();
  } catch {
    return undefined;
  }
}
