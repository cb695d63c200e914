import type { TestProject } from 'vitest/node';
import {
  freePort,
  hasRedisBinaries,
  makeTempDir,
  type RedisCluster,
  type RedisServer,
  removeDir,
  startRedisCluster,
  startRedisServer,
} from './redis-servers.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The standalone server's URL (`REDIS_URL`, or one started here); null when there is none. */
    redisUrl: string | null;
    /** Ports of the 3-node cluster started here; null when the binaries are missing. */
    redisClusterPorts: number[] | null;
    /** Whether tests may start servers of their own (the fault test does). */
    redisBinaries: boolean;
  }
}

let dir: string | undefined;
let server: RedisServer | undefined;
let cluster: RedisCluster | undefined;

/**
 * Starts one standalone Redis and a 3-node cluster on free ports for the whole run, or uses
 * `REDIS_URL` for the standalone tests (point it at a disposable server: the tests write keys
 * under `tg-test:`, all expiring, and run `SCRIPT FLUSH`). Without either, the Redis tests
 * skip — loudly, and never on CI (`CI` set), where a missing server fails the run instead.
 */
export async function setup(project: TestProject): Promise<void> {
  const binaries = hasRedisBinaries();
  const envUrl = process.env.REDIS_URL;
  const url = envUrl === undefined || envUrl === '' ? undefined : envUrl;
  if (!binaries) {
    const message =
      url === undefined
        ? 'no redis-server on PATH and no REDIS_URL'
        : `no redis-server on PATH: standalone tests use REDIS_URL=${url}; cluster and fault tests are skipped`;
    if (process.env.CI && url === undefined) {
      throw new Error(`@tollgate/redis tests need Redis on CI: ${message}`);
    }
    console.warn(
      `\n⚠️  @tollgate/redis: ${message}${url === undefined ? ' — SKIPPING the Redis tests' : ''}\n`,
    );
  }
  project.provide('redisBinaries', binaries);
  project.provide('redisClusterPorts', null);
  project.provide('redisUrl', url ?? null);
  if (!binaries) return;

  dir = await makeTempDir();
  try {
    if (url === undefined) {
      server = await startRedisServer(await freePort(), dir);
      project.provide('redisUrl', `redis://127.0.0.1:${server.port}`);
    }
    cluster = await startRedisCluster(dir);
    project.provide('redisClusterPorts', [...cluster.ports]);
  } catch (error) {
    await teardown();
    throw error;
  }
}

export async function teardown(): Promise<void> {
  await Promise.all([server?.stop(), cluster?.stop()]);
  server = undefined;
  cluster = undefined;
  if (dir !== undefined) await removeDir(dir);
  dir = undefined;
}
