/**
 * Across HTTP: the real `openai` SDK against `@tollgate/simulator`, called as an Effect. Two
 * simulated models; the preferred one has a small quota, so the overflow must go down the
 * chain — `fallback()` and `limit()` as promise layers around the Effect call — before any 429.
 */
import { limit } from '@tollgate/core';
import { fallback } from '@tollgate/fallback';
import { withTollgate } from '@tollgate/openai';
import { quotaFeedback, retry } from '@tollgate/retry';
import { type Simulator, startSimulator } from '@tollgate/simulator';
import { Effect, Exit } from 'effect';
import OpenAI from 'openai';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import { afterEach, describe, expect, it } from 'vitest';
import {
  NO_429,
  OVERFLOW,
  PREFERRED,
  RPM,
  saturatedChain,
  simulatedLimiter,
  TIME_SCALE,
} from '../../fallback/test/support/saturated.js';
import { classifyError, fromTollgate, type ProviderFailure, pipelineEffect } from '../src/index.js';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

/** A chat request both Tollgate's layers and the SDK accept as it is. */
interface ChatRequest {
  readonly model: string;
  readonly messages: Array<{ role: 'user'; content: string }>;
  readonly max_tokens: number;
}

const request = (i: number): ChatRequest => ({
  model: PREFERRED,
  messages: [{ role: 'user', content: `Summarise item ${i}: quota window token.` }],
  max_tokens: 50,
});

describe('against the simulator', () => {
  it('a batch of 60 as Effects through fallback → retry → limit: every reply, no 429, the overflow on the second model', async () => {
    const started = await saturatedChain();
    sim = started.sim;
    const { chain } = started;
    const on = sim;
    const client = new OpenAI({ baseURL: on.url, apiKey: 'key', maxRetries: 0 });
    const send = pipelineEffect<ChatRequest, ChatCompletion, ProviderFailure, never>(
      [
        fallback(chain),
        retry({ provider: 'dashscope', clock: on.clock }),
        limit(chain.limiterFor, { feedback: quotaFeedback({ provider: 'dashscope' }) }),
      ],
      (body, { signal, model }) =>
        Effect.tryPromise({
          try: () =>
            client.chat.completions.create(
              { ...body, model: model ?? body.model },
              signal === undefined ? {} : { signal },
            ),
          catch: (error) => classifyError(error, { provider: 'dashscope' }),
        }),
      { provider: 'dashscope' },
    );

    const replies = await Effect.runPromise(
      Effect.forEach(
        Array.from({ length: 60 }, (_, i) => i),
        (i) => send(request(i)),
        { concurrency: 60 },
      ),
    );
    expect(replies).toHaveLength(60);
    const stats = on.stats();
    expect(stats.rejected429ByReason).toEqual(NO_429);
    expect(stats.totals.admitted).toBe(60);
    const preferred = stats.byModel[PREFERRED]!.admitted;
    expect(preferred).toBeGreaterThan(0);
    expect(preferred).toBeLessThan(RPM);
    expect(replies.filter((reply) => reply.model === OVERFLOW)).toHaveLength(60 - preferred);
  }, 60_000);

  it('a withTollgate client as an Effect: interrupting the batch leaves nothing queued or in flight', async () => {
    sim = await startSimulator({
      models: { [PREFERRED]: { rpm: RPM, tpm: 1_000_000, rps: false, tps: false, burst: false } },
      accounts: [{ id: 'acct', keys: ['key'] }],
      timeScale: TIME_SCALE,
    });
    const on = sim;
    const limiter = simulatedLimiter(on, RPM);
    const client = withTollgate(new OpenAI({ baseURL: on.url, apiKey: 'key' }), {
      limiter,
      provider: 'dashscope',
      retry: { provider: 'dashscope', clock: on.clock },
    });
    const ask = (i: number) =>
      fromTollgate((signal) => client.chat.completions.create(request(i), { signal }), {
        provider: 'dashscope',
      });

    const first = await Effect.runPromise(ask(0));
    expect(first.model).toBe(PREFERRED);
    // 30 RPM paced: one request every 2 simulated s (100 real ms); 20 of them cannot all be
    // admitted within 300 real ms, so the timeout interrupts the rest while they wait
    const exit = await Effect.runPromiseExit(
      Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i + 1),
        ask,
        { concurrency: 20 },
      ).pipe(Effect.timeout('300 millis')),
    );
    expect(Exit.isFailure(exit)).toBe(true);
    // a request in flight at the interruption ends when its aborted fetch rejects
    let snapshot = await limiter.snapshot();
    for (let i = 0; i < 200 && snapshot.inFlight > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      snapshot = await limiter.snapshot();
    }
    expect([snapshot.queued, snapshot.inFlight]).toEqual([0, 0]);
    const admitted = on.stats().totals.admitted;
    expect(admitted).toBeGreaterThanOrEqual(1);
    expect(admitted).toBeLessThan(21);
    expect(on.stats().rejected429).toBe(0);
  }, 60_000);
});
