import { describe, expect, it } from 'vitest';
import { chat, start, statuses } from './helpers.js';

const noPerSecond = { rps: false, tps: false, burst: false } as const;
// Per-second windows are checked on slowed-down time (a simulated second lasts 100 real ones),
// so a loaded machine cannot spread a burst past the window and the counts stay exact.
const slow = { timeScale: 0.01 } as const;

// 'hello' is 1 token: the prompt costs 3 + 4 + 1 = 8 tokens.
const PROMPT = 8;

describe('request windows', () => {
  it('RPM: admits rpm requests within a minute, then refuses with request-rate', async () => {
    const simulator = await start({ models: { m: { rpm: 3, ...noPerSecond } } });
    expect(await statuses(simulator, 5)).toEqual([200, 200, 200, 429, 429]);
    const { totals } = simulator.stats();
    expect(totals).toMatchObject({ requests: 5, admitted: 3, rejected: 2 });
    expect(totals.rejectedBy['request-rate']).toBe(2);
  });

  it('RPS defaults to RPM/60', async () => {
    const simulator = await start({ ...slow, models: { m: { rpm: 120, burst: false } } });
    expect(await statuses(simulator, 3)).toEqual([200, 200, 429]);
    expect(simulator.stats().windows.find((w) => w.window === 'rps')).toMatchObject({
      limit: 2,
      windowMs: 1000,
    });
    expect(simulator.stats().totals.rejectedBy['request-rate']).toBe(1);
  });

  it('RPS can be set on its own', async () => {
    const simulator = await start({ ...slow, models: { m: { rpm: 600, rps: 1, burst: false } } });
    expect(await statuses(simulator, 2)).toEqual([200, 429]);
  });
});

describe('token windows', () => {
  it('TPM: a request costs prompt + max_tokens; one that does not fit is refused with token-rate', async () => {
    // 8 + 30 = 38 tokens each: two fit in 100, the third does not.
    const simulator = await start({ models: { m: { tpm: 100, tps: false } } });
    const body = { model: 'm', messages: [{ role: 'user', content: 'hello' }], max_tokens: 30 };
    expect(await statuses(simulator, 3, { body })).toEqual([200, 200, 429]);
    const stats = simulator.stats();
    expect(stats.totals.rejectedBy['token-rate']).toBe(1);
    expect(stats.windows).toContainEqual(
      expect.objectContaining({ window: 'tpm', used: 2 * (PROMPT + 30), maxUsed: 76 }),
    );
  });

  it('TPS defaults to TPM/60', async () => {
    const simulator = await start({ ...slow, models: { m: { tpm: 6000 } } });
    const body = { model: 'm', messages: [{ role: 'user', content: 'hello' }], max_tokens: 30 };
    expect(await statuses(simulator, 3, { body })).toEqual([200, 200, 429]);
    expect(simulator.stats().windows.find((w) => w.window === 'tps')).toMatchObject({
      limit: 100,
      used: 76,
    });
  });

  it('charges the model default output cap when the request sets none, and max_completion_tokens when given', async () => {
    const simulator = await start({ models: { m: { defaultMaxTokens: 50 } } });
    await statuses(simulator, 1, {
      body: { model: 'm', messages: [{ role: 'user', content: 'hello' }] },
    });
    await statuses(simulator, 1, {
      body: {
        model: 'm',
        messages: [{ role: 'user', content: 'hello' }],
        max_completion_tokens: 20,
      },
    });
    expect(simulator.stats().admissions.map((a) => [a.maxTokens, a.cost])).toEqual([
      [50, PROMPT + 50],
      [20, PROMPT + 20],
    ]);
  });
});

describe('burst guard', () => {
  const burst = (n: number, simulator: Awaited<ReturnType<typeof start>>) =>
    Promise.all(Array.from({ length: n }, () => chat(simulator).then((r) => r.status)));

  it('refuses a surge above 1.6× the per-second rate within 250 ms (4 at 10 RPS)', async () => {
    const simulator = await start({ ...slow, models: { m: { rpm: 600 } } });
    const codes = await burst(6, simulator);
    expect(codes.filter((c) => c === 200)).toHaveLength(4);
    expect(simulator.stats().totals.rejectedBy.burst).toBe(2);
  });

  it('can be configured or switched off', async () => {
    const strict = await start({
      models: { m: { rpm: 600, burst: { windowMs: 60_000, limit: 2 } } },
    });
    expect((await burst(5, strict)).filter((c) => c === 200)).toHaveLength(2);
    const off = await start({ ...slow, models: { m: { rpm: 600, burst: false } } });
    expect((await burst(6, off)).filter((c) => c === 200)).toHaveLength(6);
  });
});

describe('accounting', () => {
  // max_tokens 500; the answer is always 30% of it: 150 completion tokens.
  const models = { m: { tpm: 1000, tps: false } } as const;
  const completion = { minRatio: 0.3, maxRatio: 0.3 };
  const body = { model: 'm', messages: [{ role: 'user', content: 'hello' }], max_tokens: 500 };

  it('reserved (default): the window keeps prompt + max_tokens, whatever the answer used', async () => {
    const simulator = await start({ models, completion });
    expect(await statuses(simulator, 2, { body })).toEqual([200, 429]);
    expect(simulator.stats().windows[0]).toMatchObject({ window: 'tpm', used: PROMPT + 500 });
  });

  it('actual: the window is corrected to prompt + completion when the response completes', async () => {
    const simulator = await start({ models, completion, accounting: 'actual' });
    expect(await statuses(simulator, 2, { body })).toEqual([200, 200]);
    expect(simulator.stats().windows[0]).toMatchObject({ window: 'tpm', used: 2 * (PROMPT + 150) });
    // Booked at admission as prompt + max_tokens: the peak shows the reservation.
    expect(simulator.stats().windows[0]?.maxUsed).toBe(PROMPT + 150 + PROMPT + 500);
  });
});

