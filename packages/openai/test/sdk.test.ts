import { defaultChatEstimator, type Limiter, type Usage } from '@tollgate/core';
import { classify } from '@tollgate/retry';
import { presets } from '@tollgate/simulator';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { withTollgate } from '../src/index.js';
import { limiterFor, prompt, simulator, user } from './helpers.js';

const QWEN3_MAX = { rpm: 600, tpm: 1_000_000, rps: 10, tps: 16_667 } as const;

/** Usages the limiter was settled with, in order (undefined: settled without usage). */
function settlements(limiter: Limiter): Array<Usage | undefined> {
  const seen: Array<Usage | undefined> = [];
  limiter.on('settled', ({ usage }) => seen.push(usage));
  return seen;
}

const tokensUsed = async (limiter: Limiter, window = 'tokens/1m') =>
  (await limiter.snapshot()).windows.find((w) => w.name === window)!.used;

describe('withTollgate: non-streaming', () => {
  it('keeps the reservation under reserved accounting and learns the prompt bias from usage', async () => {
    const sim = await simulator({ ...presets.qwen3Max, timeScale: 10 });
    const limiter = limiterFor(sim, QWEN3_MAX);
    const seen = settlements(limiter);
    const client = withTollgate(new OpenAI({ baseURL: sim.url, apiKey: sim.apiKey }), {
      limiter,
      retry: { provider: 'dashscope', clock: sim.clock },
    });
    const request = { model: 'qwen3-max', messages: user(prompt(120)), max_tokens: 300 };

    // core learns the bias from the third settlement on
    const replies: OpenAI.Chat.Completions.ChatCompletion[] = [];
    for (let i = 0; i < 3; i++) replies.push(await client.chat.completions.create(request));

    const promptTokens = sim.promptTokens(request.messages);
    const completionTokens = sim.completionTokens(request);
    expect(replies[0]?.usage).toMatchObject({
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
    });
    const usage = { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
    expect(seen).toEqual([usage, usage, usage]);
    const estimate = defaultChatEstimator.estimate(request);
    const snapshot = await limiter.snapshot();
    // reserved: each booking stays, made at bias 1 before three settlements were known
    expect(await tokensUsed(limiter)).toBe(3 * (estimate.prompt + 300));
    // three settlements: the reported ratio, with core's small-sample headroom of 10% / √3
    expect(snapshot.promptBias).toBeCloseTo(
      (promptTokens / estimate.prompt) * (1 + 0.1 / Math.sqrt(3)),
      10,
    );
    expect(snapshot.inFlight).toBe(0);
    expect(sim.stats().totals.admitted).toBe(3);
  });

  it('books the reported total under actual accounting', async () => {
    const sim = await simulator({ ...presets.qwen3Max, timeScale: 10, accounting: 'actual' });
    const limiter = limiterFor(sim, { ...QWEN3_MAX, accounting: 'actual' });
    const client = withTollgate(new OpenAI({ baseURL: sim.url, apiKey: sim.apiKey }), {
      limiter,
      retry: { provider: 'dashscope', clock: sim.clock },
    });
    const reply = await client.chat.completions.create({
      model: 'qwen3-max',
      messages: user(prompt(80)),
      max_tokens: 1000,
    });
    expect(reply.usage?.total_tokens).toBeGreaterThan(0);
    expect(await tokensUsed(limiter)).toBe(reply.usage?.total_tokens);
  });
});

describe('withTollgate: streaming', () => {
  it('asks for usage, settles with it, and hides the usage chunk from a caller who did not ask', async () => {
    const sim = await simulator({ ...presets.qwen3Max, timeScale: 10, accounting: 'actual' });
    const limiter = limiterFor(sim, { ...QWEN3_MAX, accounting: 'actual' });
    const seen = settlements(limiter);
    const client = withTollgate(new OpenAI({ baseURL: sim.url, apiKey: sim.apiKey }), {
      limiter,
      retry: { provider: 'dashscope', clock: sim.clock },
    });
    const request = { model: 'qwen3-max', messages: user(prompt(60)), max_tokens: 400 };

    const stream = await client.chat.completions.create({ ...request, stream: true });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);

    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.every((chunk) => chunk.choices.length === 1)).toBe(true);
    expect(chunks.some((chunk) => chunk.usage)).toBe(false);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toMatch(/stop|length/);
    const promptTokens = sim.promptTokens(request.messages);
    const completionTokens = sim.completionTokens(request);
    expect(seen).toEqual([
      { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens },
    ]);
    expect(await tokensUsed(limiter)).toBe(promptTokens + completionTokens);
  });

  it('leaves the usage chunk to a caller who asked for it', async () => {
    const sim = await simulator({ ...presets.qwen3Max, timeScale: 10 });
    const limiter = limiterFor(sim, QWEN3_MAX);
    const seen = settlements(limiter);
    const client = withTollgate(new OpenAI({ baseURL: sim.url, apiKey: sim.apiKey }), {
      limiter,
      retry: { provider: 'dashscope', clock: sim.clock },
    });
    const request = { model: 'qwen3-max', messages: user(prompt(60)), max_tokens: 400 };

    const stream = await client.chat.completions.create({
      ...request,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);

    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    const promptTokens = sim.promptTokens(request.messages);
    const completionTokens = sim.completionTokens(request);
    expect(last?.usage).toMatchObject({
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
    });
    expect(seen).toEqual([
      { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens },
    ]);
  });

  it('settles without usage, keeping the reservation, when the caller stops reading', async () => {
    const sim = await simulator({
      ...presets.qwen3Max,
      timeScale: 10,
      latencyMs: { base: 100, perOutputToken: 5 },
    });
    const limiter = limiterFor(sim, QWEN3_MAX);
    const seen = settlements(limiter);
    const client = withTollgate(new OpenAI({ baseURL: sim.url, apiKey: sim.apiKey }), {
      limiter,
      retry: { provider: 'dashscope', clock: sim.clock },
    });
    const request = { model: 'qwen3-max', messages: user(prompt(40)), max_tokens: 800 };
    const stream = await client.chat.completions.create({ ...request, stream: true });
    for await (const chunk of stream) {
      expect(chunk.choices).toHaveLength(1);
      break;
    }
    await expect.poll(() => seen.length).toBe(1);
    expect(seen).toEqual([undefined]);
    const snapshot = await limiter.snapshot();
    expect(snapshot.inFlight).toBe(0);
    expect(await tokensUsed(limiter)).toBe(defaultChatEstimator.estimate(request).prompt + 800);
  });
});

