/**
 * `@tollgate/retry/headers`: the parsers behind classification's retry hints and the quota
 * feedback, for code that reads provider headers itself. Every parser ignores a malformed
 * header value (returns `undefined`): what a provider sends is never an error. What the caller
 * passes is checked: `headers` that are not an object, a `nowMs` that is not a finite number,
 * or an unknown option throw core's `InvalidArgumentError`.
 */
import { InvalidArgumentError } from '@tollgate/core';
import { checkNumber, checkOneOf, checkOptions, mustBe } from '@tollgate/core/validate';
import { type HeadersLike, readHeader } from './internal/read-header.js';

export type { HeadersLike } from './internal/read-header.js';

/**
 * Parses a `retry-after-ms` value: a non-negative number of milliseconds (`"1500"`, `"12.5"`).
 * Anything else is ignored: returns `undefined`, never throws.
 */
export function parseRetryAfterMs(value: string | null | undefined): number | undefined {
  return parseDecimal(value);
}

/**
 * Parses a `retry-after` value (RFC 9110 §10.2.3): either delay-seconds (`"120"`; fractions are
 * accepted, as openai-node does) or an HTTP-date (`"Wed, 21 Oct 2015 07:28:00 GMT"`, also the
 * obsolete RFC 850 and asctime forms), returned as milliseconds from `nowMs`. A date in the past
 * gives 0. Malformed values give `undefined`, never an exception; a `nowMs` that is not a finite
 * number is the caller's mistake, and throws `InvalidArgumentError`.
 *
 * @example
 * parseRetryAfter('2', Date.now()); // 2000
 */
export function parseRetryAfter(
  value: string | null | undefined,
  nowMs: number,
): number | undefined {
  checkNumber(nowMs, 'nowMs', {}, InvalidArgumentError);
  const seconds = parseDecimal(value);
  if (seconds !== undefined) return seconds * 1000;
  const date = parseHttpDate(value);
  if (date === undefined) return undefined;
  return Math.max(0, date - nowMs);
}

const GO_UNITS_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3, // U+00B5 MICRO SIGN
  μs: 1e-3, // U+03BC GREEK SMALL LETTER MU
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
// One `<number><unit>` segment; `ms` is tried before `m`, so `12ms` is not 12 minutes and an s.
const GO_SEGMENT = /(\d*(?:\.\d*)?)(ns|us|µs|μs|ms|s|m|h)/y;

/**
 * Parses a Go `time.Duration` string, as OpenAI sends in `x-ratelimit-reset-requests` and
 * `x-ratelimit-reset-tokens`: `"1s"`, `"12ms"`, `"6m0s"`, `"1h2m3.5s"`, `"500us"`, `"0"`.
 * Returns milliseconds (fractional below 1 ms). Negative, empty or malformed values give
 * `undefined`.
 *
 * @example
 * parseGoDuration('1h2m3.5s'); // 3_723_500
 */
export function parseGoDuration(value: string | null | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  let text = value.trim();
  if (text.startsWith('+')) text = text.slice(1);
  if (text === '0') return 0;
  if (text === '') return undefined;
  let total = 0;
  GO_SEGMENT.lastIndex = 0;
  while (GO_SEGMENT.lastIndex < text.length) {
    const match = GO_SEGMENT.exec(text);
    if (match === null) return undefined;
    const [, digits = '', unit = ''] = match;
    if (digits === '' || digits === '.') return undefined;
    const factor = GO_UNITS_MS[unit];
    if (factor === undefined) return undefined;
    total += Number(digits) * factor;
  }
  return Number.isFinite(total) ? total : undefined;
}

/** Which rate-limit window's reset to read from OpenAI's `x-ratelimit-reset-*` headers. */
export type RateLimitWindow = 'requests' | 'tokens';
const WINDOWS: ReadonlyArray<RateLimitWindow> = ['requests', 'tokens'];

export interface RetryAfterOptions {
  /** The instant `retry-after` HTTP-dates are measured from. @default Date.now() */
  readonly now?: number;
  /**
   * Also read `x-ratelimit-reset-<window>` (after `retry-after-ms` and `retry-after`, which
   * win). Omitted by default, because OpenAI sends the reset headers on every response, not
   * only on refusals, and they only mean "wait" for the window that ran out.
   */
  readonly window?: RateLimitWindow;
}

/**
 * The server's retry hint in milliseconds, from the first header that parses: `retry-after-ms`,
 * then `retry-after`, then (with `window`) `x-ratelimit-reset-requests` or
 * `x-ratelimit-reset-tokens`. Malformed headers are skipped; `undefined` when none gives a hint.
 *
 * @example
 * retryAfterFromHeaders(response.headers, { window: 'tokens' });
 */
export function retryAfterFromHeaders(
  headers: HeadersLike | null | undefined,
  options: RetryAfterOptions = {},
): number | undefined {
  checkOptions(options, 'retryAfterFromHeaders.options', ['now', 'window'], InvalidArgumentError);
  if (options.window !== undefined) {
    checkOneOf(
      options.window,
      'retryAfterFromHeaders.options.window',
      WINDOWS,
      InvalidArgumentError,
    );
  }
  if (!checkHeaders(headers, 'retryAfterFromHeaders.headers')) return undefined;
  const fromMs = parseRetryAfterMs(readHeader(headers, 'retry-after-ms'));
  if (fromMs !== undefined) return fromMs;
  const now = options.now ?? Date.now();
  const fromRetryAfter = parseRetryAfter(readHeader(headers, 'retry-after'), now);
  if (fromRetryAfter !== undefined) return fromRetryAfter;
  if (options.window === undefined) return undefined;
  return parseGoDuration(readHeader(headers, `x-ratelimit-reset-${options.window}`));
}

