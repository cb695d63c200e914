import { type CallOutcome, ConfigurationError } from '@tollgate/core';
import { describe, expect, it } from 'vitest';
import { createClassifier, type QuotaFeedbackOptions, quotaFeedback } from '../src/index.js';
import {
  APIError,
  dashscopeCompatibleBody,
  jsonResponse,
  DASHSCOPE_MESSAGES as M,
  OPENAI_BODIES,
  openaiRateLimitHeaders,
} from './helpers/providers.js';

const refused = (error: unknown): CallOutcome<unknown> => ({ ok: false, error });
const answered = (response: unknown): CallOutcome<unknown> => ({ ok: true, response });
const dashscope429 = (code: string, message: string) =>
  APIError.fromResponse(429, dashscopeCompatibleBody(code, message), new Headers());
const verdict = (outcome: CallOutcome<unknown>, options: QuotaFeedbackOptions = {}) =>
  quotaFeedback({ provider: 'dashscope', ...options })(outcome);

describe('quotaFeedback: what a refusal says about the quota', () => {
  it('pauses for defaultPauseMs on a rate refusal without a hint (DashScope sends none)', async () => {
    expect(await verdict(refused(dashscope429('limit_requests', M.rateQuota)))).toEqual({
      pauseMs: 1_000,
      widenMargin: true,
    });
    expect(
      await verdict(refused(dashscope429('insufficient_quota', M.allocationQuota)), {
        defaultPauseMs: 3_000,
      }),
    ).toEqual({ pauseMs: 3_000, widenMargin: true });
  });

  it("pauses for the provider's hint: headers, or the window's reset on OpenAI", async () => {
    const hinted = APIError.fromResponse(
      429,
      OPENAI_BODIES.requestsPerMin,
      new Headers({ 'retry-after-ms': '1500' }),
    );
    expect(await verdict(refused(hinted), { provider: 'openai' })).toEqual({
      pauseMs: 1_500,
      widenMargin: true,
    });
    const tokens = APIError.fromResponse(
      429,
      { error: { code: 'rate_limit_exceeded', type: 'tokens', message: 'Rate limit exceeded.' } },
      openaiRateLimitHeaders({ 'x-ratelimit-reset-tokens': '2.5s' }),
    );
    expect(await verdict(refused(tokens), { provider: 'openai' })).toEqual({
      pauseMs: 2_500,
      widenMargin: true,
    });
  });

  it('pauses no longer than maxPauseMs, whatever the hint', async () => {
    const long = APIError.fromResponse(
      429,
      OPENAI_BODIES.requestsPerMin,
      new Headers({ 'retry-after': '600' }),
    );
    expect(await verdict(refused(long), { provider: 'openai', maxPauseMs: 20_000 })).toEqual({
      pauseMs: 20_000,
      widenMargin: true,
    });
  });

  it('asks for a wider margin on a rate refusal only, unless told not to', async () => {
    const rate = refused(dashscope429('limit_requests', M.rateQuota));
    expect(await verdict(rate, { widenMargin: false, defaultPauseMs: 0 })).toBeUndefined();
    expect(await verdict(rate, { defaultPauseMs: 0 })).toEqual({ widenMargin: true });
    const burst = refused(dashscope429('limit_burst_rate', M.burstRate));
    expect((await verdict(burst))?.widenMargin).toBeUndefined();
  });

  it('throttles on a burst refusal, as configured, or not at all', async () => {
    const burst = refused(dashscope429('limit_burst_rate', M.burstRate));
    expect(await verdict(burst)).toEqual({ throttle: { factor: 0.5, durationMs: 60_000 } });
    expect(await verdict(burst, { burstThrottle: { factor: 0.25, durationMs: 5_000 } })).toEqual({
      throttle: { factor: 0.25, durationMs: 5_000 },
    });
    expect(await verdict(burst, { burstThrottle: false })).toBeUndefined();
  });

  it('says nothing of refusals that are not about the rate', async () => {
    expect(await verdict(refused(dashscope429('insufficient_quota', M.freeQuota)))).toBeUndefined();
    expect(await verdict(refused(new TypeError('boom')))).toBeUndefined();
    expect(
      await verdict(refused(APIError.fromResponse(500, OPENAI_BODIES.serverError, new Headers()))),
    ).toBeUndefined();
  });

  it("classifies with the provider's table: insufficient_quota is a TPM throttle on DashScope only", async () => {
    const error = dashscope429('insufficient_quota', M.allocationQuota);
    expect(await verdict(refused(error))).toEqual({ pauseMs: 1_000, widenMargin: true });
    expect(await verdict(refused(error), { provider: 'openai' })).toBeUndefined();
    const classifier = createClassifier({ provider: 'openai' });
    expect(await quotaFeedback({ classifier })(refused(error))).toBeUndefined();
  });

  it('reads the body of a fetch Response it is given, leaving the response unread', async () => {
    const response = jsonResponse(429, dashscopeCompatibleBody('limit_requests', M.rateQuota));
    expect(await verdict(refused(response))).toEqual({ pauseMs: 1_000, widenMargin: true });
    expect(response.bodyUsed).toBe(false);
  });
});

