/**
 * The Effect pipeline demo: one batch as a `Stream`, with bounded concurrency, through
 * fallback → rotation → retry → limit against an embedded simulator serving qwen3-max and
 * qwen-plus on two accounts, each with Model Studio's quotas. The real `openai` SDK makes the
 * calls, through `withTollgate`; `fromTollgate` makes each an Effect (interruption aborts it,
 * failures are tagged errors). Effect's clock is the simulator's (`effectClock`), so the
 * makespan is simulated time.
 *
 *   pnpm demo:effect                            300 prompts, 64 at a time, time x3
 *   VIA=pipelineEffect pnpm demo:effect         the same layers around an Effect call instead
 *   BATCH_SIZE=600 CONCURRENCY=128 pnpm demo:effect
 *
 * Knobs (environment variables):
 *   TIME_SCALE    3     simulated ms per real ms
 *   BATCH_SIZE    300   prompts of 500–3,000 tokens, max_tokens 2,000
 *   CONCURRENCY   64    calls in flight or waiting at once (the Stream's bound)
 *   VIA           withTollgate   or pipelineEffect: retry → fallback → rotate → limit as promise
 *                                layers around an Effect that calls the SDK
 */
import { Limiter, limit } from '@tollgate/core';
import { dashscope } from '@tollgate/core/presets';
import { classifyError, effectClock, fromTollgate, pipelineEffect } from '@tollgate/effect';
import { fallback, modelChain } from '@tollgate/fallback';
import { withTollgate } from '@tollgate/openai';
import { quotaFeedback, retry } from '@tollgate/retry';
import { accountPool, type LimiterFactory, rotate } from '@tollgate/rotation';
import { presets } from '@tollgate/simulator';
import { Clock, Effect, Exit, Stream } from 'effect';
import OpenAI from 'openai';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import { poolAccounts } from '../../batch/src/accounts.js';
import { envNumber } from '../../batch/src/env.js';
import { realTimeMargin } from '../../batch/src/margin.js';
import { formatReasons } from '../../batch/src/report.js';
import { startSimulatorThread } from '../../batch/src/simulator-thread.js';
import { syntheticBatch } from '../../batch/src/workload.js';

const MODELS = ['qwen3-max', 'qwen-plus'] as const;
const ACCOUNTS = [
  { id: 'acct-a', keys: ['sk-a'] },
  { id: 'acct-b', keys: ['sk-b'] },
];
const timeScale = envNumber('TIME_SCALE', 3);
const concurrency = envNumber('CONCURRENCY', 64, true);
const batch = syntheticBatch({ count: envNumber('BATCH_SIZE', 300, true) });
const via = process.env.VIA === 'pipelineEffect' ? 'pipelineEffect' : 'withTollgate';

const quotaOf = (model: (typeof MODELS)[number]) =>
  dashscope(model, { deployment: 'global' }) as { rpm: number; tpm: number };
const simulator = await startSimulatorThread({
  ...presets.qwen3Max,
  accounts: ACCOUNTS,
  models: Object.fromEntries(
    MODELS.map((model) => [
      model,
      presets.qwen3Max.models?.[model] ?? { rpm: quotaOf(model).rpm, tpm: quotaOf(model).tpm },
    ]),
  ),
  timeScale,
});
const clock = simulator.clock;

// every account holds a quota of each model; the chain's models have none of their own
const limiterFor =
  (model: (typeof MODELS)[number]): LimiterFactory =>
  ({ store, key }) =>
    new Limiter({
      quota: dashscope(model, { deployment: 'global' }),
      store,
      key,
      clock,
      margin: realTimeMargin(timeScale),
    });
const pool = accountPool({
  provider: 'dashscope',
  clock,
  accounts: poolAccounts(
    ACCOUNTS,
    simulator.url,
    Object.fromEntries(MODELS.map((model) => [model, limiterFor(model)])),
  ),
});
const chain = modelChain({
  provider: 'dashscope',
  clock,
  models: MODELS.map((model) => ({ model })),
});

interface ChatRequest {
  readonly model: string;
  readonly messages: Array<{ role: 'system' | 'user'; content: string }>;
  readonly max_tokens: number;
}

