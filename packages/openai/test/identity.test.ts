/**
 * Tollgate's own errors reach the caller of the real SDK as themselves — not as the SDK's
 * `APIConnectionError` ("Connection error.") or `APIConnectionTimeoutError` ("Request timed
 * out.", cause dropped) that openai-node makes of any rejection of its fetch.
 */
import {
  type CallContext,
  isTollgateError,
  type Layer,
  Limiter,
  LimiterClosedError,
  MemoryStore,
  RequestTooLargeError,
  type Store,
  StoreError,
  type TollgateErrorCode,
  WaitAbortedError,
  WaitTimeoutError,
} from '@tollgate/core';
import { RetryAbortedError } from '@tollgate/retry';
import { presets, type Simulator } from '@tollgate/simulator';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { type ChatCompletionBody, type WithTollgateOptions, withTollgate } from '../src/index.js';
import { closedPort, limiterFor, simulator, user } from './helpers.js';

const QWEN3_MAX = { rpm: 600, tpm: 1_000_000, rps: 10, tps: 16_667 } as const;
const HI = { model: 'qwen3-max', messages: user('Hi'), max_tokens: 20 };

/** A layer that hands the calls below it a signal of its own: a deadline of the caller's. */
const abortingWith =
  (signal: AbortSignal): Layer<ChatCompletionBody, Response> =>
  (next) =>
  (request, context: CallContext) =>
    next(request, { ...context, signal });

/** A store that is down: every admission fails, as a Redis that stopped answering does. */
function downStore(): Store {
  const memory = new MemoryStore();
  return {
    admit: () => Promise.reject(new Error('connection to the store lost')),
    rebook: (...args) => memory.rebook(...args),
    release: (...args) => memory.release(...args),
    restamp: (...args) => memory.restamp(...args),
    pause: (...args) => memory.pause(...args),
    throttle: (...args) => memory.throttle(...args),
    widen: (...args) => memory.widen(...args),
    snapshot: (...args) => memory.snapshot(...args),
  };
}

/** A limiter with its one request of the minute taken: the next call waits about a minute. */
async function saturated(sim: Simulator): Promise<Limiter> {
  const limiter = limiterFor(sim, { rpm: 1 });
  await limiter.acquire({ tokens: 1 });
  return limiter;
}

/** Resolves once the limiter has a waiter, then runs `then`. */
const onceWaiting = (limiter: Limiter, then: () => void) => {
  const off = limiter.on('waiting', () => {
    off();
    then();
  });
};

interface Case {
  readonly name: string;
  readonly code: TollgateErrorCode;
  readonly type: abstract new (...args: never[]) => Error;
  readonly message: RegExp;
  /** The client options and the body of the call that fails. */
  setup(sim: Simulator): Promise<{ options: WithTollgateOptions; body?: object }>;
}

const cases: ReadonlyArray<Case> = [
  {
    name: 'a request no window can ever hold: RequestTooLargeError',
    code: 'TOLLGATE_REQUEST_TOO_LARGE',
    type: RequestTooLargeError,
    message: /^request needs \d+ in window tokens\/1m, which never holds more than \d+$/,
    setup: async (sim) => ({
      options: { limiter: limiterFor(sim, { ...QWEN3_MAX, tpm: 1_000 }) },
      body: { ...HI, max_tokens: 5_000 },
    }),
  },
  {
    name: 'a wait longer than maxWaitMs: WaitTimeoutError (whose text says "timeout")',
    code: 'TOLLGATE_WAIT_TIMEOUT',
    type: WaitTimeoutError,
    message: /^admission needs \d+ ms, more than maxWaitMs=5000$/,
    setup: async (sim) => ({ options: { limiter: await saturated(sim), maxWaitMs: 5_000 } }),
  },
  {
    name: 'a wait aborted by a layer’s own deadline: WaitAbortedError',
    code: 'TOLLGATE_WAIT_ABORTED',
    type: WaitAbortedError,
    message: /^wait aborted after \d+ ms$/,
    setup: async (sim) => {
      const limiter = await saturated(sim);
      const deadline = new AbortController();
      onceWaiting(limiter, () => deadline.abort(new DOMException('deadline', 'TimeoutError')));
      return { options: { limiter, retry: false, layers: [abortingWith(deadline.signal)] } };
    },
  },
  {
    name: 'the same deadline above the retries: retry’s RetryAbortedError',
    code: 'TOLLGATE_RETRY_ABORTED',
    type: RetryAbortedError,
    message: /^retry aborted after 1 attempts$/,
    setup: async (sim) => {
      const limiter = await saturated(sim);
      const deadline = new AbortController();
      onceWaiting(limiter, () => deadline.abort(new DOMException('deadline', 'TimeoutError')));
      return {
        options: {
          limiter,
          retry: { provider: 'dashscope', clock: sim.clock },
          layers: [abortingWith(deadline.signal)],
        },
      };
    },
  },
  {
    name: 'a store that is down: StoreError',
    code: 'TOLLGATE_STORE',
    type: StoreError,
    message: /^store\.admit failed$/,
    setup: async (sim) => ({
      options: {
        limiter: new Limiter({ quota: QWEN3_MAX, clock: sim.clock, store: downStore() }),
      },
    }),
  },
  {
    name: 'a closed limiter: LimiterClosedError',
    code: 'TOLLGATE_LIMITER_CLOSED',
    type: LimiterClosedError,
    message: /^limiter is closed$/,
    setup: async (sim) => {
      const limiter = limiterFor(sim, QWEN3_MAX);
      limiter.close();
      return { options: { limiter } };
    },
  },
  {
    name: 'a max_tokens that is not an integer: InvalidArgumentError',
    code: 'TOLLGATE_INVALID_ARGUMENT',
    type: Error, // core's InvalidArgumentError, checked by its code
    message: /^request\.max_tokens: must be an integer >= 0, got 1\.5$/,
    setup: async (sim) => ({
      options: { limiter: limiterFor(sim, QWEN3_MAX) },
      body: { ...HI, max_tokens: 1.5 },
    }),
  },
];

