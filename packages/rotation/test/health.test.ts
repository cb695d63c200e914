import { isTollgateError, limit, MemoryStore, pipeline, run } from '@tollgate/core';
import { createFakeClock } from '@tollgate/core/testing';
import { retry } from '@tollgate/retry';
import { describe, expect, it } from 'vitest';
import {
  type AccountState,
  AllAccountsUnavailableError,
  type PoolEvents,
  rotate,
} from '../src/index.js';
import {
  accounts,
  fakePool,
  MODEL,
  QUOTA,
  type Request,
  refusal,
  request,
  rotated,
} from './helpers.js';

/** `requests` per 2 minutes: windows longer than a minute are not paced. */
const perTwoMinutes = (requests: number) => ({
  windows: [
    { unit: 'requests' as const, limit: requests, windowMs: 120_000 },
    { unit: 'tokens' as const, limit: 100_000, windowMs: 120_000 },
  ],
});

const statuses = (states: ReadonlyArray<AccountState>) => states.map((s) => `${s.id}:${s.status}`);

describe('billing groups', () => {
  it('keys of one billing group share one limiter per model', async () => {
    const { pool } = fakePool({
      accounts: [...accounts(['k1', 'k2'], { billingGroup: 'acct' }), ...accounts(['solo'])],
    });
    expect(pool.limiter('k1', MODEL)).toBe(pool.limiter('k2', MODEL));
    expect(pool.limiter('k1', MODEL).key).toBe(`acct:${MODEL}`);
    expect(pool.limiter('solo', MODEL)).not.toBe(pool.limiter('k1', MODEL));
    // 60 requests per window in all for the two keys: the 61st finds no room on either
    const send = rotated(pool, async () => 'ok', 0);
    let served = 0;
    for (let i = 0; i < 120; i++) {
      await run(send, request()).then(
        () => served++,
        () => {},
      );
    }
    expect(served).toBe(120);
    const [group, solo] = await Promise.all([
      pool.limiter('k1', MODEL).snapshot(),
      pool.limiter('solo', MODEL).snapshot(),
    ]);
    expect(group.windows[0]!.used + solo.windows[0]!.used).toBe(120);
    expect(group.windows[0]!.used).toBe(60);
  });

  it('rejects two different quotas for one model in one billing group', () => {
    expect(() =>
      fakePool({
        accounts: [
          ...accounts(['k1'], { billingGroup: 'acct' }),
          { id: 'k2', billingGroup: 'acct', quotas: { [MODEL]: { rpm: 10 } } },
        ],
      }),
    ).toThrow("accountPool.accounts[1].quotas['qwen3-max']: differs from account 'k1''s");
  });
});

