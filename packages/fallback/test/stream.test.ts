/**
 * Streams down the chain, across HTTP: the real `openai` SDK through `withTollgate` against the
 * simulator, with `layers: [fallback(chain)]` and `limiter: chain.limiterFor`.
 *
 * LiteLLM #22296: "a 429 during streaming never reaches the fallback chain". Tollgate's promise:
 * a stream refused before its first chunk falls back; one that fails after its first chunk
 * does not (output has reached the caller, so another model's answer cannot replace it).
 */
import { Limiter } from '@tollgate/core';
import { withTollgate } from '@tollgate/openai';
import { type Simulator, startSimulator } from '@tollgate/simulator';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { type ChainEvents, fallback, modelChain } from '../src/index.js';

const PREFERRED = 'qwen3-max';
const OVERFLOW = 'qwen-plus';
const QUOTA = { rpm: 600, tpm: 1_000_000, rps: false, tps: false, burst: false } as const;
const TIME_SCALE = 20;
/** The free-tier allowance per model of the account (prompt + completion tokens). */
const FREE_TOKENS = 4_000;

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

/** The chain (each model's limiter on the simulator's clock) and a client through it. */
function chainedClient(on: Simulator) {
  const limiterOf = (model: string, maxWaitMs: number) =>
    new Limiter({
      quota: { rpm: QUOTA.rpm, tpm: QUOTA.tpm },
      key: `stream:${model}`,
      clock: on.clock,
      maxWaitMs,
      margin: { ms: 100 * TIME_SCALE },
    });
  const chain = modelChain({
    provider: 'dashscope',
    models: [
      { model: PREFERRED, limiter: limiterOf(PREFERRED, 10_000) },
      { model: OVERFLOW, limiter: limiterOf(OVERFLOW, Number.POSITIVE_INFINITY) },
    ],
  });
  const fallbacks: Array<ChainEvents['fallback']> = [];
  const served: Array<ChainEvents['served']> = [];
  chain.on('fallback', (event) => fallbacks.push(event));
  chain.on('served', (event) => served.push(event));
  const client = withTollgate(new OpenAI({ baseURL: on.url, apiKey: 'key', maxRetries: 0 }), {
    limiter: chain.limiterFor,
    provider: 'dashscope',
    retry: { provider: 'dashscope', clock: on.clock },
    layers: [fallback(chain)],
  });
  return { client, fallbacks, served };
}

const messages = (i: number) => [
  { role: 'user' as const, content: `Summarise item ${i}: quota window token.` },
];

/** Uses up `model`'s free tier for the account, straight to the simulator (no Tollgate). */
async function exhaustFreeTier(on: Simulator, model: string) {
  const direct = new OpenAI({ baseURL: on.url, apiKey: 'key', maxRetries: 0 });
  // completion tokens are at least 0.3 × the cap: 4,800 of them use up the 4,000 allowed
  await direct.chat.completions.create({ model, messages: messages(-1), max_tokens: 16_000 });
  await expect(
    direct.chat.completions.create({ model, messages: messages(-2), max_tokens: 10 }),
  ).rejects.toMatchObject({ status: 429, code: 'insufficient_quota' });
  on.reset(); // counters from zero; the allowance stays used up
}

/** A simulator whose preferred model's free tier is spent, and a client down the chain on it. */
async function exhaustedPreferred() {
  const on = await startSimulator({
    models: { [PREFERRED]: QUOTA, [OVERFLOW]: QUOTA },
    accounts: [{ id: 'acct', keys: ['key'], freeTokens: FREE_TOKENS }],
    timeScale: TIME_SCALE,
  });
  sim = on;
  await exhaustFreeTier(on, PREFERRED);
  return { on, ...chainedClient(on) };
}

