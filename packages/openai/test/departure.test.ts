/**
 * Booking at the wire: a request's booking moves to the instant its body is written, with the
 * real SDK and Node's fetch against the simulator.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { presets } from '@tollgate/simulator';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { withTollgate } from '../src/index.js';
import { closedPort, limiterFor, prompt, simulator, trustingDispatcher, user } from './helpers.js';

const QWEN3_MAX = { rpm: 600, tpm: 1_000_000, rps: 10, tps: 16_667 } as const;

const unsubscribeAfter: Array<() => void> = [];
afterEach(() => {
  for (const stop of unsubscribeAfter.splice(0)) stop();
});

describe('booking at the wire', () => {
  it('moves each booking to when its request was written, however long it waited', async () => {
    const sim = await simulator({ ...presets.qwen3Max, timeScale: 10 });
    const limiter = limiterFor(sim, QWEN3_MAX);
    const lags: number[] = [];
    limiter.on('departed', ({ lagMs }) => lags.push(lagMs));
    const HOLD_MS = 150; // real ms between admission and sending: a slow handshake's stand-in
    const slowStart: typeof fetch = async (input, init) => {
      await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
      return globalThis.fetch(input, init);
    };
    const client = withTollgate(
      new OpenAI({ baseURL: sim.url, apiKey: sim.apiKey, fetch: slowStart }),
      {
        limiter,
        retry: { provider: 'dashscope', clock: sim.clock },
      },
    );

    const replies = await Promise.all(
      [1, 2, 3].map((seed) =>
        client.chat.completions.create({
          model: 'qwen3-max',
          messages: user(prompt(50, seed)),
          max_tokens: 100,
        }),
      ),
    );

    expect(replies).toHaveLength(3);
    expect(lags).toHaveLength(3); // one departure per request, none twice
    for (const lag of lags) expect(lag).toBeGreaterThanOrEqual(HOLD_MS * sim.clock.timeScale);
    const snapshot = await limiter.snapshot();
    expect(snapshot.windows.find((w) => w.name === 'requests/1m')?.used).toBe(3); // moved, not doubled
    expect(snapshot.inFlight).toBe(0);
  });

  it("moves each booking past a new connection's TLS handshake, with undici as the dispatcher", async () => {
    const HANDSHAKE_MS = 150; // simulated, as the simulator's other durations
    // A quota loose enough that pacing admits the three requests together: each needs a
    // connection of its own.
    const LOOSE = { rpm: 60_000, tpm: 100_000_000 } as const;
    const sim = await simulator({
      models: { 'qwen3-max': LOOSE },
      latencyMs: { base: 0 },
      handshakeDelayMs: HANDSHAKE_MS,
    });
    const limiter = limiterFor(sim, LOOSE);
    const lags: number[] = [];
    limiter.on('departed', ({ lagMs }) => lags.push(lagMs));
    let connections = 0;
    const connected = () => connections++;
    subscribe('undici:client:connected', connected);
    unsubscribeAfter.push(() => unsubscribe('undici:client:connected', connected));
    const client = withTollgate(
      new OpenAI({
        baseURL: sim.url,
        apiKey: sim.apiKey,
        maxRetries: 0,
        // npm undici's Agent through Node's global fetch: how a client trusts the simulator.
        fetchOptions: { dispatcher: trustingDispatcher(sim) },
      }),
      { limiter, retry: { provider: 'dashscope', clock: sim.clock } },
    );
    const ask = (seed: number) =>
      client.chat.completions.create({
        model: 'qwen3-max',
        messages: user(prompt(50, seed)),
        max_tokens: 100,
      });

    // Three at once, on a cold pool: three new connections, each written after its handshake.
    await Promise.all([1, 2, 3].map(ask));
    expect(sim.url.startsWith('https:')).toBe(true);
    expect(connections).toBe(3);
    expect(lags).toHaveLength(3);
    for (const lag of lags) expect(lag).toBeGreaterThanOrEqual(HANDSHAKE_MS);

    // Then one after another on the warm pool: no new connection, no handshake to wait for.
    for (const seed of [4, 5, 6]) await ask(seed);
    expect(connections).toBe(3);
    expect(lags).toHaveLength(6); // one departure per request, none twice
    for (const lag of lags.slice(3)) expect(lag).toBeLessThan(HANDSHAKE_MS);

    const snapshot = await limiter.snapshot();
    expect(snapshot.windows.find((w) => w.name === 'requests/1m')?.used).toBe(6); // moved, not doubled
    expect(snapshot.inFlight).toBe(0);
    expect(sim.stats().rejected429).toBe(0);
  });

  it('does not depart a request that never left: it is refunded', async () => {
    const sim = await simulator({ ...presets.qwen3Max, timeScale: 10 });
    const limiter = limiterFor(sim, QWEN3_MAX);
    let departed = 0;
    limiter.on('departed', () => departed++);
    const client = withTollgate(
      new OpenAI({ baseURL: `http://127.0.0.1:${await closedPort()}/v1`, apiKey: sim.apiKey }),
      { limiter, retry: false },
    );
    await expect(
      client.chat.completions.create({ model: 'qwen3-max', messages: user('Hi'), max_tokens: 5 }),
    ).rejects.toBeInstanceOf(OpenAI.APIConnectionError);
    expect(departed).toBe(0);
    expect((await limiter.snapshot()).windows.every((w) => w.used === 0)).toBe(true);
  });
});
