import { describe, expect, it } from 'vitest';
import {
  type Call,
  type CallContext,
  ConfigurationError,
  defaultChatEstimator,
  isTollgateError,
  type Layer,
  Limiter,
  limit,
  openAIUsage,
  pipeline,
  run,
} from '../src/index.js';
import { createFakeClock } from '../src/testing.js';

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

  it('admits with the chat estimate, records limiter and permit, settles with the usage', async () => {
    const { limiter } = setup();
    let seen: CallContext | undefined;
    const call: Call<ChatRequest, ChatResponse> = async (_request, context) => {
      seen = { ...context };
      return reply(7, 3);
    };
    const send = pipeline(limit(limiter))(call); // no type arguments: the layer takes the call's
    await run(send, request);
    const expected = defaultChatEstimator.estimate(request);
    expect(seen?.limiter).toBe(limiter);
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

  it('rejects unknown options', () => {
    const { limiter } = setup();
    expect(() => limit(limiter, { estimat: () => 1 } as never)).toThrow(ConfigurationError);
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
