import { type Clock, Limiter, type LimiterOptions } from '@tollgate/core';
import { fallback, modelChain } from '@tollgate/fallback';
import { withTollgate } from '@tollgate/openai';
import { accountPool, rotate } from '@tollgate/rotation';
import { presets, type SimulatorConfig } from '@tollgate/simulator';
import Bottleneck from 'bottleneck';
import OpenAI from 'openai';
import type { QuotaRates } from './bound.js';
import { realTimeMargin } from './margin.js';
import type { BatchItem } from './workload.js';
import { seededRandom } from './workload.js';

/** Everything a strategy needs to drain a batch against one endpoint. */
export interface StrategyContext {
  readonly baseURL: string;
  readonly apiKey: string;
  readonly model: string;
  readonly items: ReadonlyArray<BatchItem>;
  readonly quota: QuotaRates;
  /** The endpoint's clock: simulated time when the simulator runs scaled. */
  readonly clock: Clock;
  /** Simulated milliseconds per real millisecond (1 against a real endpoint). */
  readonly timeScale: number;
  readonly accounting: 'reserved' | 'actual';
  /**
   * The connection pool every client of one run shares (so the warm-up warms it for the
   * strategy), trusting the simulator's certificate when it serves HTTPS. Absent: the global one.
   */
  readonly dispatcher?: NonNullable<RequestInit['dispatcher']>;
}

/** What a strategy reports: how many calls succeeded; the rest were lost. */
export interface StrategyOutcome {
  readonly completed: number;
  readonly lost: number;
}

export interface Strategy {
  readonly name: string;
  readonly description: string;
  /**
   * How many copies of the quota the strategy drains, each its own account or model; the
   * simulator serves them as `endpoint` says. @default 1, the simulator's own account and model
   */
  readonly quotas?: number;
  /** The accounts and models the simulator serves instead of its preset's. */
  readonly endpoint?: Pick<SimulatorConfig, 'accounts' | 'models'>;
  run(context: StrategyContext): Promise<StrategyOutcome>;
}

const ATTEMPTS = 5;
const WORKERS = 32;
const BACKOFF_BASE_MS = 1000;
const BACKOFF_CAP_MS = 32_000;

/** Sleeps `ms` of the endpoint's (possibly simulated) time. */
const sleep = (clock: Clock, ms: number) =>
  new Promise<void>((resolve) => {
    clock.setTimeout(resolve, ms);
  });

const request = (context: StrategyContext, item: BatchItem) => ({
  model: context.model,
  messages: [...item.messages],
  max_tokens: item.max_tokens,
});

/**
 * One tiny call before the clock starts: the first request on a cold client reaches the server
 * tens of ms late, which a scaled clock magnifies. Every strategy gets the same warm-up.
 */
export async function warmUp(context: StrategyContext): Promise<void> {
  const client = plainClient(context);
  await client.chat.completions.create({
    model: context.model,
    messages: [{ role: 'user', content: 'hi' }],
    max_tokens: 1,
  });
}

/** A plain client: the SDK's retries off, so the strategy's own policy is all there is. */
const plainClient = (context: StrategyContext, maxRetries = 0) =>
  new OpenAI({
    baseURL: context.baseURL,
    apiKey: context.apiKey,
    maxRetries,
    ...(context.dispatcher === undefined
      ? {}
      : { fetchOptions: { dispatcher: context.dispatcher } }),
  });

/** What most people write: exponential backoff with full jitter, five attempts, on 429/5xx. */
async function withBackoff(
  context: StrategyContext,
  random: () => number,
  call: () => Promise<unknown>,
): Promise<boolean> {
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    try {
      await call();
      return true;
    } catch (error) {
      const status = error instanceof OpenAI.APIError ? error.status : undefined;
      const retryable = status === 429 || (status !== undefined && status >= 500);
      if (!retryable || attempt === ATTEMPTS) return false;
      const cap = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
      await sleep(context.clock, random() * cap);
    }
  }
  return false;
}

/** Runs `work` over the items with `workers` concurrent workers; counts successes. */
async function pool(
  items: ReadonlyArray<BatchItem>,
  workers: number,
  work: (item: BatchItem) => Promise<boolean>,
): Promise<StrategyOutcome> {
  let next = 0;
  let completed = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < items.length) {
        const item = items[next++]!;
        if (await work(item)) completed++;
      }
    }),
  );
  return { completed, lost: items.length - completed };
}

/**
 * A limiter with default options — nothing tuned for the batch: the quota on the endpoint's
 * clock, the default margin in real time (at TIME_SCALE=1, every option is the default).
 */
const defaultLimiter = (
  context: StrategyContext,
  options: Pick<LimiterOptions, 'store' | 'key' | 'maxWaitMs'> = {},
) =>
  new Limiter({
    quota: { ...context.quota, accounting: context.accounting },
    clock: context.clock,
    margin: realTimeMargin(context.timeScale),
    ...options,
  });

/** Sends the whole batch at once through `client`; counts what succeeded. */
async function sendAll(context: StrategyContext, client: OpenAI): Promise<StrategyOutcome> {
  const results = await Promise.allSettled(
    context.items.map((item) => client.chat.completions.create(request(context, item))),
  );
  const completed = results.filter((result) => result.status === 'fulfilled').length;
  return { completed, lost: context.items.length - completed };
}

