import { ConfigurationError } from '@tollgate/core';
import { describe, expect, it } from 'vitest';
import {
  type ClassificationRule,
  classify,
  classifyResponse,
  createClassifier,
  detectProvider,
  type ErrorKind,
} from '../src/index.js';
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  dashscopeCompatibleBody,
  fetchFailed,
  jsonResponse,
  DASHSCOPE_MESSAGES as M,
  OPENAI_BODIES,
} from './helpers/providers.js';

describe('network and timeout errors', () => {
  it.each([
    ['ECONNRESET', 'network'],
    ['ECONNREFUSED', 'network'],
    ['ENOTFOUND', 'network'],
    ['EAI_AGAIN', 'network'],
    ['EPIPE', 'network'],
    ['UND_ERR_SOCKET', 'network'],
    ['ETIMEDOUT', 'timeout'],
    ['UND_ERR_CONNECT_TIMEOUT', 'timeout'],
    ['UND_ERR_HEADERS_TIMEOUT', 'timeout'],
    ['UND_ERR_BODY_TIMEOUT', 'timeout'],
  ] as const)('classifies fetch failed caused by %s as %s, retryable', (code, kind) => {
    expect(classify(fetchFailed(code))).toEqual({ kind, retryable: true, provider: 'generic' });
  });

  it('reads the code on a Node error itself', () => {
    const error = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(classify(error, 'openai').kind).toBe('network');
  });

  it('classifies DOMException TimeoutError and AbortError by name as timeout', () => {
    expect(classify(new DOMException('The operation timed out.', 'TimeoutError')).kind).toBe(
      'timeout',
    );
    expect(classify(new DOMException('This operation was aborted', 'AbortError')).kind).toBe(
      'timeout',
    );
  });

  it("classifies openai-node's connection errors (no status) by their cause or class", () => {
    expect(
      classify(new APIConnectionError({ cause: fetchFailed('ECONNRESET') }), 'openai').kind,
    ).toBe('network');
    expect(classify(new APIConnectionError(), 'openai').kind).toBe('network');
    expect(classify(new APIConnectionTimeoutError(), 'openai').kind).toBe('timeout');
  });

  it("does not treat openai-node's user abort as a transport failure", () => {
    expect(classify(new APIUserAbortError(), 'openai')).toMatchObject({
      kind: 'unknown',
      retryable: false,
    });
  });

  it('does not retry a transport error once a streamed body was consumed', () => {
    const result = classify(fetchFailed('ECONNRESET'), { bodyConsumed: true });
    expect(result).toMatchObject({ kind: 'network', retryable: false });
    expect(
      classify(new DOMException('timed out', 'TimeoutError'), { bodyConsumed: true }).retryable,
    ).toBe(false);
  });

  it('does not follow a cause chain that loops', () => {
    const error = new Error('outer');
    const inner = new Error('inner', { cause: error });
    Object.defineProperty(error, 'cause', { value: inner });
    expect(classify(error).kind).toBe('unknown');
  });
});

describe('what the classifier refuses to guess', () => {
  it('never matches substrings of String(error): an Error mentioning 429 is unknown', () => {
    const error = new Error(
      'Request failed with status 429 Too Many Requests: rate limit exceeded',
    );
    expect(classify(error, 'openai')).toEqual({
      kind: 'unknown',
      retryable: false,
      provider: 'openai',
    });
  });

  it.each([undefined, null, 'ECONNRESET', 429, { message: 'Throttling' }])(
    'classifies %j as unknown',
    (input) => {
      expect(classify(input, 'dashscope')).toMatchObject({ kind: 'unknown', retryable: false });
    },
  );

  it('ignores a status outside 100–599', () => {
    expect(classify({ status: 4290, body: {} }).kind).toBe('unknown');
  });
});