describe('withTollgate: against a quota', () => {
  it('sends an admitted request before the rest of a batch submitted with it is queued', async () => {
    // A permit granted while the batch's other requests are still being built would leave
    // only after all of them: late at the provider, where it meets the next window's requests.
    const sim = await simulator({ ...presets.qwen3Max, timeScale: 4 });
    const limiter = limiterFor(sim, QWEN3_MAX);
    const events: string[] = [];
    limiter.on('waiting', () => events.push('waiting'));
    const transport: typeof fetch = (input, init) => {
      events.push('send');
      return fetch(input, init);
    };
    const client = withTollgate(
      new OpenAI({ baseURL: sim.url, apiKey: sim.apiKey, fetch: transport }),
      { limiter, retry: { provider: 'dashscope', clock: sim.clock } },
    );
    const batch = Array.from({ length: 20 }, (_, i) =>
      client.chat.completions.create({
        model: 'qwen3-max',
        messages: user(prompt(2000, i)),
        max_tokens: 2000,
      }),
    );
    await Promise.all(batch);
    expect(events.indexOf('send')).toBe(0);
    expect(events.filter((event) => event === 'send')).toHaveLength(20);
    expect(sim.stats().rejected429).toBe(0);
  });

  it('turns a burst of 60 concurrent calls into zero 429s on qwen3-max', async () => {
    // A slower scale than elsewhere: the burst guard's 250 ms must stay long next to the
    // event-loop jitter of a busy test machine, which the limiter cannot know about.
    const sim = await simulator({ ...presets.qwen3Max, timeScale: 4 });
    const limiter = limiterFor(sim, QWEN3_MAX);
    let retries = 0;
    const client = withTollgate(new OpenAI({ baseURL: sim.url, apiKey: sim.apiKey }), {
      limiter,
      retry: { provider: 'dashscope', clock: sim.clock, onRetry: () => retries++ },
    });
    const replies = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        client.chat.completions.create({
          model: 'qwen3-max',
          messages: user(prompt(300 + 10 * i, i)),
          max_tokens: 2000,
        }),
      ),
    );
    expect(replies).toHaveLength(60);
    expect(replies.every((reply) => (reply.usage?.completion_tokens ?? 0) > 0)).toBe(true);
    const stats = sim.stats();
    expect(stats.rejected429ByReason).toEqual({
      'request-rate': 0,
      burst: 0,
      'token-rate': 0,
      'quota-exhausted': 0,
    });
    expect(stats.totals).toMatchObject({ requests: 60, admitted: 60, rejected: 0 });
    expect(retries).toBe(0);
  });

  it('retries 429s through the limiter after pausing it when the limiter over-estimates the quota', async () => {
    // The account really has 6,000 TPM; the limiter believes 20,000.
    const sim = await simulator({
      timeScale: 60,
      models: { 'qwen-small': { rpm: 600, tpm: 6_000, rps: false, tps: false, burst: false } },
    });
    const limiter = limiterFor(sim, { tpm: 20_000 }, { pacing: false });
    let paused = 0;
    limiter.on('paused', () => paused++);
    const pausedDuringRetry: Array<Promise<number>> = [];
    const client = withTollgate(new OpenAI({ baseURL: sim.url, apiKey: sim.apiKey }), {
      limiter,
      retry: {
        provider: 'dashscope',
        clock: sim.clock,
        maxAttempts: 30,
        backoff: () => 4_000,
        onRetry: ({ classification }) => {
          expect(classification.kind).toBe('token-rate');
          pausedDuringRetry.push(limiter.snapshot().then((s) => s.pausedForMs));
        },
      },
    });
    const replies = await Promise.all(
      Array.from({ length: 14 }, (_, i) =>
        client.chat.completions.create({
          model: 'qwen-small',
          messages: user(prompt(8, i)),
          max_tokens: 500,
        }),
      ),
    );

    expect(replies).toHaveLength(14);
    const stats = sim.stats();
    expect(stats.totals.admitted).toBe(14);
    expect(stats.rejected429ByReason['token-rate']).toBeGreaterThan(0);
    // every 429 paused the limiter and was retried through it
    expect(pausedDuringRetry).toHaveLength(stats.rejected429);
    expect(paused).toBe(stats.rejected429);
    for (const pausedForMs of await Promise.all(pausedDuringRetry)) {
      expect(pausedForMs).toBeGreaterThan(0);
    }
  });

  it('fails a free-tier key that ran out with the SDK’s RateLimitError, classified quota-exhausted, without retrying', async () => {
    const sim = await simulator({
      ...presets.qwen3Max,
      timeScale: 10,
      accounts: [{ id: 'trial', keys: ['sk-free'], freeTokens: 1_000 }],
    });
    const limiter = limiterFor(sim, QWEN3_MAX);
    let retries = 0;
    const client = withTollgate(new OpenAI({ baseURL: sim.url, apiKey: 'sk-free' }), {
      limiter,
      retry: { provider: 'dashscope', clock: sim.clock, onRetry: () => retries++ },
    });
    let succeeded = 0;
    let failure: unknown;
    for (let i = 0; i < 20 && failure === undefined; i++) {
      try {
        await client.chat.completions.create({
          model: 'qwen3-max',
          messages: user(prompt(20, i)),
          max_tokens: 200,
        });
        succeeded++;
      } catch (error) {
        failure = error;
      }
    }

    expect(failure).toBeInstanceOf(OpenAI.RateLimitError);
    expect((failure as InstanceType<typeof OpenAI.RateLimitError>).status).toBe(429);
    expect(classify(failure, 'dashscope')).toMatchObject({
      kind: 'quota-exhausted',
      retryable: false,
    });
    expect(succeeded).toBeGreaterThan(0);
    expect(retries).toBe(0);
    const stats = sim.stats();
    expect(stats.totals.requests).toBe(succeeded + 1);
    expect(stats.rejected429ByReason['quota-exhausted']).toBe(1);
  });

  it('abandons a call aborted while it waits for admission: out of the queue, nothing booked', async () => {
    const sim = await simulator({ ...presets.qwen3Max, timeScale: 10 });
    // One request a minute: the second call waits about 6 real seconds for its turn.
    const limiter = limiterFor(sim, { rpm: 1 });
    const client = withTollgate(new OpenAI({ baseURL: sim.url, apiKey: sim.apiKey }), {
      limiter,
      retry: { provider: 'dashscope', clock: sim.clock },
    });
    const request = { model: 'qwen3-max', messages: user('Hi'), max_tokens: 50 };
    await client.chat.completions.create(request);

    const controller = new AbortController();
    const waiting = new Promise<void>((resolve) => limiter.on('waiting', () => resolve()));
    const call = client.chat.completions.create(request, { signal: controller.signal });
    const outcome = call.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    await waiting;
    expect((await limiter.snapshot()).queued).toBe(1);
    controller.abort();

    expect(await outcome).toBeInstanceOf(OpenAI.APIUserAbortError);
    const snapshot = await limiter.snapshot();
    expect(snapshot.queued).toBe(0);
    expect(snapshot.inFlight).toBe(0);
    expect(snapshot.windows.find((w) => w.name === 'requests/1m')?.used).toBe(1);
    expect(sim.stats().totals.requests).toBe(1);
  });
});

