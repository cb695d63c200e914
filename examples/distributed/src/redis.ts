import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

export interface RedisTarget {
  readonly url: string;
  /** Whether this run started it (a throwaway `redis-server`). */
  readonly started: boolean;
  stop(): Promise<void>;
  /** Stops the throwaway server for `ms` and starts it again, empty, on the same port. */
  outage(ms: number): Promise<void>;
}

/** `REDIS_URL`, or a throwaway `redis-server` (no persistence) on a free port. */
export async function redisTarget(): Promise<RedisTarget> {
  const url = process.env.REDIS_URL;
  if (url !== undefined && url !== '') {
    const outage = async () => {
      throw new Error('REDIS_OUTAGE_MS needs the throwaway redis-server: unset REDIS_URL');
    };
    return { url, started: false, stop: async () => {}, outage };
  }
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error('set REDIS_URL, or install redis-server so the example can start one');
  }
  const port = await freePort();
  let stop = await launch(port);
  return {
    url: `redis://127.0.0.1:${port}`,
    started: true,
    stop: () => stop(),
    async outage(ms) {
      await stop();
      await new Promise((resolve) => setTimeout(resolve, ms));
      stop = await launch(port);
    },
  };
}

/** A `redis-server` without persistence on `port`, once it answers; resolves to its stop. */
async function launch(port: number): Promise<() => Promise<void>> {
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const stop = async () => {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGTERM');
    await exited;
  };
  try {
    await untilAnswers(port);
  } catch (error) {
    await stop();
    throw error;
  }
  return stop;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

async function untilAnswers(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const probe = new Redis({ port, lazyConnect: true, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.ping();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      probe.disconnect();
    }
  }
}
