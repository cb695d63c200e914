import { InvalidArgumentError } from '@tollgate/core';
import { type CheckError, checkNumber } from '@tollgate/core/validate';
import type { TollgateCallOptions } from '../call-options.js';

/** A queue priority: any finite number, higher first. */
export const checkPriority = (value: unknown, path: string, error?: CheckError): number =>
  checkNumber(value, path, {}, error);

/** A longest wait for admission, in ms: 0 or more, or `Infinity`. */
export const checkMaxWaitMs = (value: unknown, path: string, error?: CheckError): number =>
  checkNumber(value, path, { min: 0, infinity: true }, error);

/**
 * A call's own options travel as request headers, the one per-call channel every fetch-based
 * client has (the SDK's `create(body, { headers })`). The names are reserved: `tollgateFetch`
 * reads them and deletes every `x-tollgate-*` header before the request is sent.
 */
const PREFIX = 'x-tollgate-';
const HEADERS = {
  priority: `${PREFIX}priority`,
  maxWaitMs: `${PREFIX}max-wait-ms`,
} as const satisfies Record<keyof TollgateCallOptions, string>;

/** The headers that carry `options`, validated (as arguments of `tollgate(...)`). */
export function callHeaders(options: TollgateCallOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  if (options.priority !== undefined) {
    headers[HEADERS.priority] = String(
      checkPriority(options.priority, 'tollgate.priority', InvalidArgumentError),
    );
  }
  if (options.maxWaitMs !== undefined) {
    headers[HEADERS.maxWaitMs] = String(
      checkMaxWaitMs(options.maxWaitMs, 'tollgate.maxWaitMs', InvalidArgumentError),
    );
  }
  return headers;
}

/**
 * The call options the headers carry, read and checked, with every `x-tollgate-*` header
 * deleted from `headers`. A malformed value or an unknown `x-tollgate-*` name (a typo) is an
 * `InvalidArgumentError` naming the header.
 */
export function takeCallOptions(headers: Headers): TollgateCallOptions {
  const reserved = takeReserved(headers);
  const known: ReadonlyArray<string> = Object.values(HEADERS);
  for (const name of reserved.keys()) {
    if (!known.includes(name)) {
      throw new InvalidArgumentError(`unknown Tollgate header (known: ${known.join(', ')})`, name);
    }
  }
  const priority = reserved.get(HEADERS.priority);
  const maxWaitMs = reserved.get(HEADERS.maxWaitMs);
  return {
    ...(priority === undefined
      ? {}
      : { priority: checkPriority(numberIn(priority), HEADERS.priority, InvalidArgumentError) }),
    ...(maxWaitMs === undefined
      ? {}
      : {
          maxWaitMs: checkMaxWaitMs(numberIn(maxWaitMs), HEADERS.maxWaitMs, InvalidArgumentError),
        }),
  };
}

/** Deletes every `x-tollgate-*` header; true when there was one. */
export function dropCallHeaders(headers: Headers): boolean {
  return takeReserved(headers).size > 0;
}

function takeReserved(headers: Headers): Map<string, string> {
  const reserved = new Map<string, string>();
  for (const [name, value] of headers) {
    if (name.startsWith(PREFIX)) reserved.set(name, value);
  }
  for (const name of reserved.keys()) headers.delete(name);
  return reserved;
}

/** The header's number, or its text when it is none (so the check shows what was sent). */
function numberIn(text: string): number | string {
  const value = Number(text);
  return text.trim() === '' || Number.isNaN(value) ? text : value;
}
