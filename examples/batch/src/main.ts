/**
 * The batch demo: a few hundred long-context prompts through one `openai` client that
 * Tollgate limits, against an embedded simulator of qwen3-max's quota (or a real endpoint).
 *
 *   pnpm demo                                   simulator, 400 synthetic prompts, time x3
 *   BATCH_SIZE=1000 TIME_SCALE=10 pnpm demo     more prompts, faster simulated time
 *   BATCH_PROMPTS=prompts.jsonl pnpm demo       your prompts (one JSON object per line)
 *   OPENAI_BASE_URL=… OPENAI_API_KEY=… OPENAI_MODEL=qwen3-max pnpm demo   a real endpoint
 */
import { Limiter, systemClock } from '@tollgate/core';
import { withTollgate } from '@tollgate/openai';
import { detectProvider } from '@tollgate/retry';
import { presets } from '@tollgate/simulator';
import OpenAI from 'openai';
import { lowerBoundSeconds, type QuotaRates, QWEN3_MAX } from './bound.js';
import { envNumber } from './env.js';
import { realTimeMargin } from './margin.js';
import { countingFetch, formatSummary, Progress } from './report.js';
import { startSimulatorThread, type ThreadedSimulator } from './simulator-thread.js';
import { type BatchItem, batchFromJsonl, syntheticBatch } from './workload.js';

const env = process.env;

async function main(): Promise<void> {
  const real = env.OPENAI_BASE_URL !== undefined && env.OPENAI_BASE_URL !== '';
  const timeScale = real ? 1 : envNumber('TIME_SCALE', 3);
  const items: BatchItem[] = env.BATCH_PROMPTS
    ? batchFromJsonl(env.BATCH_PROMPTS)
    : syntheticBatch({ count: envNumber('BATCH_SIZE', 400) });
  const quota: QuotaRates = {
    rpm: envNumber('QUOTA_RPM', QWEN3_MAX.rpm),
    tpm: envNumber('QUOTA_TPM', QWEN3_MAX.tpm),
    rps: envNumber('QUOTA_RPS', QWEN3_MAX.rps),
    tps: envNumber('QUOTA_TPS', QWEN3_MAX.tps),
  };

  let simulator: ThreadedSimulator | undefined;
  let baseURL: string;
  let apiKey: string;
  if (real) {
    baseURL = env.OPENAI_BASE_URL!;
    apiKey = env.OPENAI_API_KEY ?? '';
  } else {
    simulator = await startSimulatorThread({ ...presets.qwen3Max, timeScale });
    baseURL = simulator.url;
    apiKey = simulator.apiKey;
  }
  try {
    const model = env.OPENAI_MODEL ?? 'qwen3-max';
    const clock = simulator?.clock ?? systemClock;

    // default options: the quota, on the endpoint's clock, its margin in real time
    const limiter = new Limiter({ quota, clock, margin: realTimeMargin(timeScale) });
    // The simulator counts its own 429s; a real endpoint's are counted below Tollgate.
    const counted = simulator === undefined ? countingFetch(globalThis.fetch) : undefined;
    const client = withTollgate(new OpenAI({ baseURL, apiKey, fetch: counted?.fetch }), {
      limiter,
      retry: { provider: real ? detectProvider(baseURL) : 'dashscope' },
    });

    console.log(
      `${items.length} requests to ${model} at ${real ? baseURL : `the simulator (time x${timeScale})`}; ` +
        `quota ${quota.rpm} RPM, ${quota.tpm.toLocaleString('en')} TPM, ${quota.rps} RPS, ${quota.tps.toLocaleString('en')} TPS`,
    );
    // The first call on a cold client reaches the server tens of ms late (connection, lazy code);
    // an entry that arrives late stays in the provider's window past the limiter's. Warm up first,
    // with a request shaped like the batch's, so the prompt bias it teaches the limiter is right.
    const first = items[0];
    if (first !== undefined) {
      await client.chat.completions.create({ model, messages: [...first.messages], max_tokens: 1 });
    }
    const progress = new Progress(limiter, items.length, quota.tpm);
    const started = clock.now();
    progress.start();
    const costs: number[] = [];
    const results = await Promise.allSettled(
      items.map(async (item) => {
        const reply = await client.chat.completions.create({
          model,
          messages: [...item.messages],
          max_tokens: item.max_tokens,
        });
        progress.done++;
        costs.push((reply.usage?.prompt_tokens ?? 0) + item.max_tokens);
        return reply;
      }),
    );
    const makespanS = (clock.now() - started) / 1000;
    progress.stop();

    const lost = results.filter((result) => result.status === 'rejected');
    const bound = lowerBoundSeconds(costs, quota);
    const stats = await simulator?.stats();
    console.log(
      formatSummary({
        requests: items.length,
        succeeded: items.length - lost.length,
        lost: lost.length,
        r429: stats?.rejected429 ?? counted?.status429 ?? 0,
        r429Simulator: stats?.rejected429ByReason,
        makespanS,
        lowerBoundS: bound,
      }),
    );
    for (const failure of lost.slice(0, 3)) {
      console.error('lost:', (failure as PromiseRejectedResult).reason);
    }
    limiter.close();
    if (lost.length > 0) process.exitCode = 1;
  } finally {
    await simulator?.close(); // its thread would keep the process alive
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