export const tollgate: Strategy = {
  name: 'tollgate',
  description: '@tollgate/openai: every call admitted by the limiter, retried through it',
  async run(context) {
    const limiter = defaultLimiter(context);
    const client = withTollgate(plainClient(context), {
      limiter,
      retry: { provider: 'dashscope', clock: context.clock },
    });
    const outcome = await sendAll(context, client);
    limiter.close();
    return outcome;
  },
};

/** Three accounts of the simulator, each with the preset's quota (keys of its own, no sharing). */
const ACCOUNTS = ['account-1', 'account-2', 'account-3'];

export const tollgateAccounts: Strategy = {
  name: 'tollgate-3-accounts',
  description: `@tollgate/rotation: rotate(pool) over ${ACCOUNTS.length} accounts, each with the quota, default options`,
  quotas: ACCOUNTS.length,
  endpoint: { accounts: ACCOUNTS.map((id) => ({ id, keys: [`sk-${id}`] })) },
  async run(context) {
    const limiters: Limiter[] = [];
    const pool = accountPool({
      provider: 'dashscope',
      clock: context.clock,
      accounts: ACCOUNTS.map((id) => ({
        id,
        apiKey: `sk-${id}`,
        quotas: {
          // a factory only for the margin: the pool's store and key, as its own limiters have
          [context.model]: ({ store, key }) => {
            const limiter = defaultLimiter(context, { store, key });
            limiters.push(limiter);
            return limiter;
          },
        },
      })),
    });
    const client = withTollgate(plainClient(context), {
      limiter: pool.limiterFor,
      layers: [rotate(pool)],
      retry: { provider: 'dashscope', clock: context.clock },
    });
    const outcome = await sendAll(context, client);
    for (const limiter of limiters) limiter.close();
    return outcome;
  },
};

export const backoff: Strategy = {
  name: 'backoff',
  description: `exponential backoff with full jitter, ${ATTEMPTS} attempts, ${WORKERS} workers`,
  async run(context) {
    const client = plainClient(context);
    const random = seededRandom(1);
    return pool(context.items, WORKERS, (item) =>
      withBackoff(context, random, () => client.chat.completions.create(request(context, item))),
    );
  },
};

export const fixedInterval: Strategy = {
  name: 'fixed-interval',
  description: 'a queue sending one request every 60/RPM s, with the same backoff',
  async run(context) {
    const client = plainClient(context);
    const random = seededRandom(2);
    const spacingMs = 60_000 / context.quota.rpm;
    const calls: Array<Promise<boolean>> = [];
    for (const item of context.items) {
      calls.push(
        withBackoff(context, random, () => client.chat.completions.create(request(context, item))),
      );
      await sleep(context.clock, spacingMs);
    }
    const completed = (await Promise.all(calls)).filter(Boolean).length;
    return { completed, lost: context.items.length - completed };
  },
};

export const bottleneck: Strategy = {
  name: 'bottleneck',
  description: 'bottleneck: reservoir of RPM per minute, minTime 1/RPS, the same backoff',
  async run(context) {
    const client = plainClient(context);
    const random = seededRandom(3);
    // Bottleneck keeps real time; scale its intervals to the endpoint's clock.
    const scale = 1 / context.timeScale;
    const limiter = new Bottleneck({
      reservoir: context.quota.rpm,
      reservoirRefreshAmount: context.quota.rpm,
      reservoirRefreshInterval: 60_000 * scale,
      minTime: (1000 / context.quota.rps) * scale,
    });
    const results = await Promise.all(
      context.items.map((item) =>
        withBackoff(context, random, () =>
          limiter.schedule(() => client.chat.completions.create(request(context, item))),
        ),
      ),
    );
    await limiter.stop({ dropWaitingJobs: true });
    const completed = results.filter(Boolean).length;
    return { completed, lost: context.items.length - completed };
  },
};

export const sdkRetries: Strategy = {
  name: 'openai-sdk',
  description: `the openai SDK's own retries (maxRetries 2, its default), ${WORKERS} workers`,
  async run(context) {
    const client = plainClient(context, 2);
    return pool(context.items, WORKERS, async (item) => {
      try {
        await client.chat.completions.create(request(context, item));
        return true;
      } catch {
        return false;
      }
    });
  },
};

/**
 * Three models of the simulator, each with the preset's quota: "3 × one quota" is then well
 * defined (a chain of unequal quotas, qwen3-max → qwen-plus → qwen-turbo, has no single quota to
 * multiply). The first is the preset's model.
 */
const MODELS = ['qwen3-max', 'qwen3-max-b', 'qwen3-max-c'];

export const tollgateModels: Strategy = {
  name: 'tollgate-3-models',
  description: `@tollgate/fallback: fallback(chain) down ${MODELS.length} models, each with the quota, default options`,
  quotas: MODELS.length,
  endpoint: {
    models: Object.fromEntries(
      MODELS.map((model) => [model, presets.qwen3Max.models!['qwen3-max']!]),
    ),
  },
  async run(context) {
    // limiters of our own only for the margin; the chain's default wait budget (1 s)
    const limiters = MODELS.map((model) => defaultLimiter(context, { key: `fallback:${model}` }));
    const chain = modelChain({
      provider: 'dashscope',
      clock: context.clock,
      models: MODELS.map((model, i) => ({ model, limiter: limiters[i]! })),
    });
    const client = withTollgate(plainClient(context), {
      limiter: chain.limiterFor,
      layers: [fallback(chain)],
      retry: { provider: 'dashscope', clock: context.clock },
    });
    const outcome = await sendAll(context, client);
    for (const limiter of limiters) limiter.close();
    return outcome;
  },
};
