import { run } from '@tollgate/core';
import { describe, expect, it } from 'vitest';
import type { Candidate, Chooser, Strategy } from '../src/index.js';
import { accounts, fakePool, MODEL, type Request, refusal, request, rotated } from './helpers.js';

const served = async (strategy: Strategy, ids: string[], calls: number, extra = {}) => {
  const { pool } = fakePool({ accounts: accounts(ids, extra), strategy });
  const seen: string[] = [];
  const events: string[] = [];
  pool.on('served', ({ account, model }) => events.push(`${account}:${model}`));
  const send = rotated(pool, async (_request, context) => {
    seen.push(context.account!.id);
    return 'ok';
  });
  for (let i = 0; i < calls; i++) await run(send, request());
  // every call's account is named by a served event
  expect(events).toEqual(seen.map((id) => `${id}:${MODEL}`));
  return { seen, pool };
};

describe('strategies', () => {
  it('most-headroom sends each call to the account with the most room left (Portkey picks at random, blind to usage)', async () => {
    const { seen } = await served('most-headroom', ['a', 'b', 'c'], 9);
    // each admission lowers that account's headroom, so the next call goes to another
    expect(seen).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('most-headroom prefers an account whose tightest window has more room', async () => {
    const { pool } = fakePool({ accounts: accounts(['a', 'b']) });
    // b has spent 30 of its 60 requests this minute
    for (let i = 0; i < 30; i++) (await pool.limiter('b', MODEL).acquire({ tokens: 10 })).settle();
    const seen: string[] = [];
    const send = rotated(pool, async (_r, context) => {
      seen.push(context.account!.id);
      return 'ok';
    });
    for (let i = 0; i < 30; i++) await run(send, request());
    expect(seen.filter((id) => id === 'a')).toHaveLength(30);
    await run(send, request());
    await run(send, request());
    expect(seen.slice(30).sort()).toEqual(['a', 'b']);
  });

  it('concurrent picks spread over the accounts (calls in progress count)', async () => {
    const { pool, clock } = fakePool({ accounts: accounts(['a', 'b', 'c']) });
    const seen: string[] = [];
    const send = rotated(pool, async (_r, context) => {
      seen.push(context.account!.id);
      await new Promise<void>((resolve) => clock.setTimeout(resolve, 1000));
      return 'ok';
    });
    const all = Promise.all(Array.from({ length: 6 }, () => run(send, request())));
    await clock.advance(1000);
    await all;
    expect(['a', 'b', 'c'].map((id) => seen.filter((s) => s === id).length)).toEqual([2, 2, 2]);
  });

  it('round-robin cycles in pool order', async () => {
    const { seen } = await served('round-robin', ['a', 'b', 'c'], 7);
    expect(seen).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });

  it('weighted gives each account its share, interleaved', async () => {
    const { pool } = fakePool({
      accounts: [...accounts(['a'], { weight: 3 }), ...accounts(['b'], { weight: 1 })],
      strategy: 'weighted',
    });
    const seen: string[] = [];
    const send = rotated(pool, async (_r, context) => {
      seen.push(context.account!.id);
      return 'ok';
    });
    for (let i = 0; i < 8; i++) await run(send, request());
    expect(seen).toEqual(['a', 'a', 'b', 'a', 'a', 'a', 'b', 'a']);
  });

  it('round-robin and weighted skip a held account while others are free', async () => {
    for (const strategy of ['round-robin', 'weighted'] as const) {
      const { pool } = fakePool({ accounts: accounts(['a', 'b', 'c']), strategy });
      await pool.limiter('b', MODEL).pause(60_000);
      const seen: string[] = [];
      const send = rotated(pool, async (_r, context) => {
        seen.push(context.account!.id);
        return 'ok';
      });
      for (let i = 0; i < 4; i++) await run(send, request());
      expect(seen).not.toContain('b');
      expect(seen).toHaveLength(4);
    }
  });

  it('every strategy passes over a retired account (Portkey: no notion of health)', async () => {
    for (const strategy of ['most-headroom', 'round-robin', 'weighted'] as const) {
      const { pool } = fakePool({ accounts: accounts(['a', 'b', 'c']), strategy });
      const seen: string[] = [];
      const send = rotated(pool, async (_r, context) => {
        seen.push(context.account!.id);
        if (context.account!.id === 'b') throw refusal.badKey();
        return 'ok';
      });
      for (let i = 0; i < 6; i++) await run(send, request());
      // b was tried once, retired, and never picked again
      expect(seen.filter((id) => id === 'b')).toHaveLength(1);
      expect(seen.filter((id) => id !== 'b')).toHaveLength(6);
    }
  });

  it('a chooser of your own sees the candidates and the request', async () => {
    const asked: Array<{ ids: string[]; tokens: number }> = [];
    const last: Chooser = (candidates: ReadonlyArray<Candidate>, pick) => {
      asked.push({ ids: candidates.map((c) => c.account.id), tokens: pick.tokens });
      return candidates.at(-1)!.account;
    };
    const { seen } = await served(last, ['a', 'b'], 2);
    expect(seen).toEqual(['b', 'b']);
    expect(asked).toHaveLength(2);
    expect(asked[0]!.ids).toEqual(['a', 'b']);
    expect(asked[0]!.tokens).toBeGreaterThan(100);
  });

  it('a chooser that returns something else than a candidate fails the call with a typed error', async () => {
    const { pool } = fakePool({
      accounts: accounts(['a']),
      strategy: () => pool.accounts[0]! && ({ id: 'x' } as never),
    });
    const send = rotated(pool, async () => 'ok');
    await expect(run(send, request() as Request)).rejects.toMatchObject({
      code: 'TOLLGATE_INVALID_ARGUMENT',
      argument: 'accountPool.strategy(candidates)',
    });
  });
});
