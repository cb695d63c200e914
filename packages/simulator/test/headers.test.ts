import { parseGoDuration } from '@tollgate/retry/headers';
import { describe, expect, it } from 'vitest';
import { chat, start } from './helpers.js';

const RATE_LIMIT_HEADERS = [
  'x-ratelimit-limit-requests',
  'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-requests',
  'x-ratelimit-reset-tokens',
];
const body = { model: 'm', messages: [{ role: 'user', content: 'hello' }], max_tokens: 92 };
const models = { m: { rpm: 3, tpm: 1000, rps: false, tps: false, burst: false } } as const;

describe('OpenAI mode headers', () => {
  it('reports limit, remaining and reset (Go durations) of the per-minute windows on every chat response', async () => {
    const simulator = await start({ mode: 'openai', models });
    const first = await chat(simulator, { body });
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit-requests')).toBe('3');
    expect(first.headers.get('x-ratelimit-remaining-requests')).toBe('2');
    expect(first.headers.get('x-ratelimit-limit-tokens')).toBe('1000');
    // 8 prompt + 92 max_tokens booked.
    expect(first.headers.get('x-ratelimit-remaining-tokens')).toBe('900');
    for (const name of ['x-ratelimit-reset-requests', 'x-ratelimit-reset-tokens']) {
      const value = first.headers.get(name) ?? '';
      expect(value).toMatch(/^(\d+m)?[\d.]+m?s$/);
      const ms = parseGoDuration(value) ?? Number.NaN;
      expect(ms).toBeGreaterThan(55_000);
      expect(ms).toBeLessThanOrEqual(60_000);
    }
    expect(first.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
    expect(first.headers.get('retry-after')).toBeNull();
  });

  it('adds retry-after and retry-after-ms to 429s, and shows the window as used up', async () => {
    const simulator = await start({ mode: 'openai', models });
    for (let i = 0; i < 3; i++) await (await chat(simulator, { body })).arrayBuffer();
    const refused = await chat(simulator, { body });
    expect(refused.status).toBe(429);
    const retryAfterMs = Number(refused.headers.get('retry-after-ms'));
    expect(retryAfterMs).toBeGreaterThan(55_000);
    expect(retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(refused.headers.get('retry-after')).toBe(String(Math.ceil(retryAfterMs / 1000)));
    expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(refused.headers.get('x-ratelimit-remaining-tokens')).toBe('700');
  });

  it('sends the headers on 400s of a known model too, but not on 401s', async () => {
    const simulator = await start({ mode: 'openai', models });
    const tooLarge = await chat(simulator, { body: { ...body, max_tokens: 100_000 } });
    expect(tooLarge.status).toBe(400);
    expect(tooLarge.headers.get('x-ratelimit-limit-requests')).toBe('3');
    const unauthorized = await chat(simulator, { key: 'sk-nope' });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get('x-ratelimit-limit-requests')).toBeNull();
  });

  it('falls back to the per-second windows when a model has no per-minute ones', async () => {
    const simulator = await start({
      mode: 'openai',
      models: { m: { rps: 5, tps: 500, burst: false } },
    });
    const response = await chat(simulator, { body });
    expect(response.headers.get('x-ratelimit-limit-requests')).toBe('5');
    expect(response.headers.get('x-ratelimit-remaining-tokens')).toBe('400');
  });
});

describe('DashScope mode headers', () => {
  it('sends no rate-limit or retry-after headers, on success or refusal', async () => {
    const simulator = await start({ models });
    const responses = [];
    for (let i = 0; i < 4; i++) responses.push(await chat(simulator, { body }));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    for (const response of responses) {
      for (const name of [...RATE_LIMIT_HEADERS, 'retry-after', 'retry-after-ms']) {
        expect(response.headers.get(name)).toBeNull();
      }
    }
  });
});
