/**
 * `@tollgate/effect/redis`: a `QuotaStore` on Redis, so every process that uses the same Redis,
 * prefix and key shares one quota. The connection is acquired in the layer's scope and quit
 * when it closes.
 */
import { RedisStore, type RedisStoreOptions } from '@tollgate/redis';
import { Effect, Layer } from 'effect';
import { Redis, type RedisOptions } from 'ioredis';
import { StoreUnavailable } from './errors.js';
import { QuotaStore } from './QuotaStore.js';

/** Options of {@link redisQuotaStore}: where Redis is, and the `RedisStore`'s own options. */
export interface RedisQuotaStoreOptions extends Omit<RedisStoreOptions, 'client'> {
  /** A `redis://` URL, or ioredis options. */
  readonly redis: string | RedisOptions;
}

const connect = (redis: string | RedisOptions): Effect.Effect<Redis, StoreUnavailable> =>
  Effect.tryPromise({
    try: async () => {
      const options: RedisOptions = { lazyConnect: true, maxRetriesPerRequest: 1 };
      const client =
        typeof redis === 'string'
          ? new Redis(redis, options)
          : new Redis({ ...options, ...redis, lazyConnect: true });
      client.on('error', () => {}); // the store reports unavailability; no unhandled 'error'
      try {
        await client.connect();
      } catch (error) {
        client.disconnect();
        throw error;
      }
      return client;
    },
    catch: (cause) => new StoreUnavailable({ retryInMs: 0, cause }),
  });

const quit = (client: Redis): Effect.Effect<void> =>
  Effect.promise(() =>
    client.quit().then(
      () => undefined,
      () => client.disconnect(),
    ),
  );

/**
 * A `QuotaStore` on Redis: connects (failing the layer with `StoreUnavailable` when Redis does
 * not answer), builds a `RedisStore` on the connection, and quits the connection when the
 * layer's scope closes. Decisions are made on the Redis server's clock; the limiter's timers
 * run on Effect's `Clock`.
 *
 * @example
 * const QuotaLive = Quota.layer({ quota: dashscope('qwen3-max'), key: 'acct-1:qwen3-max' }).pipe(
 *   Layer.provide(redisQuotaStore({ redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' })),
 * );
 */
export const redisQuotaStore = (
  options: RedisQuotaStoreOptions,
): Layer.Layer<QuotaStore, StoreUnavailable> => {
  const { redis, ...storeOptions } = options;
  return Layer.effect(
    QuotaStore,
    Effect.flatMap(Effect.acquireRelease(connect(redis), quit), (client) =>
      Effect.sync(() => new RedisStore({ ...storeOptions, client })),
    ),
  );
};
