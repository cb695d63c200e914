/**
 * The fallback demo: one batch through one `openai` client whose calls go down a chain of models
 * (`@tollgate/fallback`): qwen3-max → qwen-plus → qwen-turbo, each with its DashScope quota, on
 * an embedded simulator serving the three. A request its model has not admitted within the
 * model's wait budget also waits for the next one; the first to admit it serves it, nothing
 * sent to the other.
 *
 *   pnpm demo:fallback                          300 prompts, time x3
 *   SPILL_AFTER_MS=10000 pnpm demo:fallback     a longer budget on qwen3-max and qwen-plus
 *
 * Knobs (environment variables; durations in simulated ms):
 *   TIME_SCALE   3      simulated ms per real ms
 *   BATCH_SIZE   300    prompts of 500–3,000 tokens, max_tokens 2,000, sent at once
 *   SPILL_AFTER_MS  1000   the wait budget of qwen3-max and qwen-plus (the chain's default)
 */
import { Limiter, type QuotaDefinition } from '@tollgate/core';
import { dashscope } from '@tollgate/core/presets';
import { type ChainEvents, fallback, modelChain } from '@tollgate/fallback';
import { withTollgate } from '@tollgate/openai';
import { presets } from '@tollgate/simulator';
import OpenAI from 'openai';
import { lowerBoundSeconds, QWEN3_MAX } from '../../batch/src/bound.js';
import { envNumber } from '../../batch/src/env.js';
import { realTimeMargin } from '../../batch/src/margin.js';
import { formatReasons } from '../../batch/src/report.js';
import { startSimulatorThread } from '../../batch/src/simulator-thread.js';
import { syntheticBatch } from '../../batch/src/workload.js';

const timeScale = envNumber('TIME_SCALE', 3);
const batch = syntheticBatch({ count: envNumber('BATCH_SIZE', 300, true) });
const spillAfterMs = envNumber('SPILL_AFTER_MS', 1000);

/**
 * The chain, preferred first, with Model Studio's quotas: qwen3-max and qwen-plus as the
 * `global` deployment lists them (qwen3-max's is the international one too), qwen-turbo as
 * the `mainland` one does (the only table that lists it).
 */
const CHAIN: ReadonlyArray<{ readonly model: string; readonly quota: QuotaDefinition }> = [
  { model: 'qwen3-max', quota: dashscope('qwen3-max', { deployment: 'global' }) },
  { model: 'qwen-plus', quota: dashscope('qwen-plus', { deployment: 'global' }) },
  { model: 'qwen-turbo', quota: dashscope('qwen-turbo', { deployment: 'mainland' }) },
];
const perMinute = (quota: QuotaDefinition) => {
  if (!('rpm' in quota) || quota.rpm === undefined || quota.tpm === undefined)
    throw new Error('a per-minute quota');
  return { rpm: quota.rpm, tpm: quota.tpm };
};

const simulator = await startSimulatorThread({
  ...presets.qwen3Max,
  models: Object.fromEntries(
    // qwen3-max as the simulator's preset has it; the others from their RPM and TPM alone (the
    // simulator derives the per-second windows and the burst guard from them)
    CHAIN.map(({ model, quota }) => [model, presets.qwen3Max.models?.[model] ?? perMinute(quota)]),
  ),
  timeScale,
});
const clock = simulator.clock;
const chain = modelChain({
  provider: 'dashscope',
  clock,
  models: CHAIN.map(({ model, quota }) => ({
    model,
    spillAfterMs,
    limiter: new Limiter({
      quota,
      key: `fallback:${model}`,
      clock,
      margin: realTimeMargin(timeScale),
    }),
  })),
});
const fallbacks: Array<ChainEvents['fallback']> = [];
chain.on('fallback', (event) => fallbacks.push(event));

const client = withTollgate(new OpenAI({ baseURL: simulator.url, apiKey: simulator.apiKey }), {
  limiter: chain.limiterFor,
  layers: [fallback(chain)],
  provider: 'dashscope',
  retry: { provider: 'dashscope', clock },
});

console.log(
  `${batch.length} prompts down ${CHAIN.map(({ model, quota }) => {
    const { rpm, tpm } = perMinute(quota);
    return `${model} (${rpm} RPM, ${tpm} TPM)`;
  }).join(' → ')}; budget ${spillAfterMs} ms; time x${timeScale}`,
);
const started = clock.now();
let last = started;
const served = new Map<string, number>();
const results = await Promise.allSettled(
  batch.map(async (item) => {
    const reply = await client.chat.completions.create({
      model: CHAIN[0]!.model,
      messages: [...item.messages],
      max_tokens: item.max_tokens,
    });
    served.set(reply.model, (served.get(reply.model) ?? 0) + 1);
    last = clock.now();
  }),
);
const makespan = (last - started) / 1000;
const stats = await simulator.stats();
const costs = await simulator.costs(batch, 'reserved');
await simulator.close();
const lost = results.filter((r) => r.status === 'rejected');

console.log('\nserved per model (replies / simulator admissions):');
for (const { model } of CHAIN) {
  console.log(
    `  ${model.padEnd(11)} ${String(served.get(model) ?? 0).padStart(4)} / ${stats.byModel[model]?.admitted ?? 0}`,
  );
}
const byReason = new Map<string, number>();
for (const { from, to, reason } of fallbacks) {
  const key = `${from} → ${to}: ${reason.kind}`;
  byReason.set(key, (byReason.get(key) ?? 0) + 1);
}
console.log(`fallbacks: ${fallbacks.length}`);
for (const [key, count] of byReason) console.log(`  ${key} ${count}`);
console.log(`429 responses: ${stats.rejected429} (${formatReasons(stats.rejected429ByReason)})`);
console.log(`lost: ${lost.length}`);
const alone = lowerBoundSeconds(costs, QWEN3_MAX);
console.log(
  `makespan: ${makespan.toFixed(2)} s; qwen3-max alone: bound ${alone.toFixed(2)} s ` +
    `(${(alone / makespan).toFixed(1)}× the makespan)`,
);
console.log('(simulated seconds; the bound from examples/batch/src/bound.ts)');
for (const failure of lost.slice(0, 3)) console.error('lost:', failure);
if (lost.length > 0) process.exitCode = 1;
