import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { presets, type Simulator, startSimulator } from '@tollgate/simulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisUrl, uniquePrefix } from './helpers.js';

/**
 * Several Node processes — child processes, not promises in one — share qwen3-max's quota
 * (600 RPM, 1,000,000 TPM, 10 RPS, 16,667 TPS) through one Redis, against
 * `@tollgate/simulator`, which referees: no 429, no window ever above its limit.
 *
 * The batch: 120 long-context requests (~450,000 tokens booked: ~30 s of the per-second token
 * window), split over 3 workers. Time runs x5 on the simulator, so the test takes ~9 s.
 *
 * Clocks: every worker decides on the simulator's clock, rebuilt with `simulatorClock` from
 * its `timeScale` and `anchor`, and gives that clock to its `RedisStore` as well as its
 * `Limiter`: the Redis server's `TIME` runs at real speed, the simulator's windows do not.
 * The margin covers what separates an admission from its arrival at the simulator — the reply
 * from Redis, the HTTP request, the simulator's event loop: a few real ms, and up to ~25 under
 * load on a 2-core machine shared by five processes — with 50 real ms, in simulated ms.
 *
 * The workers run the BUILT packages (plain `.mjs`, no TypeScript loader: see the fixture), so
 * this test needs `pnpm build` first, as CI does.
 */

const WORKERS = 3;
const TOTAL = 120;
const TIME_SCALE = 5;
const MARGIN_MS = 50 * TIME_SCALE;
const QUOTA = { rpm: 600, tpm: 1_000_000, rps: 10, tps: 16_667 };

const workerFile = fileURLToPath(new URL('./fixtures/multi-process-worker.mjs', import.meta.url));
const builds = ['core', 'redis', 'openai', 'retry'].map((name) =>
  fileURLToPath(new URL(`../../${name}/dist/index.js`, import.meta.url)),
);

interface Done {
  type: 'done';
  index: number;
  completed: number;
  lost: number;
  errors: string[];
}

type WorkerMessage = { type: 'ready' } | Done | { type: 'error'; error: string };

describe.skipIf(redisUrl === null)(`${WORKERS} processes sharing one quota through Redis`, () => {
  let simulator: Simulator;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    const missing = builds.filter((file) => !existsSync(file));
    if (missing.length > 0) {
      throw new Error(
        `the worker processes run the built packages; run \`pnpm build\` first (missing ${missing.join(', ')})`,
      );
    }
    simulator = await startSimulator({ ...presets.qwen3Max, timeScale: TIME_SCALE });
  });

  afterAll(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill();
    }
    await simulator?.close();
  });

  it('completes every request with no 429 and no window of the simulator above its limit', async () => {
    const common = {
      workers: WORKERS,
      total: TOTAL,
      redisUrl,
      prefix: uniquePrefix(),
      key: 'dashscope:demo:qwen3-max',
      quota: QUOTA,
      marginMs: MARGIN_MS,
      baseURL: simulator.url,
      apiKey: simulator.apiKey,
      clock: { timeScale: simulator.clock.timeScale, anchor: simulator.clock.anchor },
    };

    const workers = Array.from({ length: WORKERS }, (_, index) =>
      startWorker({ ...common, index }, children),
    );
    for (const worker of workers) worker.done.catch(() => {}); // awaited below

    await Promise.all(workers.map((worker) => worker.ready));
    const warmUps = simulator.stats().totals.admitted;
    // two simulated seconds: the warm-ups (late by design) leave the per-second windows
    await new Promise((resolve) => setTimeout(resolve, 2000 / TIME_SCALE));
    for (const child of children) child.send({ type: 'go' });
    const reports = await Promise.all(workers.map((worker) => worker.done));

    const completed = reports.reduce((sum, report) => sum + report.completed, 0);
    const lost = reports.reduce((sum, report) => sum + report.lost, 0);
    expect(
      reports.flatMap((report) => report.errors),
      'requests lost',
    ).toEqual([]);
    expect({ completed, lost }).toEqual({ completed: TOTAL, lost: 0 });

    const stats = simulator.stats();
    expect(warmUps).toBe(WORKERS);
    expect(stats.totals.admitted).toBe(TOTAL + WORKERS);
    expect(stats.rejected429ByReason).toEqual({
      'request-rate': 0,
      burst: 0,
      'token-rate': 0,
      'quota-exhausted': 0,
    });
    expect(stats.rejected429).toBe(0);
    const windows = stats.windows.filter((window) => window.model === 'qwen3-max');
    expect(windows.length).toBeGreaterThanOrEqual(4);
    for (const window of windows) {
      expect(window.maxUsed, `${window.window} window`).toBeLessThanOrEqual(window.limit);
    }
    // Not vacuous: together the processes kept the window this batch is bound by (tokens per
    // second) nearly full — had each believed it owned the quota, they would have tripled it.
    const tps = windows.find((window) => window.unit === 'tokens' && window.windowMs === 1000);
    expect(tps?.maxUsed).toBeGreaterThan(0.8 * (tps?.limit ?? 0));
  }, 90_000);
});

/**
 * Forks one worker. `ready` resolves once it has warmed up and queued its share, `done` with its
 * report; both reject if it fails or exits first (with its stderr).
 */
function startWorker(
  config: Record<string, unknown>,
  children: ChildProcess[],
): { ready: Promise<void>; done: Promise<Done> } {
  const child = fork(workerFile, [JSON.stringify(config)], {
    execArgv: [],
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
  });
  const ready = deferred<void>();
  const done = deferred<Done>();
  const fail = (why: string) => {
    const error = new Error(`worker ${config.index} ${why}${stderr === '' ? '' : `\n${stderr}`}`);
    ready.reject(error);
    done.reject(error);
  };
  ready.promise.catch(() => {}); // a failure is reported through `done` too
  child.on('message', (message: WorkerMessage) => {
    if (message.type === 'ready') ready.resolve();
    else if (message.type === 'done') done.resolve(message);
    else fail(`failed:\n${message.error}`);
  });
  child.on('error', (error) => fail(`could not run: ${error.message}`));
  // 'close' comes after the last message: after 'done' this changes nothing
  child.on('close', (code, signal) => fail(`exited early (${signal ?? code})`));
  return { ready: ready.promise, done: done.promise };
}

/** `Promise.withResolvers`, which Node 20 lacks. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}