describe('withTollgate: OpenAI rate-limit headers', () => {
  it('pauses the limiter until the reset when x-ratelimit-remaining-requests reaches 0', async () => {
    const sim = await simulator({
      mode: 'openai',
      timeScale: 60,
      models: { 'gpt-4o-mini': { rpm: 4, tpm: 1_000_000, rps: false, tps: false, burst: false } },
    });
    const limiter = limiterFor(sim, { rpm: 100 }); // it does not know about the 4 RPM
    const pauses: number[] = [];
    limiter.on('paused', ({ durationMs }) => pauses.push(durationMs));
    const client = withTollgate(new OpenAI({ baseURL: sim.url, apiKey: sim.apiKey }), {
      limiter,
      retry: { provider: 'openai', clock: sim.clock },
    });
    const request = { model: 'gpt-4o-mini', messages: user('Hi'), max_tokens: 20 };

    for (let i = 0; i < 3; i++) await client.chat.completions.create(request);
    expect(pauses).toEqual([]);
    const fourth = await client.chat.completions.create(request).withResponse();
    expect(fourth.response.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(pauses).toHaveLength(1);
    expect((await limiter.snapshot()).pausedForMs).toBeGreaterThan(50_000);

    // The fifth call waits out the pause instead of being refused.
    await client.chat.completions.create(request);
    expect(sim.stats().rejected429).toBe(0);
    expect(sim.stats().totals.admitted).toBe(5);
  });

  it('pauses for a 429’s retry-after-ms and retries once, when headers are not synced', async () => {
    const sim = await simulator({
      mode: 'openai',
      timeScale: 60,
      models: { 'gpt-4o-mini': { rpm: 2, tpm: 1_000_000, rps: false, tps: false, burst: false } },
    });
    const limiter = limiterFor(sim, { rpm: 100 }, { pacing: false });
    const pauses: number[] = [];
    limiter.on('paused', ({ durationMs }) => pauses.push(durationMs));
    const delays: number[] = [];
    const client = withTollgate(new OpenAI({ baseURL: sim.url, apiKey: sim.apiKey }), {
      limiter,
      feedback: { headers: false },
      retry: {
        provider: 'openai',
        clock: sim.clock,
        maxRetryAfterMs: 120_000,
        onRetry: ({ delayMs, classification }) => {
          expect(classification.kind).toBe('request-rate');
          delays.push(delayMs);
        },
      },
    });
    const request = { model: 'gpt-4o-mini', messages: user('Hi'), max_tokens: 20 };
    const replies = await Promise.all([1, 2, 3].map(() => client.chat.completions.create(request)));

    expect(replies).toHaveLength(3);
    const stats = sim.stats();
    expect(stats.rejected429).toBe(1);
    expect(stats.totals.admitted).toBe(3);
    expect(delays).toHaveLength(1);
    expect(pauses).toEqual(delays); // the limiter held for exactly the provider's retry-after-ms
    expect(delays[0]).toBeGreaterThan(50_000);
  });
});

describe('withTollgate: wrapping twice', () => {
  it('replaces the first wrapping instead of stacking two limiters', async () => {
    const sim = await simulator({ ...presets.qwen3Max, timeScale: 10 });
    const first = limiterFor(sim, QWEN3_MAX);
    const second = limiterFor(sim, QWEN3_MAX);
    const once = withTollgate(new OpenAI({ baseURL: sim.url, apiKey: sim.apiKey }), {
      limiter: first,
    });
    const twice = withTollgate(once, { limiter: second });
    await twice.chat.completions.create({
      model: 'qwen3-max',
      messages: user('Hi'),
      max_tokens: 10,
    });
    const requests = async (limiter: Limiter) =>
      (await limiter.snapshot()).windows.find((w) => w.name === 'requests/1m')?.used;
    expect(await requests(first)).toBe(0);
    expect(await requests(second)).toBe(1);
  });
});
