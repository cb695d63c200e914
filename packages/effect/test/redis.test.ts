import { Context, Effect, Exit, Layer } from 'effect';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  hasRedisBinaries,
  makeTempDir,
  type RedisServer,
  removeDir,
  startRedisServer,
} from '../../redis/test/setup/redis-servers.js';
import { makeQuota, Quota, type QuotaService, QuotaStore, withQuota } from '../src/index.js';

/** A second quota of the program, with a tag of its own. */
class Other extends Context.Service<Other, QuotaService>()('test/Other') {}

import { redisQuotaStore } from '../src/redis.js';

const binaries = hasRedisBinaries();
if (!binaries)
  console.warn('⚠️  @tollgate/effect: no redis-server on PATH — SKIPPING the Redis tests');

describe.skipIf(!binaries)('redisQuotaStore', () => {
  let dir: string;
  let server: RedisServer;
  let url: string;
  beforeAll(async () => {
    dir = await makeTempDir();
    server = await startRedisServer(await freePort(), dir);
    url = `redis://127.0.0.1:${server.port}`;
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
    if (dir !== undefined) await removeDir(dir);
  });

  const clients = async (): Promise<number> => {
    const probe = new Redis(url);
    try {
      const list = (await probe.call('CLIENT', 'LIST')) as string;
      return list.trim().split('\n').length - 1; // less the probe itself
    } finally {
      await probe.quit();
    }
  };

  it('two layers on one Redis and key share one quota, and each quits its connection on release', async () => {
    const prefix = `tg-effect:${process.pid}:${Date.now()}`;
    const store = () => redisQuotaStore({ redis: url, prefix });
    const options = { quota: { rps: 1, tps: 1000 }, key: 'shared' } as const;
    const during = await Effect.runPromise(
      Effect.gen(function* () {
        yield* withQuota(Effect.void, { tokens: 10 });
        const other = yield* Other;
        const refused = yield* Effect.exit(
          other.withQuota(Effect.void, { tokens: 10, maxWaitMs: 0 }),
        );
        const snapshot = yield* other.snapshot;
        return {
          refused: Exit.isFailure(refused),
          requests: snapshot.windows.find((w) => w.unit === 'requests')?.used,
          open: yield* Effect.promise(clients),
        };
      }).pipe(
        Effect.provide(
          Layer.mergeAll(
            Quota.layer(options).pipe(Layer.provide(store())),
            Layer.effect(Other, makeQuota(options)).pipe(Layer.provide(store())),
          ),
        ),
      ),
    );
    expect(during).toEqual({ refused: true, requests: 1, open: 2 });
    expect(await clients()).toBe(0);
  });

  it('fails the layer with StoreUnavailable when Redis does not answer', async () => {
    const port = await freePort();
    const error = await Effect.runPromise(
      Effect.flip(
        QuotaStore.use(() => Effect.void).pipe(
          Effect.provide(redisQuotaStore({ redis: `redis://127.0.0.1:${port}` })),
        ),
      ),
    );
    expect(error._tag).toBe('StoreUnavailable');
  });
});
