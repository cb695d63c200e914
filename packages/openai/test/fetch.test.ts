import { isTollgateError, type Usage } from '@tollgate/core';
import { presets } from '@tollgate/simulator';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { tollgateFetch } from '../src/index.js';
import { limiterFor, prompt, simulator, user } from './helpers.js';

const QWEN3_MAX = { rpm: 600, tpm: 1_000_000, rps: 10, tps: 16_667 } as const;

const post = (apiKey: string, body: object): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
  body: JSON.stringify(body),
});

describe('tollgateFetch with plain fetch', () => {
  it('admits and settles a chat completion, returning the response unread', async () => {
    const sim = await simulator({ ...presets.qwen3Max, timeScale: 10, accounting: 'actual' });
    const limiter = limiterFor(sim, { ...QWEN3_MAX, accounting: 'actual' });
    const settled: Array<Usage | undefined> = [];
    limiter.on('settled', ({ usage }) => settled.push(usage));
    const fetch = tollgateFetch({ limiter, retry: { provider: 'dashscope', clock: sim.clock } });
    const request = { model: 'qwen3-max', messages: user(prompt(50)), max_tokens: 300 };

    const response = await fetch(
      `${sim.url.replace('/v1', '/compatible-mode/v1')}/chat/completions`,
      post(sim.apiKey, request),
    );

    expect(response.status).toBe(200);
    expect(response.bodyUsed).toBe(false);
    const body = (await response.json()) as OpenAI.Chat.Completions.ChatCompletion;
    const promptTokens = sim.promptTokens(request.messages);
    const completionTokens = sim.completionTokens(request);
    expect(body.usage?.total_tokens).toBe(promptTokens + completionTokens);
    expect(settled).toEqual([
      { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens },
    ]);
    const snapshot = await limiter.snapshot();
    const perMinute = snapshot.windows.filter((w) => w.windowMs === 60_000);
    expect(perMinute.map((w) => [w.name, w.used])).toEqual([
      ['requests/1m', 1],
      ['tokens/1m', promptTokens + completionTokens],
    ]);
  });

  it('reads a Request object the same way', async () => {
    const sim = await simulator({ ...presets.qwen3Max, timeScale: 10 });
    const limiter = limiterFor(sim, QWEN3_MAX);
    const fetch = tollgateFetch({ limiter, retry: { provider: 'dashscope', clock: sim.clock } });
    const request = new Request(
      `${sim.url}/chat/completions`,
      post(sim.apiKey, {
        model: 'qwen3-max',
        messages: user('Hi'),
        max_tokens: 100,
      }),
    );
    const response = await fetch(request);
    expect(response.status).toBe(200);
    expect((await limiter.snapshot()).windows.find((w) => w.name === 'requests/1m')?.used).toBe(1);
  });

  it('streams the SSE text without the usage chunk it asked for', async () => {
    const sim = await simulator({ ...presets.qwen3Max, timeScale: 10 });
    const limiter = limiterFor(sim, QWEN3_MAX);
    const settled: Array<Usage | undefined> = [];
    limiter.on('settled', ({ usage }) => settled.push(usage));
    const fetch = tollgateFetch({ limiter, retry: { provider: 'dashscope', clock: sim.clock } });
    const request = { model: 'qwen3-max', messages: user(prompt(30)), max_tokens: 200 };

    const response = await fetch(
      `${sim.url}/chat/completions`,
      post(sim.apiKey, { ...request, stream: true }),
    );

    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const text = await response.text();
    const data = [...text.matchAll(/^data: (.*)$/gm)].map((match) => match[1]!);
    expect(data.at(-1)).toBe('[DONE]');
    expect(
      data
        .slice(0, -1)
        .every((line) => (JSON.parse(line) as { choices: unknown[] }).choices.length === 1),
    ).toBe(true);
    expect(settled).toHaveLength(1);
    expect(settled[0]?.completionTokens).toBe(sim.completionTokens(request));
  });

  it('books what a custom estimate says', async () => {
    const sim = await simulator({ ...presets.qwen3Max, timeScale: 10 });
    const limiter = limiterFor(sim, QWEN3_MAX);
    const seen: unknown[] = [];
    const fetch = tollgateFetch({
      limiter,
      estimate: (body) => {
        seen.push(body.model);
        return 777;
      },
    });
    const request = { model: 'qwen3-max', messages: user('Hi'), max_tokens: 10 };
    expect((await fetch(`${sim.url}/chat/completions`, post(sim.apiKey, request))).status).toBe(
      200,
    );
    expect(seen).toEqual(['qwen3-max']);
    expect((await limiter.snapshot()).windows.find((w) => w.name === 'tokens/1m')?.used).toBe(777);
  });

  it('passes other requests straight through, unlimited', async () => {
    const sim = await simulator({ ...presets.qwen3Max, timeScale: 10 });
    const limiter = limiterFor(sim, { rpm: 1 });
    const fetch = tollgateFetch({ limiter });
    for (let i = 0; i < 3; i++) {
      const models = await fetch(`${sim.url}/models`, {
        headers: { authorization: `Bearer ${sim.apiKey}` },
      });
      expect(models.status).toBe(200);
      expect(
        ((await models.json()) as { data: Array<{ id: string }> }).data.map((m) => m.id),
      ).toContain('qwen3-max');
    }
    const snapshot = await limiter.snapshot();
    expect(snapshot.windows.map((w) => w.used)).toEqual([0]);
  });

  it('returns the 429 itself with retry off, after pausing the limiter', async () => {
    const sim = await simulator({
      timeScale: 60,
      models: { 'qwen-small': { rpm: 1, tpm: 100_000, rps: false, tps: false, burst: false } },
    });
    const limiter = limiterFor(sim, { rpm: 100 }, { pacing: false });
    const pauses: number[] = [];
    limiter.on('paused', ({ durationMs }) => pauses.push(durationMs));
    const fetch = tollgateFetch({ limiter, retry: false, provider: 'dashscope' });
    const request = post(sim.apiKey, { model: 'qwen-small', messages: user('Hi'), max_tokens: 10 });

    const [first, second] = await Promise.all([
      fetch(`${sim.url}/chat/completions`, request),
      fetch(`${sim.url}/chat/completions`, request),
    ]);
    const refused = first!.status === 429 ? first! : second!;
    expect([first!.status, second!.status].sort()).toEqual([200, 429]);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe(
      'limit_requests',
    );
    expect(pauses).toEqual([1_000]); // DashScope gives no hint: the policy's defaultPauseMs
    expect(sim.stats().totals.requests).toBe(2);
  });

  it('rejects with core’s WaitTimeoutError when admission would exceed maxWaitMs; a hand-built SDK client wraps it', async () => {
    const sim = await simulator({ ...presets.qwen3Max, timeScale: 10 });
    const limiter = limiterFor(sim, { rpm: 1 });
    const fetch = tollgateFetch({ limiter, maxWaitMs: 5_000 });
    const request = post(sim.apiKey, { model: 'qwen3-max', messages: user('Hi'), max_tokens: 10 });
    expect((await fetch(`${sim.url}/chat/completions`, request)).status).toBe(200);

    const error = await fetch(`${sim.url}/chat/completions`, request).catch((e: unknown) => e);
    expect(isTollgateError(error, 'TOLLGATE_WAIT_TIMEOUT')).toBe(true);

    const client = new OpenAI({ baseURL: sim.url, apiKey: sim.apiKey, fetch, maxRetries: 0 });
    const sdkError = await client.chat.completions
      .create({ model: 'qwen3-max', messages: user('Hi'), max_tokens: 10 })
      .catch((e: unknown) => e);
    // Not made by withTollgate: the SDK takes the error's text for a timeout and wraps it.
    expect(sdkError).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    expect(sim.stats().totals.requests).toBe(1);
  });

  it('rejects with the abort reason when aborted while waiting', async () => {
    const sim = await simulator({ ...presets.qwen3Max, timeScale: 10 });
    const limiter = limiterFor(sim, { rpm: 1 });
    const fetch = tollgateFetch({ limiter });
    const request = post(sim.apiKey, { model: 'qwen3-max', messages: user('Hi'), max_tokens: 10 });
    await fetch(`${sim.url}/chat/completions`, request);

    const controller = new AbortController();
    const waiting = new Promise<void>((resolve) => limiter.on('waiting', () => resolve()));
    const call = fetch(`${sim.url}/chat/completions`, { ...request, signal: controller.signal });
    await waiting;
    const reason = new Error('user gave up');
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
    expect((await limiter.snapshot()).queued).toBe(0);
    expect(sim.stats().totals.requests).toBe(1);
  });
});
