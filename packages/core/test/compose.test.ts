import { describe, expect, it } from 'vitest';
import type { Permit } from '../src/index.js';
import {
  type Call,
  type CallContext,
  ConfigurationError,
  defaultChatEstimator,
  InvalidArgumentError,
  isTollgateError,
  type Layer,
  Limiter,
  limit,
  openAIUsage,
  pipeline,
  run,
} from '../src/index.js';
import { createFakeClock } from '../src/testing.js';
import { used } from './support/permits.js';

interface ChatRequest {
  messages: Array<{ role: string; content: string }>;
  max_tokens: number;
}
interface ChatResponse {
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

const request: ChatRequest = {
  messages: [{ role: 'user', content: 'hello there' }],
  max_tokens: 100,
};
const reply = (prompt: number, completion: number): ChatResponse => ({
  usage: {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
  },
});

function tag(name: string, log: string[]): Layer<string, string> {
  return (next) => async (input, context) => {
    log.push(`${name}>`);
    const output = await next(`${input}${name}`, context);
    log.push(`<${name}`);
    return output;
  };
}

describe('pipeline', () => {
  it('wraps outermost first, like the nesting it replaces', async () => {
    const log: string[] = [];
    const call: Call<string, string> = async (input) => input.toUpperCase();
    const send = pipeline(tag('a', log), tag('b', log))(call);
    expect(await run(send, 'x')).toBe('XAB');
    expect(log).toEqual(['a>', 'b>', '<b', '<a']);
  });

  it('with no layers is the call itself', async () => {
    const call: Call<string, string> = async (input) => input;
    expect(pipeline<string, string>()(call)).toBe(call);
  });
});

describe('limit layer', () => {
  const setup = (accounting: 'reserved' | 'actual' = 'actual') => {
    const clock = createFakeClock();
    const limiter = new Limiter({
      quota: { rpm: 2, tpm: 10_000, accounting },
      clock,
      margin: { ms: 0 },
      pacing: false,
    });
    return { clock, limiter };
  };

  it('admits with the chat estimate, gives the call its permit, settles with the usage', async () => {
    const { limiter } = setup();
    let seen: CallContext | undefined;
    const call: Call<ChatRequest, ChatResponse> = async (_request, context) => {
      seen = { ...context };
      return reply(7, 3);
    };
    const send = pipeline(limit(limiter))(call); // no type arguments: the layer takes the call's
    await run(send, request);
    const expected = defaultChatEstimator.estimate(request);
    expect(seen?.permit?.tokens).toBe(expected.prompt + expected.output);
    expect(seen?.permit?.state).toBe('settled');
    expect((await limiter.snapshot()).windows.map((w) => w.used)).toEqual([1, 10]);
  });

  it('keeps the reservation when the call fails after it may have been sent', async () => {
    const { limiter } = setup();
    const send = limit(limiter)(async () => {
      throw new Error('socket hang up');
    });
    await expect(run(send, request)).rejects.toThrow('socket hang up');
    const estimate = defaultChatEstimator.estimate(request);
    expect((await limiter.snapshot()).windows.map((w) => w.used)).toEqual([
      1,
      estimate.prompt + estimate.output,
    ]);
  });

  it('refunds a call that certainly never left', async () => {
    const { limiter } = setup();
    const send = limit(limiter, { sent: () => false })(async () => {
      throw new Error('ECONNREFUSED');
    });
    await expect(run(send, request)).rejects.toThrow('ECONNREFUSED');
    expect((await limiter.snapshot()).windows.map((w) => w.used)).toEqual([0, 0]);
  });

  it('waits with the context signal and stops waiting when it aborts', async () => {
    const { clock, limiter } = setup();
    const send = limit(limiter)(async () => reply(1, 1));
    await run(send, request);
    await run(send, request);
    const controller = new AbortController();
    const third = run(send, request, { signal: controller.signal }).catch((e: unknown) => e);
    await clock.advance(1000);
    controller.abort();
    expect(isTollgateError(await third, 'TOLLGATE_WAIT_ABORTED')).toBe(true);
  });

  it('takes a custom estimate, usage reader and priority for other request types', async () => {
    const { limiter } = setup();
    const booked: number[] = [];
    limiter.on('admitted', ({ permit }) => booked.push(permit.tokens));
    const send = limit<{ text: string }, { used: number }>(limiter, {
      estimate: (input) => input.text.length,
      usage: (output) => ({ totalTokens: output.used }),
      priority: () => 3,
    })(async () => ({ used: 2 }));
    await run(send, { text: 'abcdef' });
    expect(booked).toEqual([6]);
    expect((await limiter.snapshot()).windows.map((w) => w.used)).toEqual([1, 2]);
  });

  it('refunds, by default, a call whose error proves it never left (a code along its cause chain)', async () => {
    const { limiter } = setup();
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const send = limit(limiter)(async () => {
      throw new TypeError('fetch failed', { cause: refused });
    });
    await expect(run(send, request)).rejects.toThrow('fetch failed');
    expect(await used(limiter)).toEqual([0, 0]);
  });

  it('refunds a happy-eyeballs failure only when every address was refused', async () => {
    const { limiter } = setup();
    const code = (c: string) => Object.assign(new Error(c), { code: c });
    const fail = (errors: Error[]) =>
      run(
        limit(limiter)(async () => {
          throw new TypeError('fetch failed', { cause: new AggregateError(errors) });
        }),
        request,
      ).catch(() => undefined);
    await fail([code('ECONNREFUSED'), code('EHOSTUNREACH')]);
    expect((await used(limiter))[0]).toBe(0);
    await fail([code('ECONNREFUSED'), code('ECONNRESET')]);
    expect((await used(limiter))[0]).toBe(1);
  });

  it('cancels a permit granted in the turn its signal aborted: nothing was sent', async () => {
    const { limiter } = setup();
    const controller = new AbortController();
    let called = false;
    const send = limit(limiter)(async () => {
      called = true;
      return reply(1, 1);
    });
    const pending = run(send, request, { signal: controller.signal }).catch((e: unknown) => e);
    controller.abort(new Error('stop'));
    const error = await pending;
    expect(isTollgateError(error, 'TOLLGATE_WAIT_ABORTED')).toBe(true);
    expect((error as Error).cause).toEqual(new Error('stop'));
    expect(called).toBe(false);
    expect(await used(limiter)).toEqual([0, 0]);
  });

  it('tells the layer above as the call waits and once it is admitted; an abort there stops it unsent', async () => {
    const { clock, limiter } = setup();
    const calls: CallContext[] = [];
    const send = limit(limiter)(async (_request, context) => {
      calls.push(context);
      return reply(1, 1);
    });
    // told it waits, then told with the permit before the call runs; neither passed further down
    const told: Array<Permit | 'waiting'> = [];
    await run(send, request, {
      waiting: () => told.push('waiting'),
      admitted: (permit) => {
        expect(calls).toHaveLength(0);
        told.push(permit);
      },
    });
    expect(told).toEqual(['waiting', calls[0]?.permit]);
    expect(calls[0]).not.toHaveProperty('admitted');
    expect(calls[0]).not.toHaveProperty('waiting');
    // the second caller stops itself when told: refunded, nothing sent
    const controller = new AbortController();
    const stopped = run(send, request, {
      signal: controller.signal,
      admitted: () => controller.abort(new Error('served elsewhere')),
    }).catch((e: unknown) => e);
    await clock.advance(0);
    const error = await stopped;
    expect(isTollgateError(error, 'TOLLGATE_WAIT_ABORTED')).toBe(true);
    expect((error as Error).cause).toEqual(new Error('served elsewhere'));
    expect(calls).toHaveLength(1);
    expect(await used(limiter)).toEqual([1, 2]);
    // a hook that throws: refunded, and its error goes up
    const broken = run(send, request, {
      admitted: () => {
        throw new Error('hook broke');
      },
    });
    await expect(broken).rejects.toThrow('hook broke');
    expect(calls).toHaveLength(1);
    expect(await used(limiter)).toEqual([1, 2]);
  });

  it('settles from a usage promise when it resolves, without holding the response back', async () => {
    const { limiter } = setup();
    let deliver: (usage: { totalTokens: number }) => void = () => {};
    const usage = new Promise<{ totalTokens: number }>((resolve) => {
      deliver = resolve;
    });
    let permit: Permit | undefined;
    const send = limit<{ text: string }, string>(limiter, {
      estimate: () => 50,
      usage: () => usage,
    })(async (_request, context) => {
      permit = context.permit;
      return 'streaming';
    });
    expect(await run(send, { text: 'x' })).toBe('streaming');
    expect(permit?.state).toBe('active');
    deliver({ totalTokens: 7 });
    await usage;
    await Promise.resolve();
    expect(permit?.state).toBe('settled');
    expect(await used(limiter)).toEqual([1, 7]); // actual accounting: rebooked to the usage
  });

  it('keeps the reservation when the usage promise fails or the call settled the permit itself', async () => {
    const { limiter } = setup();
    const failing = limit<{ text: string }, string>(limiter, {
      estimate: () => 50,
      usage: () => Promise.reject(new Error('stream broke')),
    })(async () => 'ok');
    await run(failing, { text: 'x' });
    await new Promise((resolve) => setImmediate(resolve));
    const selfSettled = limit<{ text: string }, string>(limiter, { estimate: () => 30 })(
      async (_request, context) => {
        context.permit?.settle({ totalTokens: 5 });
        return 'ok';
      },
    );
    await run(selfSettled, { text: 'x' });
    expect(await used(limiter)).toEqual([2, 55]);
    expect((await limiter.snapshot()).inFlight).toBe(0);
  });

  it.each([
    [
      'throws',
      () => {
        throw new TypeError('no messages');
      },
      'request: could not be estimated (TypeError: no messages)',
    ],
    [
      'returns undefined',
      () => undefined,
      'limit.estimate(request): must be a token count or { prompt, output }, got undefined',
    ],
    [
      'returns NaN',
      () => Number.NaN,
      'limit.estimate(request): must be a finite number >= 0, got NaN',
    ],
    [
      'returns a string',
      () => '50',
      'limit.estimate(request): must be a token count or { prompt, output }, got "50"',
    ],
    [
      'returns half an estimate',
      () => ({ prompt: 10 }),
      'limit.estimate(request).output: must be a finite number >= 0, got undefined',
    ],
    [
      'returns an estimate with an unknown part',
      () => ({ prompt: 10, output: 5, tools: 3 }),
      'limit.estimate(request).tools: unknown option (known: prompt, output)',
    ],
  ])(
    'rejects a request whose estimate %s with InvalidArgumentError, and books nothing',
    async (_name, estimate, message) => {
      const { limiter } = setup();
      let calls = 0;
      const send = limit<{ text: string }, string>(limiter, { estimate: estimate as never })(
        async () => {
          calls++;
          return 'ok';
        },
      );
      const error = await run(send, { text: 'x' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toBe(message);
      expect(calls).toBe(0);
      expect(await used(limiter)).toEqual([0, 0]);
      expect((await limiter.snapshot()).inFlight).toBe(0);
    },
  );

  it('keeps the cause of an estimate that threw, and passes a Tollgate error through as it is', async () => {
    const { limiter } = setup();
    const cause = new TypeError('no messages');
    const threw = await run(
      limit(limiter, {
        estimate: () => {
          throw cause;
        },
      })(async () => 1),
      {},
    ).catch((e: unknown) => e);
    expect((threw as Error).cause).toBe(cause);
    // the chat estimator's own error for a bad cap, and a request with no messages at all
    const send = limit(limiter)(async () => reply(1, 1));
    const badCap = await run(send, { ...request, max_tokens: -1 }).catch((e: unknown) => e);
    expect((badCap as Error).message).toBe('request.max_tokens: must be an integer >= 0, got -1');
    const noMessages = await run(send, {} as ChatRequest).catch((e: unknown) => e);
    expect(noMessages).toBeInstanceOf(InvalidArgumentError);
    expect((noMessages as InvalidArgumentError).argument).toBe('request');
    expect(await used(limiter)).toEqual([0, 0]);
  });

  it.each([
    [
      'returns a negative field',
      () => ({ promptTokens: -1 }),
      'usage.promptTokens: must be a finite number >= 0, got -1',
    ],
    [
      'returns an unknown field',
      () => ({ prompt_tokens: 7 }),
      'usage.prompt_tokens: unknown option (known: promptTokens, completionTokens, totalTokens)',
    ],
    [
      'resolves to a NaN field',
      () => Promise.resolve({ totalTokens: Number.NaN }),
      'usage.totalTokens: must be a finite number >= 0, got NaN',
    ],
    ['rejects', () => Promise.reject(new Error('stream broke')), 'stream broke'],
    [
      'throws',
      () => {
        throw new Error('no usage here');
      },
      'no usage here',
    ],
  ])(
    'settles without usage when the usage option %s, keeps the reservation and reports an error event',
    async (_name, usage, message) => {
      const { limiter } = setup(); // actual accounting: good usage would rebook to it
      const errors: unknown[] = [];
      limiter.on('error', ({ error }) => errors.push(error));
      let permit: Permit | undefined;
      const send = limit<{ text: string }, string>(limiter, {
        estimate: () => 50,
        usage: usage as never,
      })(async (_request, context) => {
        permit = context.permit;
        return 'answer';
      });
      expect(await run(send, { text: 'x' })).toBe('answer');
      await new Promise((resolve) => setImmediate(resolve));
      expect(permit?.state).toBe('settled');
      expect(await used(limiter)).toEqual([1, 50]);
      expect(errors.map((error) => (error as Error).message)).toEqual([message]);
      expect((await limiter.snapshot()).inFlight).toBe(0);
    },
  );

  it('reports a field of an OpenAI usage that is not a count, with the default reader', async () => {
    const { limiter } = setup();
    const errors: unknown[] = [];
    limiter.on('error', ({ error }) => errors.push(error));
    const send = limit(limiter)(async () => ({
      usage: { prompt_tokens: 'twelve', completion_tokens: 3, total_tokens: null },
    }));
    await run(send, request);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(InvalidArgumentError);
    expect((errors[0] as Error).message).toBe(
      'response.usage.prompt_tokens: must be a finite number >= 0, got "twelve"',
    );
    // the reservation (the chat estimate) stays booked, not 3 tokens
    expect((await used(limiter))[1]).toBe(
      defaultChatEstimator.estimate(request).prompt + request.max_tokens,
    );
  });

  it('keeps the reservation when `sent` throws, reports it, and the call fails with its own error', async () => {
    const { limiter } = setup();
    const errors: unknown[] = [];
    limiter.on('error', ({ error }) => errors.push(error));
    const failure = new Error('connection reset');
    const broken = new Error('sent is broken');
    const send = limit<{ text: string }, string>(limiter, {
      estimate: () => 40,
      sent: () => {
        throw broken;
      },
    })(async () => {
      throw failure;
    });
    await expect(run(send, { text: 'x' })).rejects.toBe(failure);
    expect(errors).toEqual([broken]);
    expect(await used(limiter)).toEqual([1, 40]);
    expect((await limiter.snapshot()).inFlight).toBe(0);
  });

  it('heeds the feedback on an error before the error goes up, for the next admission', async () => {
    const { clock, limiter } = setup();
    const outcomes: string[] = [];
    const refusal = Object.assign(new Error('429'), { status: 429 });
    const send = limit(limiter, {
      feedback: (outcome) => {
        outcomes.push(outcome.ok ? 'ok' : (outcome.error as Error).message);
        return outcome.ok ? undefined : { pauseMs: 3000 };
      },
    })(async () => {
      throw refusal;
    });
    await expect(run(send, request)).rejects.toBe(refusal);
    expect(outcomes).toEqual(['429']);
    expect((await limiter.snapshot()).pausedForMs).toBe(3000);
    await clock.advance(1);
    expect((await limiter.snapshot()).pausedForMs).toBe(2999);
  });

  it('heeds the feedback on a response too (a rate-limit header that says the window is spent)', async () => {
    const { limiter } = setup();
    const throttled: number[] = [];
    limiter.on('throttled', ({ factor }) => throttled.push(factor));
    const send = limit(limiter, {
      feedback: (outcome) =>
        outcome.ok ? { throttle: { factor: 0.5, durationMs: 1000 } } : undefined,
    })(async () => reply(1, 1));
    await run(send, request);
    expect(throttled).toEqual([0.5]);
    expect((await limiter.snapshot()).throttle?.factor).toBe(0.5);
  });

  it('admits by the limiter the context picks: the account and model set by the layers above', async () => {
    const clock = createFakeClock();
    const make = () => new Limiter({ quota: { rpm: 5 }, clock, pacing: false, margin: { ms: 0 } });
    const limiters = new Map([
      ['a', make()],
      ['b', make()],
    ]);
    const onAccount =
      (id: string): Layer<ChatRequest, ChatResponse> =>
      (next) =>
      (input, context) =>
        next(input, { ...context, account: { id } });
    const seen: string[] = [];
    const call: Call<ChatRequest, ChatResponse> = async (_input, context) => {
      seen.push(`${context.account?.id}:${context.permit?.state}`);
      return reply(1, 1);
    };
    const layer = limit((context) => limiters.get(context.account?.id ?? 'a')!);
    await run(pipeline(onAccount('b'), layer)(call), request);
    await run(pipeline(onAccount('b'), layer)(call), request);
    await run(pipeline(onAccount('a'), layer)(call), request);
    expect(seen).toEqual(['b:active', 'b:active', 'a:active']);
    expect((await limiters.get('a')!.snapshot()).windows[0]?.used).toBe(1);
    expect((await limiters.get('b')!.snapshot()).windows[0]?.used).toBe(2);
  });

  it('passes a new context down and never writes to the one it was given', async () => {
    const { limiter } = setup();
    const context = Object.freeze({ attempt: 1 });
    let inner: CallContext | undefined;
    await limit(limiter)(async (_request, given) => {
      inner = given;
      return reply(1, 1);
    })(request, context);
    expect(context).toEqual({ attempt: 1 });
    expect(inner).not.toBe(context);
    expect(inner?.permit?.state).toBe('settled');
  });

  it('rejects unknown options and a limiter that is not one', () => {
    const { limiter } = setup();
    expect(() => limit(limiter, { estimat: () => 1 } as never)).toThrow(
      'limit.estimat: unknown option (known: estimate, usage, feedback, priority, maxWaitMs, sent)',
    );
    expect(() => limit(limiter, { feedback: 3 } as never)).toThrow(
      'limit.feedback: must be a function, got 3',
    );
    expect(() => limit({} as never)).toThrow(ConfigurationError);
  });
});

describe('openAIUsage', () => {
  it('reads OpenAI usage and ignores what is missing or malformed', () => {
    expect(openAIUsage(reply(5, 6))).toEqual({
      promptTokens: 5,
      completionTokens: 6,
      totalTokens: 11,
    });
    expect(openAIUsage({ usage: { prompt_tokens: -1, completion_tokens: 'x' } })).toEqual({});
    expect(openAIUsage({})).toBeUndefined();
    expect(openAIUsage(null)).toBeUndefined();
  });
});