describe('quotaFeedback: rate-limit headers on any answer', () => {
  const withHeaders = (overrides: Record<string, string>) =>
    jsonResponse(200, { id: 'x' }, Object.fromEntries(openaiRateLimitHeaders(overrides)));

  it('pauses until the reset of a window whose remaining count is 0, the later of two', async () => {
    expect(await verdict(answered(withHeaders({ 'x-ratelimit-remaining-requests': '0' })))).toEqual(
      { pauseMs: 120 },
    );
    expect(
      await verdict(
        answered(
          withHeaders({
            'x-ratelimit-remaining-requests': '0',
            'x-ratelimit-remaining-tokens': '0',
          }),
        ),
      ),
    ).toEqual({ pauseMs: 4_000 });
  });

  it('leaves the quota alone while something remains, or with headers off', async () => {
    expect(await verdict(answered(withHeaders({})))).toBeUndefined();
    expect(
      await verdict(answered(withHeaders({ 'x-ratelimit-remaining-tokens': '0' })), {
        headers: false,
      }),
    ).toBeUndefined();
    expect(await verdict(answered({ id: 'no headers' }))).toBeUndefined();
  });

  it('takes the longer of a header pause and a hint on one refusal', async () => {
    const error = APIError.fromResponse(
      429,
      { error: { code: 'rate_limit_exceeded', type: 'requests', message: 'Rate limit exceeded.' } },
      openaiRateLimitHeaders({
        'x-ratelimit-remaining-tokens': '0',
        'x-ratelimit-reset-tokens': '9s',
        'retry-after-ms': '700',
      }),
    );
    expect(await verdict(refused(error), { provider: 'openai' })).toEqual({
      pauseMs: 9_000,
      widenMargin: true,
    });
  });
});

describe('quotaFeedback options', () => {
  it.each<[QuotaFeedbackOptions, string]>([
    [{ defaultPauseMs: -1 }, 'quotaFeedback.defaultPauseMs'],
    [{ maxPauseMs: Number.NaN }, 'quotaFeedback.maxPauseMs'],
    [{ burstThrottle: { factor: 0 } }, 'quotaFeedback.burstThrottle.factor'],
    [{ burstThrottle: { durationMs: 0 } }, 'quotaFeedback.burstThrottle.durationMs'],
    [{ headers: 'yes' as never }, 'quotaFeedback.headers'],
    [{ widenMargin: 1 as never }, 'quotaFeedback.widenMargin'],
    [{ pauseOnRateLimit: true } as never, 'quotaFeedback.pauseOnRateLimit'],
    [{ classifier: 3 as never }, 'quotaFeedback.classifier'],
    [{ provider: 'azure' as never }, 'quotaFeedback.provider'],
  ])('rejects %j, naming the option', (options, option) => {
    expect(() => quotaFeedback(options)).toThrow(ConfigurationError);
    expect(() => quotaFeedback(options)).toThrow(expect.objectContaining({ option }));
  });
});
