/**
 * The adapter's composition contract, end to end with the real SDK against the simulator:
 * `layers` sit outside the retries, and what they set on the context — the account, the
 * model — picks the quota (`limiter` as a function of the context) and what is sent.
 */
import { type CallContext, isTollgateError, type Layer, type Limiter } from '@tollgate/core';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { type ChatCompletionBody, withTollgate } from '../src/index.js';
import { limiterFor, prompt, simulator, user } from './helpers.js';

const QUOTA = { rpm: 600, tpm: 1_000_000, rps: 10, tps: 16_667 };
const MODELS = { 'qwen3-max': QUOTA, 'qwen-plus': QUOTA };
const ACCOUNTS = [
  { id: 'acct-a', keys: ['key-a'] },
  { id: 'acct-b', keys: ['key-b'] },
];

/** A layer that sets one field of the context for everything below it. */
const setting =
  (fields: Partial<CallContext>): Layer<ChatCompletionBody, Response> =>
  (next) =>
  (request, context) =>
    next(request, { ...context, ...fields });

describe('withTollgate layers', () => {
  it("sends with the account a layer chose, admitted by that account's limiter", async () => {
    const sim = await simulator({ models: MODELS, accounts: ACCOUNTS, timeScale: 10 });
    const limiters = new Map<string, Limiter>(
      ACCOUNTS.map((account) => [account.id, limiterFor(sim, QUOTA, { key: account.id })]),
    );
    const seen: Array<string | undefined> = [];
    const client = withTollgate(
      new OpenAI({ baseURL: 'http://127.0.0.1:9/nowhere', apiKey: 'key-a' }),
      {
        limiter: (context) => {
          seen.push(context.account?.id);
          return limiters.get(context.account?.id ?? 'acct-a')!;
        },
        retry: { provider: 'dashscope', clock: sim.clock },
        layers: [setting({ account: { id: 'acct-b', apiKey: 'key-b', baseURL: sim.url } })],
      },
    );

    const reply = await client.chat.completions.create({
      model: 'qwen3-max',
      messages: user(prompt(40)),
      max_tokens: 50,
    });

    expect(reply.choices).toHaveLength(1);
    expect(seen).toEqual(['acct-b']);
    expect(sim.stats().byKey['key-b']?.admitted).toBe(1);
    expect(sim.stats().byKey['key-a']).toBeUndefined();
    // the minute's window: a per-second one may have let go of it on a slow machine
    const perMinute = async (id: string) =>
      (await limiters.get(id)!.snapshot()).windows.find(
        (w) => w.unit === 'requests' && w.windowMs === 60_000,
      )?.used;
    expect(await perMinute('acct-b')).toBe(1);
    expect(await perMinute('acct-a')).toBe(0);
  });

  it('sends the model a layer chose instead of the body’s', async () => {
    const sim = await simulator({ models: MODELS, timeScale: 10 });
    const client = withTollgate(new OpenAI({ baseURL: sim.url, apiKey: sim.apiKey }), {
      limiter: limiterFor(sim, QUOTA),
      layers: [setting({ model: 'qwen-plus' })],
    });
    const reply = await client.chat.completions.create({
      model: 'qwen3-max',
      messages: user(prompt(20)),
      max_tokens: 20,
    });
    expect(reply.model).toBe('qwen-plus');
    expect(sim.stats().byModel['qwen-plus']?.admitted).toBe(1);
    expect(sim.stats().byModel['qwen3-max']).toBeUndefined();
  });

  it('runs layers once around all retries, and shows them the refusal that ended them', async () => {
    const sim = await simulator({
      models: { 'qwen3-max': { rpm: 60, rps: false, burst: false } },
      timeScale: 5, // a minute lasts 12 s: the window stays full for the whole test
      countRejected: true,
    });
    // A second client, with no limiter, spends the minute's requests first.
    const plain = new OpenAI({ baseURL: sim.url, apiKey: sim.apiKey, maxRetries: 0 });
    const body = { model: 'qwen3-max', messages: user('Hi'), max_tokens: 5 };
    await Promise.all(Array.from({ length: 60 }, () => plain.chat.completions.create(body)));

    const outcomes: unknown[] = [];
    const observing: Layer<ChatCompletionBody, Response> = (next) => async (request, context) => {
      try {
        const response = await next(request, context);
        outcomes.push(response.status);
        return response;
      } catch (error) {
        outcomes.push(error);
        throw error;
      }
    };
    const client = withTollgate(new OpenAI({ baseURL: sim.url, apiKey: sim.apiKey }), {
      limiter: limiterFor(sim, { rpm: 1000 }), // blind to the other client's traffic
      retry: { provider: 'dashscope', clock: sim.clock, maxAttempts: 2, backoff: () => 0 },
      layers: [observing],
    });
    const error = await client.chat.completions.create(body).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(outcomes).toHaveLength(1);
    expect(isTollgateError(outcomes[0], 'TOLLGATE_RETRY_EXHAUSTED')).toBe(true);
    const last = (outcomes[0] as { lastError: unknown }).lastError;
    expect(isTollgateError(last, 'TOLLGATE_PROVIDER_RESPONSE')).toBe(true);
    expect((last as { status: number }).status).toBe(429);
    expect(sim.stats().rejected429).toBe(2);
  });
});