describe('health', () => {
  it('a throttle holds the account; the next attempt goes to another; a re-hold keeps the longer deadline', async () => {
    const { pool } = fakePool({ accounts: accounts(['a', 'b']), holdMs: 5_000 });
    const held: Array<PoolEvents['held']> = [];
    pool.on('held', (event) => held.push(event));
    const seen: string[] = [];
    const send = rotated(pool, async (_r, context) => {
      seen.push(context.account!.id);
      if (context.account!.id === 'a') throw refusal.requestRate();
      return 'ok';
    });
    await expect(run(send, request())).resolves.toBe('ok');
    expect(seen).toEqual(['a', 'b']);
    expect(held.map((e) => [e.account, e.forMs, e.reason.kind])).toEqual([
      ['a', 5000, 'request-rate'],
    ]);
    expect(statuses(await pool.states(MODEL))).toEqual(['a:held', 'b:available']);
    // a shorter hold does not shorten it (LiteLLM #40130)
    await pool.limiter('a', MODEL).pause(1_000);
    const a = (await pool.states(MODEL))[0]!;
    expect(a.returnsInMs).toBe(5000);
  });

  it('a hold is shared by two pools on one store', async () => {
    const clock = createFakeClock();
    const store = new MemoryStore({ clock });
    const first = fakePool({ accounts: accounts(['a', 'b']), store, holdMs: 30_000 }, clock).pool;
    const second = fakePool({ accounts: accounts(['a', 'b']), store }, clock).pool;
    const send = rotated(first, async (_r, context) => {
      if (context.account!.id === 'a') throw refusal.requestRate();
      return 'ok';
    });
    await run(send, request());
    const seen: string[] = [];
    const other = rotated(second, async (_r, context) => {
      seen.push(context.account!.id);
      return 'ok';
    });
    for (let i = 0; i < 3; i++) await run(other, request());
    expect(seen).toEqual(['b', 'b', 'b']);
    expect((await second.states(MODEL))[0]).toMatchObject({ status: 'held', returnsInMs: 30_000 });
  });

  it('an exhausted quota retires the whole billing group, with its reason and an event (Portkey #1289: a breaker that never opens)', async () => {
    const { pool } = fakePool({
      accounts: [...accounts(['k1', 'k2'], { billingGroup: 'free' }), ...accounts(['paid'])],
    });
    const retired: Array<PoolEvents['retired']> = [];
    pool.on('retired', (event) => retired.push(event));
    const seen: string[] = [];
    const send = rotated(pool, async (_r, context) => {
      seen.push(context.account!.id);
      if (context.account!.id !== 'paid') {
        throw refusal.freeQuota();
      }
      return 'ok';
    });
    await expect(run(send, request())).resolves.toBe('ok');
    expect(seen).toEqual(['k1', 'paid']);
    expect(retired.map((e) => [e.account, e.reason.kind, e.forMs])).toEqual([
      ['k1', 'quota-exhausted', 300_000],
      ['k2', 'quota-exhausted', 300_000],
    ]);
    const states = await pool.states(MODEL);
    expect(statuses(states)).toEqual(['k1:out', 'k2:out', 'paid:available']);
    expect(states[0]!.reason?.message).toBe('Free allocated quota exceeded.');
  });

  it('calls waiting on an account when it is retired go to the others, never sent to it', async () => {
    const { pool, clock } = fakePool({
      accounts: [
        { id: 'free', quotas: { [MODEL]: perTwoMinutes(1) } },
        { id: 'paid', quotas: { [MODEL]: QUOTA } },
      ],
      // every call picks the free account while it can: the rest queue on its limiter
      strategy: (candidates) =>
        (candidates.find((c) => c.account.id === 'free') ?? candidates[0]!).account,
    });
    const seen: string[] = [];
    let refuse!: () => void;
    const refused = new Promise<void>((resolve) => {
      refuse = resolve;
    });
    const send = rotated(pool, async (_r, context) => {
      seen.push(context.account!.id);
      if (context.account!.id === 'free') {
        await refused;
        throw refusal.freeQuota();
      }
      return 'ok';
    });
    const calls = Array.from({ length: 5 }, () => run(send, request()));
    await clock.flush();
    expect((await pool.limiter('free', MODEL).snapshot()).queued).toBe(4);
    refuse();
    // the window would let the queue go to the free account again at 120 s: it must not
    await clock.advance(121_000);
    expect(await Promise.all(calls)).toEqual(Array(5).fill('ok'));
    expect(seen.filter((id) => id === 'free')).toHaveLength(1);
    expect(seen.filter((id) => id === 'paid')).toHaveLength(5);
    expect((await pool.limiter('free', MODEL).snapshot()).queued).toBe(0);
  });

  it('a rejected key retires that key only', async () => {
    const { pool } = fakePool({ accounts: accounts(['k1', 'k2'], { billingGroup: 'acct' }) });
    const send = rotated(pool, async (_r, context) => {
      if (context.account!.id === 'k1') throw refusal.badKey();
      return 'ok';
    });
    await run(send, request());
    expect(statuses(await pool.states(MODEL))).toEqual(['k1:out', 'k2:available']);
  });

  it('a failure that is not the account’s goes up at once, and changes nothing', async () => {
    const { pool } = fakePool({ accounts: accounts(['a', 'b']) });
    let calls = 0;
    const send = rotated(pool, async () => {
      calls++;
      throw refusal.badRequest();
    });
    await expect(run(send, request())).rejects.toMatchObject({ status: 400 });
    expect(calls).toBe(1);
    expect(statuses(await pool.states(MODEL))).toEqual(['a:available', 'b:available']);
  });

  it('a retired account returns after probeAfterMs, or at once by restore(), in every pool of the store', async () => {
    const clock = createFakeClock();
    const store = new MemoryStore({ clock });
    const { pool } = fakePool(
      { accounts: accounts(['a', 'b']), store, probeAfterMs: 60_000 },
      clock,
    );
    const other = fakePool({ accounts: accounts(['a', 'b']), store }, clock).pool;
    const restored: Array<PoolEvents['restored']> = [];
    pool.on('restored', (event) => restored.push(event));
    const failing = rotated(pool, async (_r, context) => {
      if (context.account!.id === 'a') throw refusal.freeQuota();
      return 'ok';
    });
    await run(failing, request());
    expect(statuses(await other.states(MODEL))).toEqual(['a:out', 'b:available']);
    // the reason is local to the process that retired it
    expect((await other.states(MODEL))[0]!.reason).toBeUndefined();
    await clock.advance(59_999);
    expect(statuses(await pool.states(MODEL))).toEqual(['a:out', 'b:available']);
    await clock.advance(1);
    expect(statuses(await pool.states(MODEL))).toEqual(['a:available', 'b:available']);
    expect(restored).toEqual([{ account: 'a', model: MODEL, by: 'probe' }]);

    await run(failing, request());
    expect(statuses(await other.states(MODEL))).toEqual(['a:out', 'b:available']);
    await other.restore('a');
    expect(statuses(await pool.states(MODEL))).toEqual(['a:available', 'b:available']);
    // and it can be retired again after the restore
    await run(failing, request());
    expect(statuses(await other.states(MODEL))).toEqual(['a:out', 'b:available']);
  });
});

