import { describe, expect, it } from 'vitest';
import { classify } from '../src/index.js';
import { classifyAs } from './helpers/classify-forms.js';
import {
  APIError,
  OPENAI_BODIES as B,
  openaiBody,
  openaiRateLimitHeaders,
} from './helpers/providers.js';

const FORMS = ['openai-sdk', 'response', 'plain'] as const;
const headersOf = (overrides: Record<string, string> = {}) =>
  Object.fromEntries(openaiRateLimitHeaders(overrides).entries());

describe('OpenAI classification', () => {
  describe.each(FORMS)('from a %s error', (form) => {
    it('classifies a 429 on requests per minute as request-rate, with the hint from the message', async () => {
      const result = await classifyAs(
        form,
        429,
        B.requestsPerMin,
        headersOf({ 'x-ratelimit-remaining-requests': '0' }),
        'openai',
      );
      expect(result).toMatchObject({
        kind: 'request-rate',
        retryable: true,
        provider: 'openai',
        status: 429,
        code: 'rate_limit_exceeded',
        retryAfterMs: 120,
      });
    });

    it('classifies a 429 on tokens per minute as token-rate, with the hint from the message', async () => {
      const result = await classifyAs(
        form,
        429,
        B.tokensPerMin,
        headersOf({ 'x-ratelimit-remaining-tokens': '0' }),
        'openai',
      );
      expect(result).toMatchObject({ kind: 'token-rate', retryable: true, retryAfterMs: 2000 });
    });

    it('classifies insufficient_quota as quota-exhausted (billing): not retryable', async () => {
      const result = await classifyAs(form, 429, B.insufficientQuota, {}, 'openai');
      expect(result).toMatchObject({
        kind: 'quota-exhausted',
        retryable: false,
        code: 'insufficient_quota',
      });
    });

    it.each([
      [401, B.invalidApiKey, 'auth', false],
      [403, B.unsupportedCountry, 'auth', false],
      [400, B.contextLength, 'context-length', false],
      [400, B.invalidValue, 'bad-request', false],
      [404, B.modelNotFound, 'bad-request', false],
      [422, B.invalidValue, 'bad-request', false],
      [408, B.serverError, 'timeout', true],
      [409, B.serverError, 'server', true],
      [500, B.serverError, 'server', true],
      [502, B.serverError, 'server', true],
      [503, B.overloaded, 'server', true],
    ] as const)('classifies %d as %s', async (status, body, kind, retryable) => {
      const result = await classifyAs(form, status, body, {}, 'openai');
      expect(result).toMatchObject({ kind, retryable, status });
    });
  });

  describe('rate_limit_exceeded without a telling type or message', () => {
    const bare = openaiBody('rate_limit_exceeded', 'rate_limit_error', 'Rate limit exceeded.');

    it('is token-rate when x-ratelimit-remaining-tokens is 0, with x-ratelimit-reset-tokens as the hint', async () => {
      const headers = headersOf({
        'x-ratelimit-remaining-tokens': '0',
        'x-ratelimit-reset-tokens': '6m0s',
      });
      const result = await classifyAs('openai-sdk', 429, bare, headers, 'openai');
      expect(result).toMatchObject({ kind: 'token-rate', retryAfterMs: 360_000 });
    });

    it('is request-rate when x-ratelimit-remaining-requests is 0, with x-ratelimit-reset-requests as the hint', async () => {
      const headers = headersOf({
        'x-ratelimit-remaining-requests': '0',
        'x-ratelimit-reset-requests': '1s',
      });
      const result = await classifyAs('response', 429, bare, headers, 'openai');
      expect(result).toMatchObject({ kind: 'request-rate', retryAfterMs: 1000 });
    });

    it('is request-rate by default', () => {
      expect(classify({ status: 429, body: bare }, 'openai')).toMatchObject({
        kind: 'request-rate',
      });
    });
  });

  describe('server hints', () => {
    it('prefers retry-after-ms, then retry-after, over the message and reset headers', async () => {
      const withMs = await classifyAs(
        'openai-sdk',
        429,
        B.tokensPerMin,
        headersOf({ 'retry-after-ms': '1500', 'retry-after': '9' }),
        'openai',
      );
      expect(withMs.retryAfterMs).toBe(1500);
      const withSeconds = await classifyAs(
        'plain',
        429,
        B.tokensPerMin,
        headersOf({ 'retry-after': '9' }),
        'openai',
      );
      expect(withSeconds.retryAfterMs).toBe(9000);
    });

    it('reads retry-after as an HTTP-date relative to the given now', () => {
      const error = APIError.fromResponse(
        503,
        B.overloaded,
        new Headers({ 'retry-after': 'Tue, 21 Oct 2025 07:28:30 GMT' }),
      );
      const result = classify(error, { provider: 'openai', now: Date.UTC(2025, 9, 21, 7, 28, 0) });
      expect(result).toMatchObject({ kind: 'server', retryAfterMs: 30_000 });
    });

    it('ignores malformed hints instead of failing', async () => {
      const headers = headersOf({
        'retry-after-ms': 'NaN',
        'retry-after': 'whenever',
        'x-ratelimit-reset-requests': 'soon',
        'x-ratelimit-remaining-requests': '0',
      });
      const body = openaiBody(
        'rate_limit_exceeded',
        'requests',
        'Rate limit reached for requests. Please try again in a moment.',
      );
      const result = await classifyAs('openai-sdk', 429, body, headers, 'openai');
      expect(result.kind).toBe('request-rate');
      expect(result.retryAfterMs).toBeUndefined();
    });

    it('does not take the reset headers sent on every response as a hint for other errors', async () => {
      const result = await classifyAs('response', 400, B.invalidValue, headersOf(), 'openai');
      expect(result.retryAfterMs).toBeUndefined();
    });
  });

  describe('x-should-retry', () => {
    it('makes a 500 not retryable when the server says false', async () => {
      const result = await classifyAs(
        'openai-sdk',
        500,
        B.serverError,
        { 'x-should-retry': 'false' },
        'openai',
      );
      expect(result).toMatchObject({ kind: 'server', retryable: false });
    });

    it('makes a 400 retryable when the server says true', async () => {
      const result = await classifyAs(
        'response',
        400,
        B.invalidValue,
        { 'x-should-retry': 'true' },
        'openai',
      );
      expect(result).toMatchObject({ kind: 'bad-request', retryable: true });
    });

    it('ignores values other than true and false', async () => {
      const result = await classifyAs(
        'plain',
        500,
        B.serverError,
        { 'x-should-retry': 'maybe' },
        'openai',
      );
      expect(result.retryable).toBe(true);
    });
  });

  it('reads the old "Rate limit reached for requests" message as request-rate', () => {
    const body = openaiBody(
      'rate_limit_exceeded',
      'rate_limit_error',
      'Rate limit reached for requests',
    );
    const headers = new Headers({ 'x-ratelimit-remaining-tokens': '0' });
    expect(classify(APIError.fromResponse(429, body, headers), 'openai').kind).toBe('request-rate');
  });
});
