/**
 * Across HTTP: the real `openai` SDK through `withTollgate` against the simulator, with the chain
 * as its layer (`layers: [fallback(chain)]`, `limiter: chain.limiterFor`). Two simulated models;
 * the preferred one has a small quota, so overflow must go down the chain — before any 429.
 */
import { withTollgate } from '@tollgate/openai';
import type { Simulator } from '@tollgate/simulator';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { type ChainEvents, fallback } from '../src/index.js';
import {
  NO_429,
  OVERFLOW,
  PREFERRED,
  RPM,
  saturatedChain,
  TIME_SCALE,
} from './support/saturated.js';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe('against the simulator', () => {
  it('a saturated model sends its overflow down the chain with no 429, and gets traffic back once free', async () => {
    const started = await saturatedChain();
    sim = started.sim;
    const { chain } = started;
    const on = sim;
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
