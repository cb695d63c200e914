import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Whether `redis-server` and `redis-cli` can be started from PATH. */
export function hasRedisBinaries(): boolean {
  for (const binary of ['redis-server', 'redis-cli']) {
    const probe = spawnSync(binary, ['--version'], { stdio: 'ignore' });
    if (probe.error !== undefined || probe.status !== 0) return false;
  }
  return true;
}

/** A port nobody listens on now (the OS picks it for a listener on port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** Sends one inline command; resolves with the reply once `complete`, or undefined on failure. */
function ask(
  port: number,
  command: string,
  complete: (data: string) => boolean = (data) => data.includes('\r\n'),
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let data = '';
    const done = (value: string | undefined) => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(1000, () => done(undefined));
    socket.on('error', () => done(undefined));
    socket.on('data', (chunk) => {
      data += chunk.toString();
      if (complete(data)) done(data);
    });
    socket.connect(port, '127.0.0.1', () => socket.write(`${command}\r\n`));
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export interface RedisServer {
  readonly port: number;
  readonly process: ChildProcess;
  /** SIGTERM, then waits for the process to exit. */
  stop(): Promise<void>;
}

/** Starts `redis-server` on `port` without persistence and waits until it answers PING. */
export async function startRedisServer(
  port: number,
  dir: string,
  extraArgs: ReadonlyArray<string> = [],
): Promise<RedisServer> {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      ...extraArgs,
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let failed: Error | undefined;
  child.once('error', (error) => {
    failed = error;
  });
  await waitFor(`redis-server on port ${port}`, async () => {
    if (failed !== undefined) throw failed;
    if (child.exitCode !== null) throw new Error(`redis-server on ${port} exited`);
    return (await ask(port, 'PING'))?.startsWith('+PONG') === true;
  });
  return {
    port,
    process: child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface RedisCluster {
  readonly ports: ReadonlyArray<number>;
  stop(): Promise<void>;
}

/** Three masters on loopback, no replicas, every slot assigned; resolves when cluster_state is ok. */
export async function startRedisCluster(dir: string, size = 3): Promise<RedisCluster> {
  const servers: RedisServer[] = [];
  try {
    for (let i = 0; i < size; i++) {
      const port = await freePort();
      servers.push(
        await startRedisServer(port, dir, [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          '5000',
        ]),
      );
    }
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...servers.map((server) => `127.0.0.1:${server.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { timeout: 30_000 },
    );
    await waitFor(
      'cluster_state:ok',
      async () => {
        const states = await Promise.all(
          servers.map((server) =>
            ask(server.port, 'CLUSTER INFO', (data) => /cluster_state:\w+\r\n/.test(data)),
          ),
        );
        return states.every((state) => state?.includes('cluster_state:ok') === true);
      },
      30_000,
    );
  } catch (error) {
    await Promise.all(servers.map((server) => server.stop()));
    throw error;
  }
  return {
    ports: servers.map((server) => server.port),
    stop: async () => {
      await Promise.all(servers.map((server) => server.stop()));
    },
  };
}

/** A fresh temporary directory for server files. */
export function makeTempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'tollgate-redis-'));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
