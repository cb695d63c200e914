import { type Call, limit, pipeline, type QuotaDefinition } from '@tollgate/core';
import { createFakeClock, type FakeClock } from '@tollgate/core/testing';
import {
  type ChainEvents,
  fallback,
  type ModelChainOptions,
  type ModelDefinition,
  modelChain,
} from '../src/index.js';

/** `limit` requests per 2 minutes: windows longer than a minute are not paced. */
export const perTwoMinutes = (requests: number): QuotaDefinition => ({
  windows: [
    { unit: 'requests', limit: requests, windowMs: 120_000 },
    { unit: 'tokens', limit: 1_000_000, windowMs: 120_000 },
  ],
});

/** A request as the default estimator reads it, for the model the caller asked for. */
export const request = () => ({
  model: 'asked-for',
  messages: [{ role: 'user' as const, content: 'Hello there' }],
  max_tokens: 100,
});
export type Request = ReturnType<typeof request>;

/** Provider refusals, as plain `{ status, body }` errors the classifier reads. */
export const refusal = {
  freeQuota: () => ({
    status: 429,
    body: { error: { code: 'insufficient_quota', message: 'Free allocated quota exceeded.' } },
  }),
  tooLong: () => ({
    status: 400,
    body: {
      error: {
        code: 'context_length_exceeded',
        message: "This model's maximum context length is 8192 tokens.",
      },
    },
  }),
  badRequest: () => ({
    status: 400,
    body: { error: { code: 'invalid_parameter', message: 'nope' } },
  }),
};

/**
 * A chain on a fake clock, `fallback(chain)` above `limit(chain.limiterFor)` around `call`, and
 * what happened: the model each call reached (by context and by request) and every event.
 */
export function chained(
  models: ReadonlyArray<ModelDefinition>,
  call: (model: string) => Promise<string> = async (model) => model,
  options: Partial<ModelChainOptions> = {},
  clock: FakeClock = createFakeClock(),
) {
  const chain = modelChain({ provider: 'dashscope', clock, models, ...options });
  const reached: string[] = [];
  const fallbacks: Array<ChainEvents['fallback']> = [];
  const served: Array<ChainEvents['served']> = [];
  chain.on('fallback', (event) => fallbacks.push(event));
  chain.on('served', (event) => served.push(event));
  const transport: Call<Request, string> = async (req, context) => {
    if (req.model !== context.model) throw new Error('request and context disagree');
    reached.push(context.model);
    return call(context.model);
  };
  const send = pipeline<Request, string>(fallback(chain), limit(chain.limiterFor))(transport);
  return { chain, send, clock, reached, fallbacks, served };
}