describe('when no account can take the request', () => {
  it('all out: one typed error listing each account and when it returns', async () => {
    const { pool } = fakePool({ accounts: accounts(['a', 'b']), probeAfterMs: 120_000 });
    let calls = 0;
    const send = rotated(pool, async () => {
      calls++;
      throw refusal.freeQuota();
    });
    const error = await run(send, request()).catch((e: unknown) => e);
    expect(calls).toBe(2);
    expect(isTollgateError(error, 'TOLLGATE_ALL_ACCOUNTS_UNAVAILABLE')).toBe(true);
    const unavailable = error as AllAccountsUnavailableError;
    expect(unavailable).toBeInstanceOf(AllAccountsUnavailableError);
    expect(
      unavailable.accounts.map((s) => [s.id, s.status, s.returnsInMs, s.reason?.kind]),
    ).toEqual([
      ['a', 'out', 120_000, 'quota-exhausted'],
      ['b', 'out', 120_000, 'quota-exhausted'],
    ]);
    expect(unavailable.returnsInMs).toBe(120_000);
    expect(unavailable.cause).toMatchObject({ status: 429 });
    // a later call fails at once, without calling anything
    await expect(run(send, request())).rejects.toBeInstanceOf(AllAccountsUnavailableError);
    expect(calls).toBe(2);
  });

  it('all held: the call waits for the earliest account, within maxWaitMs (LiteLLM #3646 fails instead)', async () => {
    const { pool, clock } = fakePool({ accounts: accounts(['a', 'b']) });
    await pool.limiter('a', MODEL).pause(20_000);
    await pool.limiter('b', MODEL).pause(8_000);
    const seen: Array<[string, number]> = [];
    const send = rotated(
      pool,
      async (_r, context) => {
        seen.push([context.account!.id, clock.now()]);
        return 'ok';
      },
      10_000,
    );
    const reply = run(send, request());
    await clock.advance(8_000);
    await expect(reply).resolves.toBe('ok');
    expect(seen).toEqual([['b', 8_000]]);
  });

  it('all held longer than maxWaitMs: the typed error, at once', async () => {
    const { pool } = fakePool({ accounts: accounts(['a', 'b']) });
    await pool.limiter('a', MODEL).pause(20_000);
    await pool.limiter('b', MODEL).pause(15_000);
    let calls = 0;
    const send = rotated(
      pool,
      async () => {
        calls++;
        return 'ok';
      },
      10_000,
    );
    const error = (await run(send, request()).catch(
      (e: unknown) => e,
    )) as AllAccountsUnavailableError;
    expect(error.code).toBe('TOLLGATE_ALL_ACCOUNTS_UNAVAILABLE');
    expect(error.accounts.map((s) => [s.id, s.status, s.returnsInMs])).toEqual([
      ['a', 'held', 20_000],
      ['b', 'held', 15_000],
    ]);
    expect(error.returnsInMs).toBe(15_000);
    expect(calls).toBe(0);
  });

  it('every account throttled in one call: a retry above gets it served by the first one back (LiteLLM #3646)', async () => {
    const { pool, clock } = fakePool({ accounts: accounts(['a', 'b']) });
    const seen: Array<[string, number]> = [];
    const hint = { a: '8', b: '3' } as Record<string, string>;
    const send = pipeline<Request, string>(
      retry({ provider: 'dashscope', clock }),
      rotate(pool),
      limit(pool.limiterFor),
    )(async (_r, context) => {
      const id = context.account!.id;
      seen.push([id, clock.now()]);
      if (seen.length <= 2)
        throw { ...refusal.requestRate(), headers: { 'retry-after': hint[id] } };
      return id;
    });
    const served = run(send, request());
    await clock.advance(10_000);
    // a held 8 s, b 3 s: the retry's next attempt goes to b, the first back, and is served
    expect(await served).toBe('b');
    expect(seen.map(([id]) => id)).toEqual(['a', 'b', 'b']);
    expect(seen[2]![1]).toBeGreaterThanOrEqual(3_000);
    expect(seen[2]![1]).toBeLessThan(8_000);
  });

  it('every account tried and held: the last refusal goes up for a retry above', async () => {
    const { pool } = fakePool({ accounts: accounts(['a', 'b']) });
    let calls = 0;
    const send = rotated(pool, async () => {
      calls++;
      throw refusal.requestRate();
    });
    await expect(run(send, request())).rejects.toMatchObject({ status: 429 });
    expect(calls).toBe(2);
    expect(statuses(await pool.states(MODEL))).toEqual(['a:held', 'b:held']);
  });
});