describe('streams and the fallback chain (LiteLLM #22296)', () => {
  it('a stream refused with quota exhausted before its first chunk is served by the next model, whole', async () => {
    const { on, client, fallbacks, served } = await exhaustedPreferred();

    const request = {
      model: PREFERRED,
      messages: messages(0),
      max_tokens: 60,
      stream: true as const,
      stream_options: { include_usage: true },
    };
    const stream = await client.chat.completions.create(request);
    const models = new Set<string>();
    let content = '';
    let chunks = 0;
    let finishReason: string | null = null;
    let completionTokens: number | undefined;
    for await (const chunk of stream) {
      chunks += 1;
      models.add(chunk.model);
      content += chunk.choices[0]?.delta.content ?? '';
      finishReason = chunk.choices[0]?.finish_reason ?? finishReason;
      if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
    }

    // the chunks came from the next model, to the end: finish reason and usage included
    expect(models).toEqual(new Set([OVERFLOW]));
    expect(chunks).toBeGreaterThan(2);
    expect(content.length).toBeGreaterThan(0);
    expect(finishReason).not.toBeNull();
    const predicted = on.completionTokens({ ...request, model: OVERFLOW });
    expect(completionTokens).toBe(predicted);

    // the chain says so: one reactive move for the refusal, and the served model names it
    expect(fallbacks).toHaveLength(1);
    expect(fallbacks).toMatchObject([
      {
        from: PREFERRED,
        to: OVERFLOW,
        reason: {
          kind: 'refused',
          classification: expect.objectContaining({ kind: 'quota-exhausted' }),
        },
      },
    ]);
    expect(served).toHaveLength(1);
    expect(served[0]!.model).toBe(OVERFLOW);
    expect(served[0]!.skipped.map(({ model }) => model)).toEqual([PREFERRED]);

    // the preferred model got exactly the refused request; the next model served it once
    const stats = on.stats();
    expect(stats.byModel[PREFERRED]).toMatchObject({
      requests: 1,
      admitted: 0,
      rejectedBy: expect.objectContaining({ 'quota-exhausted': 1 }),
    });
    expect(stats.byModel[OVERFLOW]).toMatchObject({
      requests: 1,
      admitted: 1,
      rejected: 0,
      completionTokens: predicted,
    });
    expect(stats.rejected429).toBe(1);
  }, 30_000);

  it('a batch of streams on an exhausted preferred model: every one served by the next, nothing lost', async () => {
    const { on, client, fallbacks, served } = await exhaustedPreferred();
    const COUNT = 8;

    const read = async (i: number) => {
      const stream = await client.chat.completions.create({
        model: PREFERRED,
        messages: messages(i),
        max_tokens: 40,
        stream: true,
      });
      const models = new Set<string>();
      let finished = false;
      for await (const chunk of stream) {
        models.add(chunk.model);
        if (chunk.choices[0]?.finish_reason) finished = true;
        // the usage chunk Tollgate asked for on the caller's behalf never shows
        expect(chunk.choices).toHaveLength(1);
      }
      return { models: [...models], finished };
    };
    const results = await Promise.allSettled(Array.from({ length: COUNT }, (_, i) => read(i)));

    expect(results.filter(({ status }) => status === 'rejected')).toEqual([]);
    const streams = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(streams).toEqual(Array(COUNT).fill({ models: [OVERFLOW], finished: true }));
    expect(served.map(({ model }) => model)).toEqual(Array(COUNT).fill(OVERFLOW));
    const stats = on.stats();
    expect(stats.byModel[OVERFLOW]).toMatchObject({ requests: COUNT, admitted: COUNT });
    expect(stats.byModel[PREFERRED]?.admitted ?? 0).toBe(0);
    // each request the preferred model saw was refused for its quota and sent down the chain
    const refusedByPreferred = stats.byModel[PREFERRED]?.rejectedBy['quota-exhausted'] ?? 0;
    expect(refusedByPreferred).toBe(stats.byModel[PREFERRED]?.requests ?? 0);
    expect(fallbacks.filter(({ reason }) => reason.kind === 'refused')).toHaveLength(
      refusedByPreferred,
    );
    expect(fallbacks).toHaveLength(COUNT);
    expect(stats.rejected429).toBe(refusedByPreferred);
  }, 30_000);

  it('a stream that fails after its first chunk goes up to the caller: no fallback', async () => {
    sim = await startSimulator({
      models: { [PREFERRED]: QUOTA, [OVERFLOW]: QUOTA },
      accounts: [{ id: 'acct', keys: ['key'] }],
      timeScale: TIME_SCALE,
      // 400 simulated ms per token: a 13-token chunk every 5.2 s simulated (0.26 s real), so
      // the answer is still streaming when the simulator goes away after its first chunk
      latencyMs: { base: 400, perOutputToken: 400 },
      completion: { minRatio: 1, maxRatio: 1 },
    });
    const on = sim;
    const { client, fallbacks, served } = chainedClient(on);

    const stream = await client.chat.completions.create({
      model: PREFERRED,
      messages: messages(0),
      max_tokens: 400,
      stream: true,
    });
    const models = new Set<string>();
    let contentChunks = 0;
    const reading = (async () => {
      for await (const chunk of stream) {
        models.add(chunk.model);
        if (chunk.choices[0]?.delta.content) {
          contentChunks += 1;
          // the provider goes away mid-answer: the simulator drops the response in flight
          if (contentChunks === 1) void on.close();
        }
      }
    })();

    // fetch's own error for a body cut off mid-way (undici: "terminated", cause "other side
    // closed"), not one of Tollgate's or the chain's
    await expect(reading).rejects.toThrow('terminated');
    await expect(reading).rejects.not.toMatchObject({ code: 'TOLLGATE_MODELS_UNAVAILABLE' });
    expect(contentChunks).toBeGreaterThanOrEqual(1);
    expect(contentChunks).toBeLessThan(32); // the answer was cut short, not delivered whole
    expect(models).toEqual(new Set([PREFERRED]));
    // the chain served it from the preferred model and never moved the call
    expect(fallbacks).toEqual([]);
    expect(served).toEqual([{ model: PREFERRED, skipped: [] }]);
    const stats = on.stats();
    expect(stats.byModel[PREFERRED]).toMatchObject({ requests: 1, admitted: 1 });
    expect(stats.byModel[OVERFLOW]?.requests ?? 0).toBe(0);
  }, 30_000);
});
