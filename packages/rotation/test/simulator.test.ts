/**
 * Across HTTP: the real `openai` SDK through `withTollgate` against the simulator, with the pool
 * as its layer (`layers: [rotate(pool)]`, `limiter: pool.limiterFor`). Throughput is counted in
 * admissions per simulated minute, never in wall time.
 */
import { Limiter } from '@tollgate/core';
import { withTollgate } from '@tollgate/openai';
import { type AccountConfig, type Simulator, startSimulator } from '@tollgate/simulator';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AccountDefinition,
  type AccountPool,
  accountPool,
  type PoolEvents,
  rotate,
} from '../src/index.js';

const MODEL = 'qwen3-max';
const RPM = 30;
/** Only a per-minute request window, so that a minute's admissions show the capacity. */
const MODELS = {
  [MODEL]: { rpm: RPM, tpm: 1_000_000, rps: false, tps: false, burst: false },
} as const;
const TIME_SCALE = 20;
const NO_429 = { 'request-rate': 0, burst: 0, 'token-rate': 0, 'quota-exhausted': 0 };

const running = new Set<Simulator>();
afterEach(async () => {
  await Promise.all([...running].map((sim) => sim.close()));
  running.clear();
});

async function simulator(accounts: ReadonlyArray<AccountConfig>): Promise<Simulator> {
  const sim = await startSimulator({ models: MODELS, accounts, timeScale: TIME_SCALE });
  running.add(sim);
  return sim;
}

/** Pool accounts on the simulator, each with the model's quota on the simulator's clock. */
function poolOn(
  sim: Simulator,
  keys: ReadonlyArray<{ key: string; group?: string }>,
  strategy: 'most-headroom' | 'round-robin' = 'most-headroom',
): AccountPool {
  const quota = ({ store, key }: { store: never; key: string }) =>
    new Limiter({
      quota: { rpm: RPM, tpm: 1_000_000 },
      store,
      key,
      clock: sim.clock,
      // event-loop jitter between admission and arrival is real time: 100 real ms on a loaded VM
      margin: { ms: 100 * TIME_SCALE },
    });
  const accounts = keys.map(
    ({ key, group }): AccountDefinition => ({
      id: key,
      apiKey: key,
      baseURL: sim.url,
      ...(group === undefined ? {} : { billingGroup: group }),
      quotas: { [MODEL]: quota as never },
    }),
  );
  return accountPool({ accounts, strategy, provider: 'dashscope', clock: sim.clock });
}

async function batch(sim: Simulator, pool: AccountPool, calls: number) {
  const client = withTollgate(new OpenAI({ baseURL: sim.url, apiKey: 'unused', maxRetries: 0 }), {
    limiter: pool.limiterFor,
    provider: 'dashscope',
    retry: { provider: 'dashscope', clock: sim.clock },
    layers: [rotate(pool)],
  });
  const replies = await Promise.allSettled(
    Array.from({ length: calls }, (_, i) =>
      client.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: `Summarise item ${i}: quota window token.` }],
        max_tokens: 50,
      }),
    ),
  );
  return replies.filter((reply) => reply.status === 'fulfilled').length;
}

/** Admissions within the first simulated minute after the first one. */
function firstMinute(sim: Simulator): number {
  const at = sim.stats().admissions.map((sample) => sample.at);
  const start = Math.min(...at);
  return at.filter((t) => t < start + 60_000).length;
}

describe('against the simulator', () => {
  it('three accounts admit three times what one does per minute, with no 429', async () => {
    const one = await simulator([{ id: 'a', keys: ['key-a'] }]);
    expect(await batch(one, poolOn(one, [{ key: 'key-a' }]), 40)).toBe(40);
    const single = firstMinute(one);

    const three = await simulator(['a', 'b', 'c'].map((id) => ({ id, keys: [`key-${id}`] })));
    const pool = poolOn(
      three,
      ['a', 'b', 'c'].map((id) => ({ key: `key-${id}` })),
    );
    expect(await batch(three, pool, 120)).toBe(120);
    const triple = firstMinute(three);

    expect([one.stats().rejected429ByReason, three.stats().rejected429ByReason]).toEqual([
      NO_429,
      NO_429,
    ]);
    expect(single).toBeGreaterThanOrEqual(RPM - 3);
    expect(single).toBeLessThanOrEqual(RPM);
    expect(triple).toBeGreaterThanOrEqual(3 * single - 6);
    expect(triple).toBeLessThanOrEqual(3 * RPM);
    const byKey = three.stats().byKey;
    expect(['a', 'b', 'c'].map((id) => byKey[`key-${id}`]!.admitted).reduce((x, y) => x + y)).toBe(
      120,
    );
  }, 60_000);

  it('two keys of one billing group add no capacity', async () => {
    const sim = await simulator([{ id: 'acct', keys: ['k1', 'k2'] }]);
    // round-robin, so that both keys carry calls
    const pool = poolOn(
      sim,
      [
        { key: 'k1', group: 'acct' },
        { key: 'k2', group: 'acct' },
      ],
      'round-robin',
    );
    expect(await batch(sim, pool, 40)).toBe(40);
    expect(sim.stats().rejected429).toBe(0);
    expect(firstMinute(sim)).toBeLessThanOrEqual(RPM);
    const byKey = sim.stats().byKey;
    // both keys were used, and together they stayed within the one account's quota
    expect(byKey.k1!.admitted).toBeGreaterThan(0);
    expect(byKey.k2!.admitted).toBeGreaterThan(0);
  }, 60_000);

  it('a free tier that runs out mid-batch is retired; the batch completes on the others', async () => {
    const sim = await simulator([
      { id: 'free', keys: ['key-free'], freeTokens: 600 },
      { id: 'paid-1', keys: ['key-paid-1'] },
      { id: 'paid-2', keys: ['key-paid-2'] },
    ]);
    const pool = poolOn(sim, [{ key: 'key-free' }, { key: 'key-paid-1' }, { key: 'key-paid-2' }]);
    const retired: Array<PoolEvents['retired']> = [];
    pool.on('retired', (event) => retired.push(event));

    expect(await batch(sim, pool, 45)).toBe(45);

    const stats = sim.stats();
    expect(stats.totals.admitted).toBe(45);
    expect(stats.byKey['key-free']!.admitted).toBeGreaterThan(0);
    expect(stats.rejected429ByReason['quota-exhausted']).toBeGreaterThan(0);
    expect(stats.rejected429).toBe(stats.rejected429ByReason['quota-exhausted']);
    expect(retired.length).toBeGreaterThan(0);
    expect(retired.every((event) => event.account === 'key-free')).toBe(true);
    expect(retired[0]!.reason.kind).toBe('quota-exhausted');
    const states = await pool.states(MODEL);
    expect(states.map((s) => [s.id, s.status])).toEqual([
      ['key-free', 'out'],
      ['key-paid-1', 'available'],
      ['key-paid-2', 'available'],
    ]);
    expect(states[0]!.reason?.message).toMatch(/Free allocated quota exceeded/);
  }, 60_000);
});
