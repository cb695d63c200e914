import { Worker } from 'node:worker_threads';
import type { Clock } from '@tollgate/core';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { isSimulatorConfigError, simulatorClock, startSimulator } from '../src/index.js';
import { chat, type Json, sleep, start, statuses } from './helpers.js';

const messages = [
  { role: 'system', content: 'You answer in one paragraph.' },
  { role: 'user', content: 'Explain sliding windows.' },
];

interface Completion {
  id: string;
  object: string;
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: { role: string; content: string };
    finish_reason: string;
  }>;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

async function sse(response: Response): Promise<Array<Json | '[DONE]'>> {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      expect(block.startsWith('data: ')).toBe(true);
      const data = block.slice('data: '.length);
      return data === '[DONE]' ? '[DONE]' : (JSON.parse(data) as Json);
    });
}

describe('POST /v1/chat/completions', () => {
  it('answers like OpenAI, with usage the simulator can predict', async () => {
    const simulator = await start({ models: { m: {} } });
    const request = { model: 'm', messages, max_tokens: 200 };
    const response = await chat(simulator, { body: request });
    expect(response.status).toBe(200);
    const completion = (await response.json()) as Completion;
    const promptTokens = simulator.promptTokens(messages);
    const completionTokens = simulator.completionTokens(request);
    expect(completion).toMatchObject({
      object: 'chat.completion',
      model: 'm',
      choices: [{ index: 0, message: { role: 'assistant' }, finish_reason: 'stop' }],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
      },
    });
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(Math.abs(completion.created - Date.now() / 1000)).toBeLessThan(5);
    expect(countTokens(completion.choices[0]!.message.content)).toBe(completionTokens);
    expect(completionTokens).toBeGreaterThanOrEqual(60);
    expect(completionTokens).toBeLessThan(200);
  });

  it("finishes with 'length' when the answer hits max_tokens, and answers the same messages the same way", async () => {
    const simulator = await start({ models: { m: {} }, completion: { minRatio: 1, maxRatio: 1 } });
    const request = { model: 'm', messages, max_tokens: 25 };
    const first = (await (await chat(simulator, { body: request })).json()) as Completion;
    const second = (await (await chat(simulator, { body: request })).json()) as Completion;
    expect(first.choices[0]?.finish_reason).toBe('length');
    expect(first.usage.completion_tokens).toBe(25);
    expect(second.choices[0]?.message.content).toBe(first.choices[0]?.message.content);
  });

  it('is served under /compatible-mode/v1 as well', async () => {
    const simulator = await start({ models: { m: {} } });
    const url = simulator.url.replace(/\/v1$/, '/compatible-mode/v1');
    const response = await fetch(`${url}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${simulator.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages, max_tokens: 5 }),
    });
    expect(response.status).toBe(200);
    expect(simulator.stats().totals.admitted).toBe(1);
  });

  it('streams chunks and [DONE], without usage unless asked', async () => {
    const simulator = await start({ models: { m: {} } });
    const request = { model: 'm', messages, max_tokens: 100, stream: true };
    const response = await chat(simulator, { body: request });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await sse(response);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1) as Json[];
    for (const chunk of chunks) {
      expect(chunk).toMatchObject({ object: 'chat.completion.chunk', model: 'm' });
      expect(chunk).not.toHaveProperty('usage');
    }
    expect(chunks[0]).toMatchObject({
      choices: [{ delta: { role: 'assistant', content: '' }, finish_reason: null }],
    });
    expect(chunks.at(-1)).toMatchObject({ choices: [{ delta: {}, finish_reason: 'stop' }] });
    const text = chunks
      .map(
        (chunk) =>
          (chunk.choices as Array<{ delta: { content?: string } }>)[0]?.delta.content ?? '',
      )
      .join('');
    expect(countTokens(text)).toBe(simulator.completionTokens(request));
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
  });

  it('ends the stream with a usage chunk (choices: []) when stream_options.include_usage is set', async () => {
    const simulator = await start({ models: { m: {} } });
    const request = {
      model: 'm',
      messages,
      max_tokens: 100,
      stream: true,
      stream_options: { include_usage: true },
    };
    const events = await sse(await chat(simulator, { body: request }));
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1) as Json[];
    const last = chunks.at(-1);
    const prompt = simulator.promptTokens(messages);
    const completion = simulator.completionTokens(request);
    expect(last).toMatchObject({
      choices: [],
      usage: {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
      },
    });
    for (const chunk of chunks.slice(0, -1)) expect(chunk.usage).toBeNull();
  });

  it('corrects actual accounting when a stream completes', async () => {
    const simulator = await start({
      models: { m: { tpm: 10_000, tps: false } },
      accounting: 'actual',
    });
    const request = { model: 'm', messages, max_tokens: 1000, stream: true };
    await sse(await chat(simulator, { body: request }));
    const used = simulator.stats().windows.find((w) => w.window === 'tpm')?.used;
    expect(used).toBe(simulator.promptTokens(messages) + simulator.completionTokens(request));
  });
});

describe('GET /v1/models', () => {
  it('lists the configured models to a known key', async () => {
    const simulator = await start({ models: { a: {}, b: {} } });
    for (const base of [simulator.url, simulator.url.replace(/\/v1$/, '/compatible-mode/v1')]) {
      const response = await fetch(`${base}/models`, {
        headers: { authorization: `Bearer ${simulator.apiKey}` },
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        object: 'list',
        data: [
          { id: 'a', object: 'model', created: expect.any(Number), owned_by: 'system' },
          { id: 'b', object: 'model', created: expect.any(Number), owned_by: 'system' },
        ],
      });
    }
    const anonymous = await fetch(`${simulator.url}/models`);
    expect(anonymous.status).toBe(401);
    expect(simulator.stats().totals.requests).toBe(0);
  });
});

describe('other paths', () => {
  it('answers 404 Invalid URL', async () => {
    const simulator = await start({ mode: 'openai' });
    const response = await fetch(`${simulator.url}/completions`, { method: 'POST' });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: {
        message: 'Invalid URL (POST /v1/completions)',
        type: 'invalid_request_error',
        param: null,
        code: null,
      },
    });
  });
});

describe('stats', () => {
  it('counts totals, tokens and per key/account/model, also over GET /stats', async () => {
    const simulator = await start({
      models: { m: { rpm: 2, rps: false, burst: false } },
      accounts: [{ id: 'acme', keys: ['sk-1', 'sk-2'] }],
    });
    const request = { model: 'm', messages, max_tokens: 50 };
    await statuses(simulator, 2, { key: 'sk-1', body: request });
    await statuses(simulator, 1, { key: 'sk-2', body: request });
    await statuses(simulator, 1, { key: 'sk-bad', body: request });
    await statuses(simulator, 1, { key: 'sk-2', body: { ...request, model: 'nope' } });

    const stats = simulator.stats();
    const prompt = simulator.promptTokens(messages);
    const completion = simulator.completionTokens(request);
    expect(stats.totals).toEqual({
      requests: 5,
      admitted: 2,
      rejected: 3,
      rejectedBy: {
        'request-rate': 1,
        burst: 0,
        'token-rate': 0,
        'quota-exhausted': 0,
        auth: 1,
        'not-found': 1,
        'context-length': 0,
        'bad-request': 0,
      },
      promptTokens: 2 * prompt,
      completionTokens: 2 * completion,
    });
    expect(stats.rejected429).toBe(1);
    expect(Object.keys(stats.byKey).sort()).toEqual(['sk-1', 'sk-2']);
    expect(stats.byKey['sk-1']).toMatchObject({ requests: 2, admitted: 2 });
    expect(stats.byKey['sk-2']).toMatchObject({ requests: 2, admitted: 0, rejected: 2 });
    expect(stats.byAccount.acme).toMatchObject({ requests: 4, admitted: 2, rejected: 2 });
    expect(Object.keys(stats.byModel)).toEqual(['m']);
    expect(stats.byModel.m).toMatchObject({ requests: 3, admitted: 2 });
    expect(stats.admissions).toEqual([
      expect.objectContaining({
        account: 'acme',
        key: 'sk-1',
        model: 'm',
        promptTokens: prompt,
        maxTokens: 50,
        cost: prompt + 50,
        completionTokens: completion,
      }),
      expect.objectContaining({ key: 'sk-1' }),
    ]);
    expect(stats.admissions[1]!.at).toBeGreaterThanOrEqual(stats.admissions[0]!.at);
    expect(stats.windows).toEqual([
      {
        account: 'acme',
        model: 'm',
        window: 'rpm',
        unit: 'requests',
        limit: 2,
        windowMs: 60_000,
        used: 3,
        maxUsed: 2,
      },
    ]);

    const overHttp = (await (
      await fetch(`${simulator.url.replace(/\/v1$/, '')}/stats`)
    ).json()) as Json;
    expect({ ...overHttp, elapsedMs: 0 }).toEqual({ ...stats, elapsedMs: 0 });
  });

  it('reset() zeroes the counters; reset({ quotas: true }) empties the windows too', async () => {
    const simulator = await start({ models: { m: { rpm: 1, rps: false, burst: false } } });
    expect(await statuses(simulator, 2, { model: 'm' })).toEqual([200, 429]);
    simulator.reset();
    expect(simulator.stats().totals.requests).toBe(0);
    expect(simulator.stats().admissions).toEqual([]);
    expect(await statuses(simulator, 1, { model: 'm' })).toEqual([429]);
    simulator.reset({ quotas: true });
    expect(simulator.stats().windows).toEqual([]);
    expect(await statuses(simulator, 1, { model: 'm' })).toEqual([200]);
  });
});

describe('time scale', () => {
  it('runs windows on simulated time: at x150 a minute passes in 400 ms and the RPM window reopens', async () => {
    const simulator = await start({
      timeScale: 150,
      models: { m: { rpm: 3, rps: false, burst: false } },
    });
    const first = await Promise.all(
      Array.from({ length: 4 }, () => chat(simulator, { model: 'm' })),
    );
    expect(first.map((r) => r.status).sort()).toEqual([200, 200, 200, 429]);
    await sleep(500);
    expect(simulator.stats().elapsedMs).toBeGreaterThan(60_000);
    expect(await statuses(simulator, 4, { model: 'm' })).toEqual([200, 200, 200, 429]);
    expect(simulator.stats().totals.admitted).toBe(6);
  });

  it('scales latency: a simulated minute of latency at x600 completes', async () => {
    const simulator = await start({
      timeScale: 600,
      latencyMs: { base: 60_000 },
      models: { m: {} },
    });
    const before = simulator.clock.now();
    const response = await chat(simulator, { model: 'm' });
    expect(response.status).toBe(200);
    expect(simulator.clock.now() - before).toBeGreaterThanOrEqual(60_000);
    expect(simulator.clock.timeScale).toBe(600);
  });

  it('gives a clock in step with its own to another thread, from timeScale and anchor', async () => {
    const simulator = await start({ timeScale: 50 });
    const { timeScale, anchor } = simulator.clock;
    // The anchor's time base is shared by every thread: a worker's reading falls between two
    // of this thread's.
    const before = performance.timeOrigin + performance.now();
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       parentPort.postMessage(performance.timeOrigin + performance.now());`,
      { eval: true },
    );
    const inWorker = await new Promise<number>((resolve) => worker.once('message', resolve));
    const after = performance.timeOrigin + performance.now();
    await worker.terminate();
    expect(inWorker).toBeGreaterThanOrEqual(before);
    expect(inWorker).toBeLessThanOrEqual(after);
    // A clock built from it reads the same simulated time as the simulator's own.
    const twin = simulatorClock(timeScale, anchor);
    const first = simulator.clock.now();
    const reading = twin.now();
    const last = simulator.clock.now();
    expect(reading).toBeGreaterThanOrEqual(first);
    expect(reading).toBeLessThanOrEqual(last);
    expect(twin.timeScale).toBe(50);
    for (const bad of [
      () => simulatorClock(0, anchor),
      () => simulatorClock(timeScale, { realMs: Number.NaN, simulatedMs: 0 }),
    ]) {
      expect(isSimulatorConfigError(catchError(bad))).toBe(true);
    }
  });

  it("offers its clock, shaped as core's Clock, with timers in simulated milliseconds", async () => {
    const simulator = await start({ timeScale: 1000 });
    const clock: Clock = simulator.clock;
    const before = clock.now();
    await new Promise<void>((resolve) => clock.setTimeout(resolve, 30_000));
    expect(clock.now() - before).toBeGreaterThanOrEqual(30_000);
    let fired = false;
    clock.clearTimeout(clock.setTimeout(() => (fired = true), 1000));
    await sleep(20);
    expect(fired).toBe(false);
  });
});

describe('startSimulator / close', () => {
  it('listens on 127.0.0.1 with a free port and a /v1 URL', async () => {
    const simulator = await start();
    expect(simulator.port).toBeGreaterThan(0);
    expect(simulator.url).toBe(`http://127.0.0.1:${simulator.port}/v1`);
    expect(simulator.apiKey).toBe('sk-tollgate-demo');
    expect(simulator.mode).toBe('dashscope');
  });

  it('drops in-flight responses and stops listening', async () => {
    const simulator = await startSimulator({ latencyMs: { base: 600_000 }, models: { m: {} } });
    const pending = chat(simulator, { model: 'm' });
    await sleep(50);
    await simulator.close();
    await expect(pending).rejects.toThrow();
    await expect(fetch(`${simulator.url}/models`)).rejects.toThrow();
    await simulator.close();
  });

  it('reports a port in use', async () => {
    const first = await start();
    await expect(startSimulator({ port: first.port })).rejects.toMatchObject({
      code: 'EADDRINUSE',
    });
  });
});

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}