describe('input shapes', () => {
  it('classifies a Response by status and headers alone when its body is not given', () => {
    const response = jsonResponse(429, dashscopeCompatibleBody('limit_burst_rate', M.burstRate), {
      'retry-after': '3',
    });
    expect(classify(response, 'dashscope')).toMatchObject({
      kind: 'request-rate',
      status: 429,
      retryAfterMs: 3000,
    });
  });

  it('uses a Response body passed alongside', () => {
    const body = dashscopeCompatibleBody('limit_burst_rate', M.burstRate);
    expect(classify(jsonResponse(429, body), { provider: 'dashscope', body }).kind).toBe('burst');
  });

  it('classifyResponse reads a clone and leaves the original body readable', async () => {
    const response = jsonResponse(429, dashscopeCompatibleBody('limit_burst_rate', M.burstRate));
    expect((await classifyResponse(response, 'dashscope')).kind).toBe('burst');
    expect(response.bodyUsed).toBe(false);
    expect(await response.json()).toMatchObject({ error: { code: 'limit_burst_rate' } });
  });

  it('classifyResponse copes with an already consumed or non-JSON body', async () => {
    const used = jsonResponse(503, dashscopeCompatibleBody('ModelServingError', M.modelServing));
    await used.text();
    expect((await classifyResponse(used, 'dashscope')).kind).toBe('server');
    const html = new Response('<html>Bad gateway</html>', { status: 502 });
    expect(await classifyResponse(html)).toEqual({
      kind: 'server',
      retryable: true,
      provider: 'generic',
      status: 502,
    });
  });

  it('parses a raw JSON body given as a string', () => {
    const body = JSON.stringify(dashscopeCompatibleBody('limit_requests', M.rateQuota));
    expect(classify({ status: 429, body }, 'dashscope')).toMatchObject({
      kind: 'request-rate',
      code: 'limit_requests',
    });
  });

  it('reads axios-style errors: response.status, response.data, response.headers', () => {
    const error = Object.assign(new Error('Request failed with status code 429'), {
      response: {
        status: 429,
        data: OPENAI_BODIES.tokensPerMin,
        headers: { 'retry-after-ms': '250' },
      },
    });
    expect(classify(error, 'openai')).toMatchObject({ kind: 'token-rate', retryAfterMs: 250 });
  });

  it('reads openai-node v4 errors whose headers are a plain record', () => {
    const error = Object.assign(
      APIError.fromResponse(429, OPENAI_BODIES.requestsPerMin, new Headers()),
      {
        headers: { 'retry-after': '7' },
      },
    );
    expect(classify(error, 'openai')).toMatchObject({ kind: 'request-rate', retryAfterMs: 7000 });
  });

  it('omits fields it does not know rather than setting them to undefined', () => {
    const result = classify({ status: 500 });
    expect(result).toEqual({ kind: 'server', retryable: true, provider: 'generic', status: 500 });
    expect(Object.keys(result)).not.toContain('code');
  });
});

