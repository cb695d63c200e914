import { classifyResponse, type ErrorKind } from '@tollgate/retry';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type Simulator,
  type SimulatorConfig,
  type SimulatorMode,
  startSimulator,
} from '../src/index.js';
import { type Json, UUID } from './helpers.js';

const noPerSecond = { rps: false, tps: false, burst: false } as const;

const config = (mode: SimulatorMode): SimulatorConfig => ({
  mode,
  latencyMs: { base: 0 },
  organization: 'org-test',
  models: {
    open: { contextWindow: 100, maxOutputTokens: 50 },
    rpm: { rpm: 1, ...noPerSecond },
    burst: { rpm: 6000, rps: false, burst: { windowMs: 60_000, limit: 1 } },
    tpm: { tpm: 30, tps: false },
  },
  accounts: [
    { id: 'main', keys: ['sk-main-0123456789'] },
    { id: 'free', keys: ['sk-free'], freeTokens: 1 },
  ],
});

interface Scenario {
  readonly name: string;
  /** Requests sent first, to fill a window. */
  readonly warmUp?: number;
  readonly key?: string | null;
  readonly raw?: string;
  readonly body?: Json;
}

const hello = (model: string, maxTokens = 10, content = 'hello'): Json => ({
  model,
  messages: [{ role: 'user', content }],
  max_tokens: maxTokens,
});
// 3 + 4 + 60 = 67 prompt tokens: with max_tokens 40, 107 tokens overflow a 100-token context.
const LONG = `hello${' hello'.repeat(59)}`;

const SCENARIOS = {
  unknownKey: { name: 'an unknown key', key: 'sk-wrong-key-abcdefgh', body: hello('open') },
  missingKey: { name: 'no key', key: null, body: hello('open') },
  unknownModel: { name: 'an unknown model', body: hello('gpt-9') },
  contextLength: {
    name: 'prompt + max_tokens over the context window',
    body: hello('open', 40, LONG),
  },
  outputCap: { name: 'max_tokens above the model cap', body: hello('open', 51) },
  invalidJson: { name: 'a body that is not JSON', raw: '{"model":' },
  missingMessages: { name: 'no messages', body: { model: 'open' } },
  requestRate: { name: 'a full RPM window', warmUp: 1, body: hello('rpm') },
  burst: { name: 'the burst guard', warmUp: 1, body: hello('burst') },
  tokenRate: { name: 'a full TPM window', warmUp: 1, body: hello('tpm') },
  freeTier: { name: 'a used-up free tier', warmUp: 1, key: 'sk-free', body: hello('open') },
} satisfies Record<string, Scenario>;
type ScenarioName = keyof typeof SCENARIOS;

