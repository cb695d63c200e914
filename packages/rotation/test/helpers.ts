import { type Call, limit, MemoryStore, pipeline, type QuotaDefinition } from '@tollgate/core';
import { createFakeClock, type FakeClock } from '@tollgate/core/testing';
import {
  type AccountDefinition,
  type AccountPoolOptions,
  accountPool,
  rotate,
} from '../src/index.js';

/** 60 requests and 100,000 tokens per 2 minutes: windows longer than a minute are not paced. */
export const QUOTA: QuotaDefinition = {
  windows: [
    { unit: 'requests', limit: 60, windowMs: 120_000 },
    { unit: 'tokens', limit: 100_000, windowMs: 120_000 },
  ],
};
export const MODEL = 'qwen3-max';

/** A request as the default estimator reads it: ~10 prompt tokens and 100 of output. */
export const request = (max_tokens = 100) => ({
  model: MODEL,
  messages: [{ role: 'user' as const, content: 'Hello there' }],
  max_tokens,
});
export type Request = ReturnType<typeof request>;

export const accounts = (ids: ReadonlyArray<string>, extra: Partial<AccountDefinition> = {}) =>
  ids.map(
    (id): AccountDefinition => ({ id, apiKey: `key-${id}`, quotas: { [MODEL]: QUOTA }, ...extra }),
  );

/** DashScope-style refusals, as plain `{ status, body }` errors the classifier reads. */
export const refusal = {
  requestRate: () => ({
    status: 429,
    body: {
      error: {
        code: 'limit_requests',
        message: 'Requests rate limit exceeded, please try again later.',
      },
    },
  }),
  freeQuota: () => ({
    status: 429,
    body: { error: { code: 'insufficient_quota', message: 'Free allocated quota exceeded.' } },
  }),
  badKey: () => ({
    status: 401,
    body: { error: { code: 'invalid_api_key', message: 'Incorrect API key provided.' } },
  }),
  badRequest: () => ({
    status: 400,
    body: { error: { code: 'invalid_parameter', message: 'nope' } },
  }),
};

/** A pool on a fake clock and its own memory store (or the one given). */
export function fakePool(
  options: Partial<AccountPoolOptions> & Pick<AccountPoolOptions, 'accounts'>,
  clock: FakeClock = createFakeClock(),
) {
  const store = options.store ?? new MemoryStore({ clock });
  const pool = accountPool({ provider: 'dashscope', clock, store, ...options });
  return { pool, clock, store };
}

/** `rotate(pool)` above `limit(pool.limiterFor)` around a call that records the account. */
export function rotated(
  pool: ReturnType<typeof accountPool>,
  call: Call<Request, string>,
  maxWaitMs?: number,
) {
  return pipeline<Request, string>(
    rotate(pool, maxWaitMs === undefined ? {} : { maxWaitMs }),
    limit(pool.limiterFor),
  )(call);
}
