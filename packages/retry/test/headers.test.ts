import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseGoDuration,
  parseRateLimitHeaders,
  parseRetryAfter,
  parseRetryAfterMs,
  retryAfterFromHeaders,
} from '../src/headers.js';

const NOW = Date.UTC(2025, 9, 21, 7, 28, 0); // Tue, 21 Oct 2025 07:28:00 GMT

describe('parseRetryAfterMs', () => {
  it.each([
    ['0', 0],
    ['1500', 1500],
    ['12.5', 12.5],
    [' 20 ', 20],
  ])('reads %j as %d ms', (value, expected) => {
    expect(parseRetryAfterMs(value)).toBe(expected);
  });

  it.each(['', 'soon', '-5', '1e3', '0x10', '1,5', 'Infinity', '12ms', null, undefined])(
    'ignores the malformed value %j',
    (value) => {
      expect(parseRetryAfterMs(value)).toBeUndefined();
    },
  );
});

describe('parseRetryAfter', () => {
  it('reads delay-seconds, fractions included', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter('0', NOW)).toBe(0);
    expect(parseRetryAfter('1.5', NOW)).toBe(1500);
  });

  it('reads an IMF-fixdate relative to the injected now', () => {
    expect(parseRetryAfter('Tue, 21 Oct 2025 07:28:30 GMT', NOW)).toBe(30_000);
  });

  it('reads the obsolete RFC 850 and asctime forms', () => {
    expect(parseRetryAfter('Tuesday, 21-Oct-25 07:29:00 GMT', NOW)).toBe(60_000);
    expect(parseRetryAfter('Tue Oct 21 07:28:05 2025', NOW)).toBe(5_000);
    expect(parseRetryAfter('Sat Nov  1 07:28:00 2025', NOW)).toBe(11 * 24 * 3_600_000);
  });

  it('turns a date in the past into 0, not a negative wait', () => {
    expect(parseRetryAfter('Tue, 21 Oct 2025 07:00:00 GMT', NOW)).toBe(0);
  });

  it.each([
    '',
    'later',
    '-1',
    '1e2',
    '2025-10-21T07:28:30Z', // ISO 8601 is not an HTTP-date
    'Tue, 31 Feb 2025 07:28:30 GMT', // no such day
    'Tue, 21 Oct 2025 25:28:30 GMT',
    'Tue, 21 Foo 2025 07:28:30 GMT',
    'Tue, 21 Oct 2025 07:28:30 PST',
  ])('ignores the malformed value %j without throwing', (value) => {
    expect(parseRetryAfter(value, NOW)).toBeUndefined();
  });

  it("reads '1' as one second, where Date.parse would see a date in 2001", () => {
    expect(parseRetryAfter('1', NOW)).toBe(1000);
  });

  it('never throws and never returns a negative or non-finite wait, whatever the input', () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        const parsed = parseRetryAfter(value, NOW);
        if (parsed !== undefined) {
          expect(Number.isFinite(parsed)).toBe(true);
          expect(parsed).toBeGreaterThanOrEqual(0);
        }
      }),
    );
  });
});

describe('parseGoDuration', () => {
  it.each([
    ['1s', 1000],
    ['12ms', 12],
    ['6m0s', 360_000],
    ['1h2m3.5s', 3_723_500],
    ['500us', 0.5],
    ['500µs', 0.5], // U+00B5 micro sign
    ['500μs', 0.5], // U+03BC Greek mu
    ['250000ns', 0.25],
    ['0', 0],
    ['0s', 0],
    ['+2s', 2000],
    ['.5s', 500],
    ['1.s', 1000],
    ['2h', 7_200_000],
    ['1m30s', 90_000],
  ])('reads %j as %d ms', (value, expected) => {
    expect(parseGoDuration(value)).toBeCloseTo(expected, 9);
  });

  it.each([
    '',
    's',
    '1',
    '1x',
    '-1s',
    '1h-2m',
    '.s',
    '1 s',
    'ms',
    '1sec',
    '1.2.3s',
    'abc',
    null,
    undefined,
  ])('ignores the malformed value %j', (value) => {
    expect(parseGoDuration(value)).toBeUndefined();
  });

  it('adds up any composition of h, m, s and ms', () => {
    fc.assert(
      fc.property(fc.nat(48), fc.nat(59), fc.nat(59), fc.nat(999), (h, m, s, ms) => {
        expect(parseGoDuration(`${h}h${m}m${s}s${ms}ms`)).toBe(((h * 60 + m) * 60 + s) * 1000 + ms);
      }),
    );
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        const parsed = parseGoDuration(value);
        expect(parsed === undefined || parsed >= 0).toBe(true);
      }),
    );
  });
});