describe.each([
  { stream: false, mode: 'non-streaming' },
  { stream: true, mode: 'streaming' },
])('Tollgate errors through the SDK, $mode', ({ stream }) => {
  it.each(cases)('$name reaches the caller as itself', async (testCase) => {
    const sim = await simulator({ ...presets.qwen3Max, timeScale: 10 });
    const { options, body = HI } = await testCase.setup(sim);
    const client = withTollgate(new OpenAI({ baseURL: sim.url, apiKey: sim.apiKey }), options);

    const error = await client.chat.completions
      .create({ ...(body as typeof HI), stream })
      .catch((reason: unknown) => reason);

    expect(isTollgateError(error, testCase.code)).toBe(true);
    expect(error).toBeInstanceOf(testCase.type);
    expect(error).not.toBeInstanceOf(OpenAI.APIError);
    expect((error as Error).message).toMatch(testCase.message);
    expect(sim.stats().totals.requests).toBe(0);
  });

  it('leaves a refused connection to the SDK: APIConnectionError, the fetch error as its cause', async () => {
    const port = await closedPort();
    const sim = await simulator({ ...presets.qwen3Max, timeScale: 10 });
    const client = withTollgate(
      new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'sk-test' }),
      { limiter: limiterFor(sim, QWEN3_MAX), retry: false },
    );

    const error = await client.chat.completions
      .create({ ...HI, stream })
      .catch((reason: unknown) => reason);

    expect(error).toBeInstanceOf(OpenAI.APIConnectionError);
    expect(error).not.toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    expect((error as Error).message).toBe('Connection error.');
    expect((error as Error).cause).toBeInstanceOf(TypeError);
    expect(isTollgateError((error as Error).cause)).toBe(false);
  });
});

describe('Tollgate errors through the SDK, per request', () => {
  it('gives each of concurrent calls its own outcome', async () => {
    const sim = await simulator({ ...presets.qwen3Max, timeScale: 10 });
    const client = withTollgate(new OpenAI({ baseURL: sim.url, apiKey: sim.apiKey }), {
      limiter: limiterFor(sim, { ...QWEN3_MAX, tpm: 10_000 }),
    });
    const outcomes = await Promise.all(
      [{ max_tokens: 1.5 }, { max_tokens: 20_000 }, { max_tokens: 20 }, { max_tokens: 2.5 }].map(
        (fields, i) =>
          client.chat.completions.create({ ...HI, ...fields, stream: i % 2 === 1 }).then(
            () => 'ok',
            (error: unknown) => (isTollgateError(error) ? error.code : error),
          ),
      ),
    );
    expect(outcomes).toEqual([
      'TOLLGATE_INVALID_ARGUMENT',
      'TOLLGATE_REQUEST_TOO_LARGE',
      'ok',
      'TOLLGATE_INVALID_ARGUMENT',
    ]);
    expect(sim.stats().totals.requests).toBe(1);
  });

  it('keeps them on clients made by withOptions() of a wrapped client, and on a rewrapped one', async () => {
    const sim = await simulator({ ...presets.qwen3Max, timeScale: 10 });
    const limiter = limiterFor(sim, QWEN3_MAX);
    limiter.close();
    const wrapped = withTollgate(new OpenAI({ baseURL: sim.url, apiKey: sim.apiKey }), {
      limiter,
    });
    const derived = wrapped.withOptions({ timeout: 120_000 }).withOptions({ maxRetries: 0 });
    const rewrapped = withTollgate(derived, { limiter, retry: false });

    for (const client of [derived, rewrapped]) {
      expect(client).toBeInstanceOf(OpenAI);
      const error = await client.chat.completions.create(HI).catch((reason: unknown) => reason);
      expect(error).toBeInstanceOf(LimiterClosedError);
    }
    expect(derived.timeout).toBe(120_000);
  });

  it('answers with the SDK’s own error when an SDK retry of a Tollgate failure is refused', async () => {
    // A per-request maxRetries turns the SDK's retries back on: its last attempt's answer (a
    // 401 here) is the outcome, not the Tollgate error of the attempt it retried.
    const sim = await simulator({ ...presets.qwen3Max, timeScale: 10 });
    let calls = 0;
    const closedOnce: Layer<ChatCompletionBody, Response> = (next) => (request, context) => {
      calls++;
      if (calls === 1) return Promise.reject(new LimiterClosedError());
      return next(request, context);
    };
    const client = withTollgate(new OpenAI({ baseURL: sim.url, apiKey: 'sk-unknown' }), {
      limiter: limiterFor(sim, QWEN3_MAX),
      layers: [closedOnce],
      retry: false,
    });

    const error = await client.chat.completions
      .create(HI, { maxRetries: 1 })
      .catch((reason: unknown) => reason);

    expect(calls).toBe(2);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(sim.stats().totals.requests).toBe(1);
  });
});