describe('countRejected', () => {
  // A (60 tokens) admitted, B (60) refused for tokens, C (10) then needs the second RPM slot.
  const models = { m: { rpm: 2, tpm: 100, ...noPerSecond } };
  const request = (maxTokens: number) => ({
    body: { model: 'm', messages: [{ role: 'user', content: 'hello' }], max_tokens: maxTokens },
  });

  it.each([
    [true, [200, 429, 429], 3],
    [false, [200, 429, 200], 2],
  ] as const)('countRejected %s', async (countRejected, expected, rpmUsed) => {
    const simulator = await start({ models, countRejected });
    const codes = [
      ...(await statuses(simulator, 1, request(52))),
      ...(await statuses(simulator, 1, request(52))),
      ...(await statuses(simulator, 1, request(2))),
    ];
    expect(codes).toEqual(expected);
    const stats = simulator.stats();
    expect(stats.windows.find((w) => w.window === 'rpm')?.used).toBe(rpmUsed);
    expect(stats.totals.rejectedBy['token-rate']).toBe(1);
    expect(stats.totals.rejectedBy['request-rate']).toBe(countRejected ? 1 : 0);
    // Refused requests never count tokens.
    expect(stats.windows.find((w) => w.window === 'tpm')?.used).toBe(countRejected ? 60 : 70);
  });
});

describe('accounts', () => {
  const config = {
    models: { m: { rpm: 2, ...noPerSecond } },
    accounts: [
      { id: 'team', keys: ['sk-team-1', 'sk-team-2'] },
      { id: 'other', keys: ['sk-other'] },
    ],
  };

  it('shares one quota between the keys of an account', async () => {
    const simulator = await start(config);
    const codes = [
      ...(await statuses(simulator, 1, { key: 'sk-team-1' })),
      ...(await statuses(simulator, 1, { key: 'sk-team-2' })),
      ...(await statuses(simulator, 1, { key: 'sk-team-2' })),
      ...(await statuses(simulator, 1, { key: 'sk-team-1' })),
    ];
    expect(codes).toEqual([200, 200, 429, 429]);
    const stats = simulator.stats();
    expect(stats.byAccount.team).toMatchObject({ requests: 4, admitted: 2, rejected: 2 });
    expect(stats.byKey['sk-team-1']).toMatchObject({ requests: 2, admitted: 1 });
    expect(stats.byKey['sk-team-2']).toMatchObject({ requests: 2, admitted: 1 });
  });

  it('gives separate accounts separate quotas', async () => {
    const simulator = await start(config);
    expect(await statuses(simulator, 3, { key: 'sk-team-1' })).toEqual([200, 200, 429]);
    expect(await statuses(simulator, 3, { key: 'sk-other' })).toEqual([200, 200, 429]);
    expect(simulator.stats().byAccount.other).toMatchObject({ admitted: 2, rejected: 1 });
    expect(simulator.stats().byModel.m).toMatchObject({ admitted: 4, rejected: 2 });
  });

  it('keeps separate quotas per model', async () => {
    const simulator = await start({
      ...config,
      models: { a: { rpm: 1, ...noPerSecond }, b: { rpm: 1, ...noPerSecond } },
    });
    expect(await statuses(simulator, 2, { key: 'sk-team-1', model: 'a' })).toEqual([200, 429]);
    expect(await statuses(simulator, 1, { key: 'sk-team-1', model: 'b' })).toEqual([200]);
  });
});

describe('free tier', () => {
  it('refuses with quota-exhausted once the allowance is used up, for that account and model only', async () => {
    const simulator = await start({
      models: { m: {}, n: {} },
      completion: { minRatio: 1, maxRatio: 1 },
      accounts: [
        { id: 'free', keys: ['sk-free'], freeTokens: 100 },
        { id: 'paid', keys: ['sk-paid'] },
      ],
    });
    // 8 prompt + 50 completion = 58 tokens each: the second request crosses 100.
    const body = { model: 'm', messages: [{ role: 'user', content: 'hello' }], max_tokens: 50 };
    expect(await statuses(simulator, 3, { key: 'sk-free', body })).toEqual([200, 200, 429]);
    expect(await statuses(simulator, 1, { key: 'sk-free', body: { ...body, model: 'n' } })).toEqual(
      [200],
    );
    expect(await statuses(simulator, 3, { key: 'sk-paid', body })).toEqual([200, 200, 200]);
    const stats = simulator.stats();
    expect(stats.byAccount.free?.rejectedBy['quota-exhausted']).toBe(1);
    expect(stats.rejected429ByReason).toEqual({
      'request-rate': 0,
      burst: 0,
      'token-rate': 0,
      'quota-exhausted': 1,
    });
  });
});
