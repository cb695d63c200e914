import { type Call, isTollgateError, limit, pipeline, run } from '@tollgate/core';
import { createFakeClock } from '@tollgate/core/testing';
import { accountPool, rotate } from '@tollgate/rotation';
import { describe, expect, it } from 'vitest';
import { type ChainEvents, fallback, modelChain } from '../src/index.js';
import { perTwoMinutes, type Request, refusal, request } from './helpers.js';

/**
 * Models whose quotas live in an account pool: `fallback(chain)` above `rotate(pool)` above
 * `limit(pool.limiterFor)`. The chain's models have no quota of their own.
 */
function pooled(call: (model: string, account: string) => Promise<string>) {
  const clock = createFakeClock();
  const pool = accountPool({
    provider: 'dashscope',
    clock,
    accounts: [
      { id: 'a1', quotas: { max: perTwoMinutes(1), plus: perTwoMinutes(10) } },
      { id: 'a2', quotas: { max: perTwoMinutes(1) } },
    ],
  });
  const chain = modelChain({
    provider: 'dashscope',
    clock,
    models: [{ model: 'max' }, { model: 'plus' }],
  });
  const fallbacks: Array<ChainEvents['fallback']> = [];
  chain.on('fallback', (event) => fallbacks.push(event));
  const reached: string[] = [];
  const transport: Call<Request, string> = async (_req, context) => {
    const served = `${context.model}@${context.account?.id}`;
    reached.push(served);
    return call(context.model!, context.account!.id).then(() => served);
  };
  const send = pipeline<Request, string>(
    fallback(chain),
    rotate(pool),
    limit(pool.limiterFor),
  )(transport);
  return { clock, chain, send, fallbacks, reached };
}

describe('with an account pool below', () => {
  it('spills from the accounts of one model to those of the next, and nothing is sent twice', async () => {
    const { clock, send, reached, fallbacks } = pooled(async () => 'ok');
    const batch = [run(send, request()), run(send, request()), run(send, request())];
    await clock.advance(1_000);
    expect(await Promise.all(batch)).toEqual(['max@a1', 'max@a2', 'plus@a1']);
    expect(reached).toEqual(['max@a1', 'max@a2', 'plus@a1']);
    expect(fallbacks.map(({ from, to, reason }) => [from, to, reason.kind])).toEqual([
      ['max', 'plus', 'spilled'],
    ]);
  });

  it('goes down the chain when every account of a model is out (AllAccountsUnavailableError)', async () => {
    const { send, reached, fallbacks } = pooled(async (model) => {
      if (model === 'max') throw refusal.freeQuota();
      return 'ok';
    });
    expect(await run(send, request())).toBe('plus@a1');
    // each max account refused once and was retired; then the pool had none left for max
    expect(reached).toEqual(['max@a1', 'max@a2', 'plus@a1']);
    expect(fallbacks.map(({ reason }) => reason.kind)).toEqual(['no-account']);
    // the next request does not knock on the retired accounts again
    expect(await run(send, request())).toBe('plus@a1');
    expect(reached).toHaveLength(4);
  });

  it('the chain has no limiter for a model it does not hold the quota of', () => {
    const { chain } = pooled(async () => 'ok');
    let error: unknown;
    try {
      chain.limiter('max');
    } catch (caught) {
      error = caught;
    }
    expect(isTollgateError(error, 'TOLLGATE_INVALID_ARGUMENT')).toBe(true);
    expect((error as Error).message).toMatch(/^model: model 'max' has no quota in the chain/);
  });
});

describe('a chain mixing a pooled model with a single-quota one', () => {
  function mixed(call: (model: string) => Promise<void>) {
    const clock = createFakeClock();
    const pool = accountPool({
      provider: 'dashscope',
      clock,
      accounts: [
        { id: 'a1', quotas: { max: perTwoMinutes(1) } },
        { id: 'a2', quotas: { max: perTwoMinutes(1) } },
      ],
    });
    const chain = modelChain({
      provider: 'dashscope',
      clock,
      models: [
        { model: 'max', layer: rotate(pool), limiterFor: pool.limiterFor },
        { model: 'turbo', quota: perTwoMinutes(100) },
      ],
    });
    const fallbacks: Array<ChainEvents['fallback']> = [];
    chain.on('fallback', (event) => fallbacks.push(event));
    const reached: string[] = [];
    const send = pipeline<Request, string>(
      fallback(chain),
      limit(chain.limiterFor),
    )(async (_req, context) => {
      const served = `${context.model}@${context.account?.id ?? '-'}`;
      reached.push(served);
      await call(context.model!);
      return served;
    });
    return { clock, chain, send, reached, fallbacks };
  }

  it('the pooled model rotates over its accounts, then spills to the other', async () => {
    const { clock, send, reached, fallbacks } = mixed(async () => {});
    const batch = [run(send, request()), run(send, request()), run(send, request())];
    await clock.advance(1_000);
    expect(await Promise.all(batch)).toEqual(['max@a1', 'max@a2', 'turbo@-']);
    expect(reached).toEqual(['max@a1', 'max@a2', 'turbo@-']);
    expect(fallbacks.map(({ reason }) => reason.kind)).toEqual(['spilled']);
  });

  it('all its accounts out of quota: the next model serves, the accounts are not asked again', async () => {
    const { send, reached, fallbacks } = mixed(async (model) => {
      if (model === 'max') throw refusal.freeQuota();
    });
    expect(await run(send, request())).toBe('turbo@-');
    expect(await run(send, request())).toBe('turbo@-');
    expect(reached).toEqual(['max@a1', 'max@a2', 'turbo@-', 'turbo@-']);
    expect(fallbacks.map(({ reason }) => reason.kind)).toEqual(['no-account', 'no-account']);
  });
});
