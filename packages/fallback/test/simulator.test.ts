/**
 * Across HTTP: the real `openai` SDK through `withTollgate` against the simulator, with the chain
 * as its layer (`layers: [fallback(chain)]`, `limiter: chain.limiterFor`). Two simulated models;
 * the preferred one has a small quota, so overflow must go down the chain — before any 429.
 */
import { Limiter } from '@tollgate/core';
import { withTollgate } from '@tollgate/openai';
import { type Simulator, startSimulator } from '@tollgate/simulator';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { type ChainEvents, fallback, modelChain } from '../src/index.js';

const PREFERRED = 'qwen3-max';
const OVERFLOW = 'qwen-plus';
const RPM = 30;
const MODELS = {
  [PREFERRED]: { rpm: RPM, tpm: 1_000_000, rps: false, tps: false, burst: false },
  [OVERFLOW]: { rpm: 600, tpm: 1_000_000, rps: false, tps: false, burst: false },
} as const;
const TIME_SCALE = 20;
const NO_429 = { 'request-rate': 0, burst: 0, 'token-rate': 0, 'quota-exhausted': 0 };

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe('against the simulator', () => {
  it('a saturated model sends its overflow down the chain with no 429, and gets traffic back once free', async () => {
    sim = await startSimulator({
      models: MODELS,
      accounts: [{ id: 'acct', keys: ['key'] }],
      timeScale: TIME_SCALE,
    });
    const on = sim;
    const limiterOf = (rpm: number) =>
      new Limiter({
        quota: { rpm, tpm: 1_000_000 },
        key: `sim:${rpm}`,
        clock: on.clock,
        // event-loop jitter between admission and arrival is real time: 100 real ms on a loaded VM
        margin: { ms: 100 * TIME_SCALE },
      });
    const chain = modelChain({
      provider: 'dashscope',
      clock: on.clock,
      models: [
        // paced at one request per 2 s (simulated): in a 10 s budget it takes a handful, and
        // the rest spills (while still waiting for it too)
        { model: PREFERRED, limiter: limiterOf(RPM), spillAfterMs: 10_000 },
        { model: OVERFLOW, limiter: limiterOf(600) },
      ],
    });
    const fallbacks: Array<ChainEvents['fallback']> = [];
    chain.on('fallback', (event) => fallbacks.push(event));
    const client = withTollgate(new OpenAI({ baseURL: on.url, apiKey: 'key', maxRetries: 0 }), {
      limiter: chain.limiterFor,
      provider: 'dashscope',
      retry: { provider: 'dashscope', clock: on.clock },
      layers: [fallback(chain)],
    });
    const ask = (i: number) =>
      client.chat.completions.create({
        model: PREFERRED,
        messages: [{ role: 'user', content: `Summarise item ${i}: quota window token.` }],
        max_tokens: 50,
      });

    const replies = await Promise.all(Array.from({ length: 60 }, (_, i) => ask(i)));
    expect(replies).toHaveLength(60);
    const stats = on.stats();
    expect(stats.rejected429ByReason).toEqual(NO_429);
    expect(stats.totals.admitted).toBe(60);
    const preferred = stats.byModel[PREFERRED]!.admitted;
    expect(preferred).toBeGreaterThan(0);
    expect(preferred).toBeLessThan(RPM);
    expect(stats.byModel[OVERFLOW]!.admitted).toBe(60 - preferred);
    expect(replies.filter((reply) => reply.model === OVERFLOW)).toHaveLength(60 - preferred);
    // every request served by the overflow model spilled first; a spilled one may still have
    // been served by the preferred model, whichever admitted it first
    expect(fallbacks.length).toBeGreaterThanOrEqual(60 - preferred);
    expect(fallbacks.every((event) => event.reason.kind === 'spilled')).toBe(true);

    // a simulated minute later (3 real s), the preferred model has room again and serves
    await new Promise((resolve) => setTimeout(resolve, (60_000 / TIME_SCALE) * 1.5));
    const later = await ask(60);
    expect(later.model).toBe(PREFERRED);
    expect(on.stats().rejected429).toBe(0);
  }, 60_000);
});