describe('user rules', () => {
  it('apply before the provider table', () => {
    const classifier = createClassifier({
      provider: 'openai',
      rules: [
        { status: 529, kind: 'server' },
        { code: 'insufficient_quota', kind: 'token-rate', provider: 'openai' },
      ],
    });
    expect(classifier({ status: 529 })).toMatchObject({ kind: 'server', retryable: true });
    expect(
      classifier(APIError.fromResponse(429, OPENAI_BODIES.insufficientQuota, new Headers())),
    ).toMatchObject({
      kind: 'token-rate',
      retryable: true,
    });
  });

  it('require every matcher to match, and may override retryable', () => {
    const rule: ClassificationRule = {
      status: 400,
      message: /temporarily unavailable/i,
      kind: 'server',
      retryable: false,
    };
    const classifier = createClassifier({ rules: [rule] });
    const matching = { status: 400, body: { error: { message: 'Model temporarily unavailable' } } };
    expect(classifier(matching)).toMatchObject({ kind: 'server', retryable: false });
    expect(classifier({ status: 400, body: { error: { message: 'bad' } } }).kind).toBe(
      'bad-request',
    );
  });

  it('can test the facts with a function, headers included', () => {
    const classifier = createClassifier({
      rules: [{ test: (facts) => facts.header('x-gateway-overloaded') === '1', kind: 'server' }],
    });
    expect(
      classifier({ status: 400, headers: new Headers({ 'X-Gateway-Overloaded': '1' }) }).kind,
    ).toBe('server');
  });

  it('apply only under the providers they name', () => {
    const rules: ClassificationRule[] = [
      { code: 'limit_requests', kind: 'bad-request', provider: ['openai'] },
    ];
    const body = dashscopeCompatibleBody('limit_requests', M.rateQuota);
    expect(createClassifier({ provider: 'dashscope', rules })({ status: 429, body }).kind).toBe(
      'request-rate',
    );
    expect(createClassifier({ provider: 'openai', rules })({ status: 429, body }).kind).toBe(
      'bad-request',
    );
  });

  it('test a global RegExp the same way every time', () => {
    const classifier = createClassifier({ rules: [{ message: /overloaded/g, kind: 'server' }] });
    const error = { status: 400, body: { error: { message: 'overloaded' } } };
    expect([1, 2, 3].map(() => classifier(error).kind)).toEqual(['server', 'server', 'server']);
  });

  it.each([
    ['an unknown key', { status: 400, kind: 'server', when: 1 }, 'classifier.rules[0].when'],
    ['an unknown kind', { status: 400, kind: 'flaky' }, 'classifier.rules[0].kind'],
    ['no matcher at all', { kind: 'server' }, 'classifier.rules[0]'],
    [
      'a message that is a string',
      { message: 'overloaded', kind: 'server' },
      'classifier.rules[0].message',
    ],
    ['an empty status list', { status: [], kind: 'server' }, 'classifier.rules[0].status'],
    [
      'an unknown provider',
      { status: 400, provider: 'azure', kind: 'server' },
      'classifier.rules[0].provider',
    ],
  ])('reject %s with a ConfigurationError', (_name, rule, option) => {
    expect(() => createClassifier({ rules: [rule as unknown as ClassificationRule] })).toThrow(
      expect.objectContaining({ code: 'TOLLGATE_CONFIGURATION', option }),
    );
  });

  it('rejects an unknown provider', () => {
    expect(() => createClassifier({ provider: 'azure' as never })).toThrow(ConfigurationError);
  });
});

describe('detectProvider', () => {
  it.each([
    ['https://dashscope.aliyuncs.com/compatible-mode/v1', 'dashscope'],
    ['https://dashscope-intl.aliyuncs.com/compatible-mode/v1', 'dashscope'],
    ['https://DASHSCOPE-US.aliyuncs.com/api/v1', 'dashscope'],
    ['https://api.openai.com/v1', 'openai'],
    ['http://localhost:8080/v1', 'generic'],
    ['https://dashscope.aliyuncs.com.evil.example/v1', 'generic'],
    ['not a url', 'generic'],
  ] as const)('detects %s as %s', (url, provider) => {
    expect(detectProvider(url)).toBe(provider);
  });

  it('accepts a URL object', () => {
    expect(detectProvider(new URL('https://api.openai.com/v1'))).toBe('openai');
  });
});

describe('retryable by default', () => {
  const cases: ReadonlyArray<[ErrorKind, boolean]> = [
    ['request-rate', true],
    ['token-rate', true],
    ['burst', true],
    ['server', true],
    ['timeout', true],
    ['network', true],
    ['quota-exhausted', false],
    ['auth', false],
    ['context-length', false],
    ['bad-request', false],
    ['unknown', false],
  ];
  it.each(cases)('%s: %s', (kind, retryable) => {
    const classification = classify({ status: 599 }, { rules: [{ status: 599, kind }] });
    expect(classification).toMatchObject({ kind, retryable });
  });
});
