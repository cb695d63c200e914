/**
 * Per-call priority and deadline through the SDK's own request options:
 * `create(body, tollgate({ priority, maxWaitMs }))`.
 */
import { Limiter, WaitTimeoutError } from '@tollgate/core';
import { createFakeClock } from '@tollgate/core/testing';
import { presets, type Simulator } from '@tollgate/simulator';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { tollgate, tollgateFetch, withTollgate } from '../src/index.js';
import { limiterFor, simulator, user } from './helpers.js';

const request = (content: string) => ({
  model: 'qwen3-max',
  messages: user(content),
  max_tokens: 20,
});

/** What reached the transport, in order: each request's URL path, headers and prompt. */
interface Sent {
  readonly path: string;
  readonly headers: Headers;
  readonly prompt: string | undefined;
}

/** The client's transport, recording what Tollgate hands it before it goes to the simulator. */
function recording(sent: Sent[]): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const body = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
    sent.push({
      path: url.pathname,
      headers: new Headers(init?.headers),
      prompt: (body as { messages?: Array<{ content: string }> } | undefined)?.messages?.[0]
        ?.content,
    });
    return fetch(input, init);
  };
}

/** A limiter on a fake clock whose one request of the minute is taken. */
async function saturatedOnFakeTime() {
  const clock = createFakeClock();
  const limiter = new Limiter({ quota: { rpm: 1 }, clock, margin: { ms: 0 } });
  await limiter.acquire({ tokens: 1 });
  return { clock, limiter };
}

/** Resolves when the limiter has `count` waiters. */
async function queued(limiter: Limiter, count: number): Promise<void> {
  await expect.poll(async () => (await limiter.snapshot()).queued).toBe(count);
}

const wrapped = (sim: Simulator, limiter: Limiter, sent: Sent[] = []) =>
  withTollgate(new OpenAI({ baseURL: sim.url, apiKey: sim.apiKey, fetch: recording(sent) }), {
    limiter,
    retry: false,
  });

describe('per-call priority', () => {
  it('admits the later call with the higher per-call priority first on a saturated limiter', async () => {
    const sim = await simulator({ ...presets.qwen3Max, timeScale: 10 });
    const { clock, limiter } = await saturatedOnFakeTime();
    const sent: Sent[] = [];
    const client = wrapped(sim, limiter, sent);

    const first = client.chat.completions.create(request('first, priority 0'));
    await queued(limiter, 1);
    const urgent = client.chat.completions.create(
      request('second, priority 10'),
      tollgate({ priority: 10 }),
    );
    await queued(limiter, 2);

    await clock.advance(60_000);
    await expect.poll(() => sent.length).toBe(1);
    expect((await limiter.snapshot()).queued).toBe(1);
    await clock.advance(60_000);
    await Promise.all([first, urgent]);

    expect(sent.map((request) => request.prompt)).toEqual([
      'second, priority 10',
      'first, priority 0',
    ]);
    expect(sim.stats().totals.admitted).toBe(2);
  });
});

describe('per-call maxWaitMs', () => {
  it.each([false, true])(
    'fails a call whose own maxWaitMs is too short with WaitTimeoutError itself (stream: %s)',
    async (stream) => {
      const sim = await simulator({ ...presets.qwen3Max, timeScale: 10 });
      const { limiter } = await saturatedOnFakeTime();
      const client = withTollgate(new OpenAI({ baseURL: sim.url, apiKey: sim.apiKey }), {
        limiter,
        maxWaitMs: 120_000,
      });

      const error = await client.chat.completions
        .create({ ...request('Hi'), stream }, tollgate({ maxWaitMs: 1_000 }))
        .catch((reason: unknown) => reason);

      expect(error).toBeInstanceOf(WaitTimeoutError);
      expect((error as WaitTimeoutError).maxWaitMs).toBe(1_000);
      expect((error as Error).message).toMatch(
        /^admission needs \d+ ms, more than maxWaitMs=1000$/,
      );
      expect(sim.stats().totals.requests).toBe(0);
    },
  );

  it('lets a call wait longer than the client’s maxWaitMs, its SDK signal still aborting the wait', async () => {
    const sim = await simulator({ ...presets.qwen3Max, timeScale: 10 });
    const { limiter } = await saturatedOnFakeTime();
    const client = withTollgate(new OpenAI({ baseURL: sim.url, apiKey: sim.apiKey }), {
      limiter,
      maxWaitMs: 1_000,
    });
    const signal = new AbortController();

    const call = client.chat.completions
      .create(request('Hi'), {
        ...tollgate({ maxWaitMs: Number.POSITIVE_INFINITY, priority: 5 }),
        signal: signal.signal,
      })
      .catch((reason: unknown) => reason);
    await queued(limiter, 1);
    signal.abort();

    expect(await call).toBeInstanceOf(OpenAI.APIUserAbortError);
    const snapshot = await limiter.snapshot();
    expect(snapshot.queued).toBe(0);
    expect(snapshot.windows[0]?.used).toBe(1); // the one taken before: nothing booked for the call
    expect(sim.stats().totals.requests).toBe(0);
  });
});

describe('the x-tollgate-* headers', () => {
  it('never reach the provider: read and removed from chat completions and every other request', async () => {
    const sim = await simulator({ ...presets.qwen3Max, timeScale: 10 });
    const sent: Sent[] = [];
    const client = wrapped(sim, limiterFor(sim, { rpm: 600, tpm: 1_000_000 }), sent);
    const options = tollgate({ priority: 3, maxWaitMs: 30_000 });

    await client.chat.completions.create(request('Hi'), options);
    const stream = await client.chat.completions.create(
      { ...request('Hi'), stream: true },
      { ...options, headers: { ...options.headers, 'x-trace': 'kept' } },
    );
    for await (const _chunk of stream);
    await client.models.list(options);
    const direct = tollgateFetch({
      limiter: limiterFor(sim, { rpm: 600 }),
      fetch: recording(sent),
    });
    await direct(
      new Request(`${sim.url}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${sim.apiKey}`, ...options.headers },
        body: JSON.stringify(request('Hi')),
      }),
    );

    expect(Object.keys(options.headers).sort()).toEqual([
      'x-tollgate-max-wait-ms',
      'x-tollgate-priority',
    ]);
    expect(sent.map((request) => request.path)).toEqual([
      '/v1/chat/completions',
      '/v1/chat/completions',
      '/v1/models',
      '/v1/chat/completions',
    ]);
    const names = sent.flatMap((request) => [...request.headers.keys()]);
    expect(names.filter((name) => name.startsWith('x-tollgate-'))).toEqual([]);
    expect(sent[1]?.headers.get('x-trace')).toBe('kept');
    expect(sim.stats().totals.admitted).toBe(3);
  });
});
