import { describe, expect, it } from 'vitest';
import { classify, type ErrorKind } from '../src/index.js';
import { classifyAs, type Form } from './helpers/classify-forms.js';
import {
  APIError,
  DASHSCOPE_INSUFFICIENT_QUOTA_BODY,
  dashscopeCompatibleBody,
  dashscopeNativeBody,
  type Json,
  DASHSCOPE_MESSAGES as M,
} from './helpers/providers.js';

interface Row {
  readonly meaning: string;
  readonly status: number;
  readonly codes: ReadonlyArray<string>;
  readonly message: string;
  readonly kind: ErrorKind;
  readonly retryable: boolean;
}

// The error table of providers.md, row by row.
const ROWS: ReadonlyArray<Row> = [
  {
    meaning: 'generic throttle',
    status: 429,
    codes: ['Throttling'],
    message: M.throttling,
    kind: 'request-rate',
    retryable: true,
  },
  {
    meaning: 'RPM/RPS',
    status: 429,
    codes: ['Throttling.RateQuota', 'limit_requests'],
    message: M.rateQuota,
    kind: 'request-rate',
    retryable: true,
  },
  {
    meaning: 'burst guard',
    status: 429,
    codes: ['Throttling.BurstRate', 'limit_burst_rate'],
    message: M.burstRate,
    kind: 'burst',
    retryable: true,
  },
  {
    meaning: 'TPM/TPS',
    status: 429,
    codes: ['Throttling.AllocationQuota', 'insufficient_quota'],
    message: M.allocationQuota,
    kind: 'token-rate',
    retryable: true,
  },
  {
    meaning: 'free tier used up',
    status: 429,
    codes: ['Throttling.AllocationQuota', 'insufficient_quota', 'AllocationQuota.FreeTierOnly'],
    message: M.freeQuota,
    kind: 'quota-exhausted',
    retryable: false,
  },
  {
    meaning: 'billing',
    status: 429,
    codes: ['CommodityNotPurchased', 'PrepaidBillOverdue', 'PostpaidBillOverdue'],
    message: 'Access denied, please make sure your account is in good standing.',
    kind: 'quota-exhausted',
    retryable: false,
  },
  {
    meaning: 'provider capacity',
    status: 503,
    codes: ['ModelServingError'],
    message: M.modelServing,
    kind: 'server',
    retryable: true,
  },
];

/** Every way a row can reach the classifier: lowercase codes come from compatible mode only. */
function cases(row: Row): Array<[Form, string, string, Json]> {
  const result: Array<[Form, string, string, Json]> = [];
  for (const code of row.codes) {
    const compatible = dashscopeCompatibleBody(code, row.message);
    for (const form of ['openai-sdk', 'response', 'plain'] as const) {
      result.push([form, code, 'compatible', compatible]);
    }
    if (/^[A-Z]/.test(code)) {
      const native = dashscopeNativeBody(code, row.message);
      for (const form of ['response', 'plain'] as const)
        result.push([form, code, 'native', native]);
    }
  }
  return result;
}

describe('DashScope classification (providers.md table)', () => {
  for (const row of ROWS) {
    describe(`${row.status} ${row.meaning} → ${row.kind}`, () => {
      it.each(cases(row))('%s error with %s in a %s body', async (form, code, _shape, body) => {
        const result = await classifyAs(form, row.status, body, {}, 'dashscope');
        expect(result).toMatchObject({
          kind: row.kind,
          retryable: row.retryable,
          provider: 'dashscope',
          status: row.status,
          code,
          message: row.message,
        });
        expect(result.retryAfterMs).toBeUndefined();
      });
    });
  }

  it('reads the real compatible-mode 429 body as a passing TPM throttle on DashScope', async () => {
    const result = await classifyAs(
      'response',
      429,
      DASHSCOPE_INSUFFICIENT_QUOTA_BODY,
      {},
      'dashscope',
    );
    expect(result).toMatchObject({
      kind: 'token-rate',
      retryable: true,
      code: 'insufficient_quota',
    });
  });

  it('reads the same body as exhausted billing on OpenAI and by default: the code is provider-specific', async () => {
    for (const provider of ['openai', 'generic'] as const) {
      const result = await classifyAs(
        'openai-sdk',
        429,
        DASHSCOPE_INSUFFICIENT_QUOTA_BODY,
        {},
        provider,
      );
      expect(result).toMatchObject({ kind: 'quota-exhausted', retryable: false, provider });
    }
  });

  it('tells "Free allocated quota exceeded" from a TPM throttle under the same code', () => {
    const throttle = APIError.fromResponse(
      429,
      dashscopeCompatibleBody('insufficient_quota', M.allocationQuota),
      new Headers(),
    );
    const freeTier = APIError.fromResponse(
      429,
      dashscopeCompatibleBody('insufficient_quota', M.freeQuota),
      new Headers(),
    );
    expect(classify(throttle, 'dashscope').kind).toBe('token-rate');
    expect(classify(freeTier, 'dashscope').kind).toBe('quota-exhausted');
  });

  it('recognises the burst guard by its documented message under the generic throttle code', () => {
    const body = dashscopeNativeBody('Throttling', M.burstRate);
    expect(classify({ status: 429, body }, 'dashscope').kind).toBe('burst');
  });

  it.each([
    [401, 'InvalidApiKey', 'Invalid API-key provided.', 'auth', false],
    [
      400,
      'InvalidParameter',
      'Range of input length should be [1, 258048]',
      'context-length',
      false,
    ],
    [
      400,
      'DataInspectionFailed',
      'Input data may contain inappropriate content.',
      'bad-request',
      false,
    ],
    [404, 'ModelNotFound', 'Model not exist.', 'bad-request', false],
    [
      500,
      'InternalError',
      'An internal error has occured, please try again later or contact service support.',
      'server',
      true,
    ],
    [429, 'Throttling.Unknown', 'Some new throttle.', 'request-rate', true],
  ] as const)('classifies %d %s as %s', (status, code, message, kind, retryable) => {
    const result = classify({ status, body: dashscopeNativeBody(code, message) }, 'dashscope');
    expect(result).toMatchObject({ kind, retryable, code });
  });

  it('classifies DashScope-only codes the same under the generic table', () => {
    const kinds = [
      'Throttling.RateQuota',
      'limit_burst_rate',
      'Throttling.AllocationQuota',
      'ModelServingError',
    ].map(
      (code) =>
        classify({
          status: code === 'ModelServingError' ? 503 : 429,
          body: dashscopeCompatibleBody(code, 'x'),
        }).kind,
    );
    expect(kinds).toEqual(['request-rate', 'burst', 'token-rate', 'server']);
  });
});
