/**
 * The multi-account demo: one batch through one `openai` client whose calls rotate over a pool
 * of accounts (`@tollgate/rotation`), against an embedded simulator that keeps qwen3-max's quota
 * per account. Account `acct-a` has two keys in one billing group — they share its quota and
 * add nothing — `acct-b` and `acct-c` one key each, and `acct-free` a free tier that runs out
 * mid-batch: the pool retires it and the others carry on.
 *
 *   pnpm demo:multi-account                     300 prompts, 3 paid accounts + a free tier, time x3
 *   FREE_TOKENS=0 pnpm demo:multi-account       no free-tier account
 *   BATCH_SIZE=600 TIME_SCALE=6 pnpm demo:multi-account
 *
 * Knobs (environment variables):
 *   TIME_SCALE   3        simulated ms per real ms
 *   BATCH_SIZE   300      prompts of 500–3,000 tokens, max_tokens 2,000, sent at once
 *   FREE_TOKENS  100000   the free-tier account's allowance (prompt + completion); 0 for no such account
 */
import { Limiter } from '@tollgate/core';
import { dashscope } from '@tollgate/core/presets';
import { withTollgate } from '@tollgate/openai';
import { accountPool, type LimiterFactory, type PoolEvents, rotate } from '@tollgate/rotation';
import { type AccountConfig, presets } from '@tollgate/simulator';
import OpenAI from 'openai';
import { poolAccounts } from '../../batch/src/accounts.js';
import { lowerBoundSeconds, type QuotaRates, QWEN3_MAX } from '../../batch/src/bound.js';
import { envNumber } from '../../batch/src/env.js';
import { realTimeMargin } from '../../batch/src/margin.js';
import { formatReasons } from '../../batch/src/report.js';
import { startSimulatorThread } from '../../batch/src/simulator-thread.js';
import { syntheticBatch } from '../../batch/src/workload.js';

const MODEL = 'qwen3-max';
const PAID = 3;
const timeScale = envNumber('TIME_SCALE', 3);
const batch = syntheticBatch({ count: envNumber('BATCH_SIZE', 300, true) });
const freeTokens = process.env.FREE_TOKENS === '0' ? 0 : envNumber('FREE_TOKENS', 100_000, true);

/** The simulator's accounts: who holds which keys (the provider's side of billing groups). */
const simulated: AccountConfig[] = [
  { id: 'acct-a', keys: ['sk-a1', 'sk-a2'] },
  { id: 'acct-b', keys: ['sk-b'] },
  { id: 'acct-c', keys: ['sk-c'] },
  ...(freeTokens > 0 ? [{ id: 'acct-free', keys: ['sk-free'], freeTokens }] : []),
];
const simulator = await startSimulatorThread({
  ...presets.qwen3Max,
  accounts: simulated,
  timeScale,
});
const clock = simulator.clock;

// One limiter per billing group, on the simulator's clock, with the real-time margin.
const qwen3Max: LimiterFactory = ({ store, key }) =>
  new Limiter({ quota: dashscope(MODEL), store, key, clock, margin: realTimeMargin(timeScale) });
const pool = accountPool({
  provider: 'dashscope',
  clock,
  accounts: poolAccounts(simulated, simulator.url, { [MODEL]: qwen3Max }),
});
const retirements: Array<PoolEvents['retired'] & { readonly atMs: number }> = [];
pool.on('retired', (event) => retirements.push({ ...event, atMs: clock.now() }));
const holds: PoolEvents['held'][] = [];
pool.on('held', (event) => holds.push(event));

const client = withTollgate(new OpenAI({ baseURL: simulator.url, apiKey: 'per-account' }), {
  limiter: pool.limiterFor,
  layers: [rotate(pool)],
  provider: 'dashscope',
  retry: { provider: 'dashscope', clock },
});

console.log(
  `${batch.length} prompts, qwen3-max (600 RPM, 1,000,000 TPM, 10 RPS, 16,667 TPS per account), ` +
    `accounts: ${simulated.map((a) => `${a.id} (${a.keys.length} key${a.keys.length > 1 ? 's' : ''}${a.freeTokens === undefined ? '' : `, free tier ${a.freeTokens} tokens`})`).join(', ')}; time x${timeScale}`,
);
const started = clock.now();
let last = started;
const results = await Promise.allSettled(
  batch.map(async (item) => {
    await client.chat.completions.create({
      model: MODEL,
      messages: [...item.messages],
      max_tokens: item.max_tokens,
    });
    last = clock.now();
  }),
);
const makespan = (last - started) / 1000;
const stats = await simulator.stats();
const costs = await simulator.costs(batch, 'reserved');
await simulator.close();

const times = (rates: QuotaRates, n: number): QuotaRates => ({
  rpm: rates.rpm * n,
  tpm: rates.tpm * n,
  rps: rates.rps * n,
  tps: rates.tps * n,
});
const one = lowerBoundSeconds(costs, QWEN3_MAX);
const paid = lowerBoundSeconds(costs, times(QWEN3_MAX, PAID));
const lost = results.filter((r) => r.status === 'rejected');

console.log('\nserved per account (keys):');
for (const { id, keys } of simulated) {
  const perKey = keys.map((key) => `${key} ${stats.byKey[key]?.admitted ?? 0}`).join(', ');
  console.log(
    `  ${id.padEnd(10)} ${String(stats.byAccount[id]?.admitted ?? 0).padStart(4)}  (${perKey})`,
  );
}
const [first] = retirements;
if (first !== undefined) {
  console.log(
    `retired: ${first.account} (group ${first.billingGroup}) at ${((first.atMs - started) / 1000).toFixed(2)} s, ` +
      `${first.reason.kind}, out for ${first.forMs / 1000} s; ${retirements.length} retirement event(s) in all ` +
      '(one per refused request: those sent before the first refusal came back)',
  );
}
console.log(`holds: ${holds.length}`);
console.log(`429 responses: ${stats.rejected429} (${formatReasons(stats.rejected429ByReason)})`);
console.log(`lost: ${lost.length}`);
console.log(
  `makespan: ${makespan.toFixed(2)} s; single-account bound ${one.toFixed(2)} s ` +
    `(${(one / makespan).toFixed(2)}× faster than it), ${PAID}× bound ${paid.toFixed(2)} s ` +
    `(makespan / it = ${(makespan / paid).toFixed(2)})`,
);
console.log('(simulated seconds; bounds from examples/batch/src/bound.ts, paid accounts only)');
for (const failure of lost.slice(0, 3)) console.error('lost:', failure);
if (lost.length > 0) process.exitCode = 1;
