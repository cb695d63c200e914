/**
 * One worker process: its own `Limiter` on a `RedisStore` — the quota all workers share — an
 * `openai` client wrapped by `withTollgate`, and every `workers`-th request of the batch.
 */
import { Limiter } from '@tollgate/core';
import { withTollgate } from '@tollgate/openai';
import { RedisStore } from '@tollgate/redis';
import { simulatorClock } from '@tollgate/simulator';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { realTimeMargin } from '../../batch/src/margin.js';
import { QWEN3_MAX, syntheticBatch, type WorkerConfig, type WorkerMessage } from './shared.js';

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;
const send = (message: WorkerMessage) => process.send?.(message);

const clock = simulatorClock(config.clock.timeScale, config.clock.anchor);
const redis = new Redis(config.redisUrl);
// ioredis reconnects by itself; the limiter reports an outage once, as its own `error` event
redis.on('error', () => {});

// Default options otherwise: the adapter books each request when its body is on the wire, so
// the default margin only has to cover the way from this process's socket to the provider's —
// 10 real ms, which on the simulator's clock are 10 x timeScale.
const limiter = new Limiter({
  quota: QWEN3_MAX,
  key: config.key, // the same in every worker: one quota
  // The simulator's clock, in every worker (and in the store: Redis's TIME runs at real speed).
  clock,
  margin: realTimeMargin(config.clock.timeScale),
  store: new RedisStore({ client: redis, prefix: config.prefix, clock }),
});
limiter.on('error', ({ error }) => console.error(`worker ${config.index}:`, String(error)));
const departureLags: number[] = [];
const client = withTollgate(new OpenAI({ baseURL: config.baseURL, apiKey: config.apiKey }), {
  limiter,
  retry: { provider: 'dashscope' },
});
const model = 'qwen3-max';
const share = syntheticBatch(config.batchSize).filter(
  (_, id) => id % config.workers === config.index,
);

// Warm up: a cold process's first request leaves tens of (real) ms after its admission — more
// than the margin once time runs x4. One request shaped like the batch's (output capped at 1)
// also teaches the estimator the batch's prompt bias.
await client.chat.completions.create({ model, ...share[0]!, max_tokens: 1 });
limiter.on('departed', ({ lagMs }) => departureLags.push(lagMs));
send({ type: 'ready' });
await new Promise<void>((resolve) => process.once('message', () => resolve()));

// Drain the share with `concurrency` requests going at once, as a job consumer does; all of
// them wait in the limiter, which admits them as the shared quota allows.
const costs: number[] = [];
const errors: string[] = [];
let next = 0;
async function lane(): Promise<void> {
  while (next < share.length) {
    const item = share[next++]!;
    try {
      const reply = await client.chat.completions.create({ model, ...item });
      costs.push((reply.usage?.prompt_tokens ?? 0) + item.max_tokens);
    } catch (error) {
      errors.push(String(error));
    }
  }
}
await Promise.all(Array.from({ length: config.concurrency }, lane));
send({
  type: 'done',
  index: config.index,
  succeeded: costs.length,
  lost: errors.length,
  costs,
  departureLags,
  errors: errors.slice(0, 3),
});
limiter.close();
await redis.quit();
process.disconnect?.();