describe('retryAfterFromHeaders', () => {
  it('prefers retry-after-ms over retry-after', () => {
    const headers = new Headers({ 'retry-after-ms': '750', 'retry-after': '3' });
    expect(retryAfterFromHeaders(headers, { now: NOW })).toBe(750);
  });

  it('falls back to retry-after when retry-after-ms is malformed', () => {
    const headers = new Headers({ 'retry-after-ms': 'soon', 'retry-after': '3' });
    expect(retryAfterFromHeaders(headers, { now: NOW })).toBe(3000);
  });

  it('reads an HTTP-date retry-after relative to now', () => {
    const headers = { 'Retry-After': 'Tue, 21 Oct 2025 07:28:10 GMT' };
    expect(retryAfterFromHeaders(headers, { now: NOW })).toBe(10_000);
  });

  it('reads the x-ratelimit-reset header of the window asked for, and only then', () => {
    const headers = new Headers({
      'x-ratelimit-reset-requests': '1s',
      'x-ratelimit-reset-tokens': '6m0s',
    });
    expect(retryAfterFromHeaders(headers, { now: NOW })).toBeUndefined();
    expect(retryAfterFromHeaders(headers, { now: NOW, window: 'requests' })).toBe(1000);
    expect(retryAfterFromHeaders(headers, { now: NOW, window: 'tokens' })).toBe(360_000);
  });

  it('reads plain records case-insensitively, arrays and numbers included', () => {
    expect(retryAfterFromHeaders({ 'RETRY-AFTER-MS': ['40', '50'] })).toBe(40);
    expect(retryAfterFromHeaders({ 'retry-after': 2 })).toBe(2000);
  });

  it('gives undefined for absent or malformed headers', () => {
    expect(retryAfterFromHeaders(undefined)).toBeUndefined();
    expect(retryAfterFromHeaders(new Headers())).toBeUndefined();
    expect(
      retryAfterFromHeaders(
        new Headers({ 'retry-after': 'tomorrow', 'x-ratelimit-reset-tokens': '6 minutes' }),
        {
          window: 'tokens',
        },
      ),
    ).toBeUndefined();
  });
});

describe('parseRateLimitHeaders', () => {
  it("reads OpenAI's six x-ratelimit headers", () => {
    const headers = new Headers({
      'x-ratelimit-limit-requests': '500',
      'x-ratelimit-limit-tokens': '30000',
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-remaining-tokens': '29500',
      'x-ratelimit-reset-requests': '120ms',
      'x-ratelimit-reset-tokens': '1s',
    });
    expect(parseRateLimitHeaders(headers)).toEqual({
      limitRequests: 500,
      limitTokens: 30_000,
      remainingRequests: 0,
      remainingTokens: 29_500,
      resetRequestsMs: 120,
      resetTokensMs: 1000,
    });
  });

  it('omits malformed fields and returns undefined when nothing is there (DashScope)', () => {
    expect(
      parseRateLimitHeaders({
        'x-ratelimit-limit-requests': 'many',
        'x-ratelimit-reset-tokens': '2s',
      }),
    ).toEqual({ resetTokensMs: 2000 });
    expect(
      parseRateLimitHeaders(new Headers({ 'content-type': 'application/json' })),
    ).toBeUndefined();
  });
});