// one SDK client per key, its own retries off: Tollgate's retry drives them
const clients = new Map<string, OpenAI>();
const clientFor = (apiKey: string) => {
  let client = clients.get(apiKey);
  if (client === undefined) {
    client = new OpenAI({ baseURL: simulator.url, apiKey, maxRetries: 0 });
    clients.set(apiKey, client);
  }
  return client;
};

const throughPipeline = pipelineEffect<
  ChatRequest,
  ChatCompletion,
  ReturnType<typeof classifyError>,
  never
>(
  [
    retry({ provider: 'dashscope', clock, maxAttempts: 8 }),
    fallback(chain),
    rotate(pool),
    limit(pool.limiterFor, { feedback: quotaFeedback({ provider: 'dashscope' }) }),
  ],
  (request, { account, model, permit, signal }) =>
    Effect.tryPromise({
      try: () =>
        clientFor(account?.apiKey ?? simulator.apiKey)
          // book the request at the wire: the windows count it from when the provider sees it
          .withOptions({
            fetch: (url, init) => {
              permit?.departed();
              return fetch(url, init);
            },
          })
          .chat.completions.create(
            { ...request, model: model ?? request.model },
            signal === undefined ? {} : { signal },
          ),
      catch: (error) => classifyError(error, { provider: 'dashscope' }),
    }),
  { provider: 'dashscope' },
);

// the official client, with the chain and the pool as its layers: fallback → rotate → retry → limit
const client = withTollgate(new OpenAI({ baseURL: simulator.url, apiKey: 'per-account' }), {
  limiter: pool.limiterFor,
  layers: [fallback(chain), rotate(pool)],
  provider: 'dashscope',
  retry: { provider: 'dashscope', clock, maxAttempts: 8 },
});
const throughClient = (request: ChatRequest) =>
  fromTollgate((signal) => client.chat.completions.create(request, { signal }), {
    provider: 'dashscope',
  });
const send = via === 'pipelineEffect' ? throughPipeline : throughClient;

console.log(
  `${batch.length} prompts, ${concurrency} at a time (${via}), down ${MODELS.join(' → ')} ` +
    `(${MODELS.map((m) => `${quotaOf(m).rpm} RPM, ${quotaOf(m).tpm} TPM`).join(' / ')} per account) ` +
    `over ${ACCOUNTS.length} accounts; time x${timeScale}`,
);

const program = Effect.gen(function* () {
  const started = yield* Clock.currentTimeMillis;
  const outcomes = yield* Stream.fromIterable(batch).pipe(
    Stream.mapEffect(
      (item) =>
        Effect.exit(
          send({ model: MODELS[0], messages: [...item.messages], max_tokens: item.max_tokens }),
        ),
      { concurrency },
    ),
    Stream.runCollect,
  );
  const finished = yield* Clock.currentTimeMillis;
  return { outcomes, makespanMs: finished - started };
}).pipe(Effect.provideService(Clock.Clock, effectClock(clock)));

const { outcomes, makespanMs } = await Effect.runPromise(program);
const stats = await simulator.stats();
await simulator.close();

const served = new Map<string, number>();
const lost: unknown[] = [];
for (const outcome of outcomes) {
  if (Exit.isSuccess(outcome)) {
    served.set(outcome.value.model, (served.get(outcome.value.model) ?? 0) + 1);
  } else lost.push(outcome.cause);
}
console.log('\nserved per model (replies / simulator admissions):');
for (const model of MODELS) {
  console.log(
    `  ${model.padEnd(10)} ${String(served.get(model) ?? 0).padStart(4)} / ${stats.byModel[model]?.admitted ?? 0}`,
  );
}
console.log('served per account (simulator admissions):');
for (const { id } of ACCOUNTS) {
  console.log(`  ${id.padEnd(10)} ${String(stats.byAccount[id]?.admitted ?? 0).padStart(4)}`);
}
console.log(`served: ${outcomes.length - lost.length}`);
console.log(`429 responses: ${stats.rejected429} (${formatReasons(stats.rejected429ByReason)})`);
console.log(`lost: ${lost.length}`);
console.log(`makespan: ${(makespanMs / 1000).toFixed(2)} s (simulated)`);
for (const failure of lost.slice(0, 3)) console.error('lost:', failure);
if (lost.length > 0 || stats.rejected429 > 0) process.exitCode = 1;