/** OpenAI's `x-ratelimit-*` headers, parsed. Fields whose header is absent or malformed are omitted. */
export interface RateLimitHeaders {
  readonly limitRequests?: number;
  readonly limitTokens?: number;
  readonly remainingRequests?: number;
  readonly remainingTokens?: number;
  /** Milliseconds until the request window is back to its full limit. */
  readonly resetRequestsMs?: number;
  /** Milliseconds until the token window is back to its full limit. */
  readonly resetTokensMs?: number;
}

/**
 * Reads OpenAI's six `x-ratelimit-*` headers (providers.md). Returns `undefined` when none is
 * present and well-formed, e.g. on DashScope's compatible mode, which sends none.
 */
export function parseRateLimitHeaders(
  headers: HeadersLike | null | undefined,
): RateLimitHeaders | undefined {
  if (!checkHeaders(headers, 'parseRateLimitHeaders.headers')) return undefined;
  const result: {
    -readonly [K in keyof RateLimitHeaders]: RateLimitHeaders[K];
  } = {};
  const count = (name: string) => parseCount(readHeader(headers, name));
  const set = <K extends keyof RateLimitHeaders>(key: K, value: number | undefined) => {
    if (value !== undefined) result[key] = value;
  };
  set('limitRequests', count('x-ratelimit-limit-requests'));
  set('limitTokens', count('x-ratelimit-limit-tokens'));
  set('remainingRequests', count('x-ratelimit-remaining-requests'));
  set('remainingTokens', count('x-ratelimit-remaining-tokens'));
  set('resetRequestsMs', parseGoDuration(readHeader(headers, 'x-ratelimit-reset-requests')));
  set('resetTokensMs', parseGoDuration(readHeader(headers, 'x-ratelimit-reset-tokens')));
  return Object.keys(result).length === 0 ? undefined : result;
}

/** False for absent headers; throws for a value that cannot be headers at all (a string, say). */
function checkHeaders(headers: unknown, path: string): headers is HeadersLike {
  if (headers === null || headers === undefined) return false;
  if (typeof headers !== 'object') {
    throw new InvalidArgumentError(
      mustBe('headers (a Headers, an object with get(), or a record)', headers),
      path,
    );
  }
  return true;
}

const DECIMAL = /^\d+(?:\.\d+)?$/;

function parseDecimal(value: string | null | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (!DECIMAL.test(text)) return undefined;
  const parsed = Number(text);
  return Number.isFinite(parsed) ? parsed : undefined;
}

function parseCount(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined;
  const parsed = Number(value.trim());
  return Number.isSafeInteger(parsed) ? parsed : undefined;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
// IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
const IMF_FIXDATE = /^[A-Za-z]{3}, (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
// obsolete RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
const RFC_850 = /^[A-Za-z]{6,9}, (\d{2})-([A-Za-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
// obsolete asctime: Sun Nov  6 08:49:37 1994
const ASCTIME = /^[A-Za-z]{3} ([A-Za-z]{3}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

/**
 * The three HTTP-date forms a recipient must accept, parsed by hand: `Date.parse` accepts far
 * more than HTTP allows (`Date.parse('1')` is a date in 2001), which would turn a malformed
 * header into a bogus wait.
 */
function parseHttpDate(value: string | null | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  let parts: [string, string, string, string, string, string] | undefined;
  const imf = IMF_FIXDATE.exec(text);
  if (imf !== null) {
    parts = [imf[3]!, imf[2]!, imf[1]!, imf[4]!, imf[5]!, imf[6]!];
  } else {
    const rfc850 = RFC_850.exec(text);
    if (rfc850 !== null) {
      // RFC 9110: a two-digit year more than 50 years in the future is in the past century.
      const twoDigits = Number(rfc850[3]);
      const year = twoDigits + (twoDigits + 2000 > new Date().getUTCFullYear() + 50 ? 1900 : 2000);
      parts = [String(year), rfc850[2]!, rfc850[1]!, rfc850[4]!, rfc850[5]!, rfc850[6]!];
    } else {
      const asctime = ASCTIME.exec(text);
      if (asctime !== null) {
        parts = [
          asctime[6]!,
          asctime[1]!,
          asctime[2]!.trim(),
          asctime[3]!,
          asctime[4]!,
          asctime[5]!,
        ];
      }
    }
  }
  if (parts === undefined) return undefined;
  const [year, monthName, day, hours, minutes, seconds] = parts;
  const month = MONTHS.indexOf(monthName.toLowerCase());
  const values = [Number(year), Number(day), Number(hours), Number(minutes), Number(seconds)];
  const [y = 0, d = 0, h = 0, min = 0, s = 0] = values;
  if (month < 0 || d < 1 || d > 31 || h > 23 || min > 59 || s > 60) return undefined;
  const time = Date.UTC(y, month, d, h, min, s);
  // Reject dates that roll over (31 Feb becomes 3 Mar with Date.UTC).
  if (new Date(time).getUTCDate() !== d) return undefined;
  return time;
}