async function send(simulator: Simulator, scenario: Scenario): Promise<Response> {
  const key = scenario.key === undefined ? 'sk-main-0123456789' : scenario.key;
  const post = () =>
    fetch(`${simulator.url}/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(key === null ? {} : { authorization: `Bearer ${key}` }),
      },
      body: scenario.raw ?? JSON.stringify(scenario.body),
    });
  for (let i = 0; i < (scenario.warmUp ?? 0); i++) {
    const warm = await post();
    expect(warm.status).toBe(200);
    await warm.arrayBuffer();
  }
  return post();
}

const dashscope = (code: string, message: string, type: string) => ({
  error: { code, message, param: null, type },
  request_id: expect.stringMatching(UUID),
});
const openai = (
  message: string | ReturnType<typeof expect.stringMatching>,
  type: string,
  code: string | null,
  param: string | null = null,
) => ({
  error: { message, type, param, code },
});

const EXPECTED: Record<
  ScenarioName,
  {
    status: number;
    reason: string;
    dashscope: { body: unknown; kind: ErrorKind };
    openai: { body: unknown; kind: ErrorKind };
  }
> = {
  unknownKey: {
    status: 401,
    reason: 'auth',
    dashscope: {
      body: {
        error: {
          message: 'Incorrect API key provided. ',
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_api_key',
        },
        request_id: expect.stringMatching(UUID),
      },
      kind: 'auth',
    },
    openai: {
      body: openai(
        'Incorrect API key provided: sk-wro***********efgh. You can find your API key at https://platform.openai.com/account/api-keys.',
        'invalid_request_error',
        'invalid_api_key',
      ),
      kind: 'auth',
    },
  },
  missingKey: {
    status: 401,
    reason: 'auth',
    dashscope: {
      body: {
        error: {
          message: 'Incorrect API key provided. ',
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_api_key',
        },
        request_id: expect.stringMatching(UUID),
      },
      kind: 'auth',
    },
    openai: {
      body: openai(
        expect.stringMatching(/^You didn't provide an API key\./),
        'invalid_request_error',
        null,
      ),
      kind: 'auth',
    },
  },
  unknownModel: {
    status: 404,
    reason: 'not-found',
    dashscope: {
      body: dashscope(
        'model_not_found',
        'The model `gpt-9` does not exist or you do not have access to it.',
        'invalid_request_error',
      ),
      kind: 'bad-request',
    },
    openai: {
      body: openai(
        'The model `gpt-9` does not exist or you do not have access to it.',
        'invalid_request_error',
        'model_not_found',
      ),
      kind: 'bad-request',
    },
  },
  contextLength: {
    status: 400,
    reason: 'context-length',
    dashscope: {
      body: dashscope(
        'invalid_parameter_error',
        '<400> InternalError.Algo.InvalidParameter: Range of input length should be [1, 60]',
        'invalid_request_error',
      ),
      kind: 'context-length',
    },
    openai: {
      body: openai(
        "This model's maximum context length is 100 tokens. However, you requested 107 tokens (67 in the messages, 40 in the completion). Please reduce the length of the messages or completion.",
        'invalid_request_error',
        'context_length_exceeded',
        'messages',
      ),
      kind: 'context-length',
    },
  },
  outputCap: {
    status: 400,
    reason: 'bad-request',
    dashscope: {
      body: dashscope(
        'invalid_parameter_error',
        '<400> InternalError.Algo.InvalidParameter: Range of max_tokens should be [1, 50]',
        'invalid_request_error',
      ),
      kind: 'bad-request',
    },
    openai: {
      body: openai(
        'max_tokens is too large: 51. This model supports at most 50 completion tokens, whereas you provided 51.',
        'invalid_request_error',
        'invalid_value',
        'max_tokens',
      ),
      kind: 'bad-request',
    },
  },
  invalidJson: {
    status: 400,
    reason: 'bad-request',
    dashscope: {
      body: dashscope(
        'invalid_parameter_error',
        '<400> InternalError.Algo.InvalidParameter: The request body is not valid JSON.',
        'invalid_request_error',
      ),
      kind: 'bad-request',
    },
    openai: {
      body: openai(
        expect.stringMatching(/^We could not parse the JSON body of your request\./),
        'invalid_request_error',
        null,
      ),
      kind: 'bad-request',
    },
  },
  missingMessages: {
    status: 400,
    reason: 'bad-request',
    dashscope: {
      body: dashscope(
        'invalid_parameter_error',
        "<400> InternalError.Algo.InvalidParameter: Missing required parameter: 'messages'.",
        'invalid_request_error',
      ),
      kind: 'bad-request',
    },
    openai: {
      body: openai(
        "Missing required parameter: 'messages'.",
        'invalid_request_error',
        'missing_required_parameter',
        'messages',
      ),
      kind: 'bad-request',
    },
  },
  requestRate: {
    status: 429,
    reason: 'request-rate',
    dashscope: {
      body: dashscope(
        'limit_requests',
        'Requests rate limit exceeded, please try again later.',
        'limit_requests',
      ),
      kind: 'request-rate',
    },
    openai: {
      body: openai(
        expect.stringMatching(
          /^Rate limit reached for rpm in organization org-test on requests per min \(RPM\): Limit 1, Used 1, Requested 1\. Please try again in [\dm.]+s\. Visit https:\/\/platform\.openai\.com\/account\/rate-limits to learn more\.$/,
        ),
        'requests',
        'rate_limit_exceeded',
      ),
      kind: 'request-rate',
    },
  },
  burst: {
    status: 429,
    reason: 'burst',
    dashscope: {
      body: dashscope(
        'limit_burst_rate',
        'Request rate increased too quickly. To ensure system stability, please adjust your client logic to scale requests more smoothly over time.',
        'limit_burst_rate',
      ),
      kind: 'burst',
    },
    // OpenAI has no burst guard of its own; it can only say "requests".
    openai: {
      body: openai(
        expect.stringMatching(
          /^Rate limit reached for burst .* on requests per burst window: Limit 1, Used 1/,
        ),
        'requests',
        'rate_limit_exceeded',
      ),
      kind: 'request-rate',
    },
  },
  tokenRate: {
    status: 429,
    reason: 'token-rate',
    dashscope: {
      body: dashscope(
        'insufficient_quota',
        'You exceeded your current quota, please check your plan and billing details. For details, see: https://help.aliyun.com/zh/model-studio/error-code#token-limit',
        'insufficient_quota',
      ),
      kind: 'token-rate',
    },
    openai: {
      body: openai(
        expect.stringMatching(
          /^Rate limit reached for tpm in organization org-test on tokens per min \(TPM\): Limit 30, Used 18, Requested 18\. Please try again in [\dm.]+s\./,
        ),
        'tokens',
        'rate_limit_exceeded',
      ),
      kind: 'token-rate',
    },
  },
  freeTier: {
    status: 429,
    reason: 'quota-exhausted',
    dashscope: {
      body: dashscope('insufficient_quota', 'Free allocated quota exceeded.', 'insufficient_quota'),
      kind: 'quota-exhausted',
    },
    openai: {
      body: openai(
        'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
        'insufficient_quota',
        'insufficient_quota',
      ),
      kind: 'quota-exhausted',
    },
  },
};

const RETRYABLE: ReadonlySet<ErrorKind> = new Set(['request-rate', 'token-rate', 'burst']);

describe.each(['dashscope', 'openai'] as const)('%s mode', (mode) => {
  let simulator: Simulator;
  beforeAll(async () => {
    simulator = await startSimulator(config(mode));
    return () => simulator.close();
  });

  it.each(Object.keys(SCENARIOS) as ScenarioName[])(
    '%s: the exact body, counted and classified by @tollgate/retry as intended',
    async (name) => {
      simulator.reset({ quotas: true });
      const expected = EXPECTED[name];
      const response = await send(simulator, SCENARIOS[name]);
      expect(response.status).toBe(expected.status);
      expect(response.headers.get('content-type')).toBe('application/json');
      const classification = await classifyResponse(response, mode);
      expect(await response.json()).toEqual(expected[mode].body);
      expect(classification.kind).toBe(expected[mode].kind);
      expect(classification.retryable).toBe(RETRYABLE.has(expected[mode].kind));
      expect(simulator.stats().totals.rejectedBy).toMatchObject({ [expected.reason]: 1 });
      expect(simulator.stats().totals.rejected).toBe(1);
    },
  );
});

describe('refusals in OpenAI mode', () => {
  it('says "Request too large" for a request that can never fit a token window', async () => {
    const simulator = await startSimulator(config('openai'));
    try {
      const response = await send(simulator, { name: 'too large', body: hello('tpm', 25) });
      expect(response.status).toBe(429);
      expect(response.headers.get('retry-after')).toBeNull();
      expect(await response.json()).toEqual(
        openai(
          'Request too large for tpm in organization org-test on tokens per min (TPM): Limit 30, Requested 33. The input or output tokens must be reduced in order to run successfully. Visit https://platform.openai.com/account/rate-limits to learn more.',
          'tokens',
          'rate_limit_exceeded',
        ),
      );
    } finally {
      await simulator.close();
    }
  });

  it('tells how long to wait in the message, in the form the classifier reads', async () => {
    const simulator = await startSimulator(config('openai'));
    try {
      await send(simulator, { name: 'fill', body: hello('rpm') }).then((r) => r.arrayBuffer());
      const response = await send(simulator, { name: 'refused', body: hello('rpm') });
      const classification = await classifyResponse(response, 'openai');
      expect(classification.retryAfterMs).toBe(Number(response.headers.get('retry-after-ms')));
      expect(classification.retryAfterMs).toBeGreaterThan(50_000);
      expect(classification.retryAfterMs).toBeLessThanOrEqual(60_000);
    } finally {
      await simulator.close();
    }
  });
});
