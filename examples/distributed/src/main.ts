/**
 * N worker processes drain one batch of long-context prompts through ONE quota held in Redis,
 * against an embedded simulator of qwen3-max's quota, which counts every 429 and the most each
 * window ever held.
 *
 *   pnpm start                          4 workers, 400 prompts, time x4
 *   WORKERS=8 BATCH_SIZE=800 pnpm start
 *   REDIS_URL=redis://… pnpm start      your Redis (else a throwaway redis-server is started)
 *   CONCURRENCY=16                      requests each worker keeps going at once
 *   REDIS_OUTAGE_MS=4000                Redis stopped for 4 real s mid-run, then started again
 */
import { type ChildProcess, fork } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { presets, startSimulator } from '@tollgate/simulator';
import { envNumber } from '../../batch/src/env.js';
import { redisTarget } from './redis.js';
import { formatReasons, lowerBoundSeconds, percentile, table } from './report.js';
import { QWEN3_MAX, type WorkerConfig, type WorkerMessage } from './shared.js';

type Done = Extract<WorkerMessage, { type: 'done' }>;

/** How much lower than the coordinator's (the simulator's) the workers' CPU priority is. */
const WORKER_NICENESS = 10;

const workers = envNumber('WORKERS', 4, true);
const batchSize = envNumber('BATCH_SIZE', 400, true);
const timeScale = envNumber('TIME_SCALE', 4, true);
const concurrency = envNumber('CONCURRENCY', 16, true);
const outageMs = process.env.REDIS_OUTAGE_MS ? envNumber('REDIS_OUTAGE_MS', 1) : 0;
const outageAtMs = envNumber('REDIS_OUTAGE_AT_MS', 3000);

const redis = await redisTarget();
const simulator = await startSimulator({ ...presets.qwen3Max, timeScale });
const sleepSimulated = (ms: number) =>
  new Promise((resolve) => setTimeout(resolve, ms / timeScale));
const processes: ChildProcess[] = [];
try {
  console.log(
    `${workers} worker processes, ${batchSize} requests to qwen3-max at the simulator (time x${timeScale}); ` +
      `one quota in Redis at ${redis.url}${redis.started ? ' (started for this run)' : ''}: ` +
      `${QWEN3_MAX.rpm} RPM, ${QWEN3_MAX.tpm.toLocaleString('en')} TPM, ${QWEN3_MAX.rps} RPS, ` +
      `${QWEN3_MAX.tps.toLocaleString('en')} TPS`,
  );
  const common: Omit<WorkerConfig, 'index'> = {
    workers,
    batchSize,
    concurrency,
    redisUrl: redis.url,
    prefix: `tollgate-example:${Date.now().toString(36)}`,
    key: 'dashscope:demo:qwen3-max',
    baseURL: simulator.url,
    apiKey: simulator.apiKey,
    // Every worker runs on the simulator's clock, rebuilt with simulatorClock from these.
    clock: { timeScale: simulator.clock.timeScale, anchor: simulator.clock.anchor },
  };
  const children = Array.from({ length: workers }, (_, index) => {
    // fork() passes this process's `--import tsx` on to the worker
    const child = fork(fileURLToPath(new URL('./worker.ts', import.meta.url)), [
      JSON.stringify({ ...common, index }),
    ]);
    processes.push(child);
    // The simulator stands in for a provider on machines of its own. Sharing a small machine's
    // cores with the workers, it would book a request only when the workers let it run — up to
    // 12 real ms after the request reached it, beyond the default margin at x4 — so the
    // workers yield to it (and to Redis).
    if (child.pid !== undefined) setPriority(child.pid, WORKER_NICENESS);
    const ready = new Promise<void>((resolve, reject) => {
      child.on('message', (message: WorkerMessage) => {
        if (message.type === 'ready') resolve();
      });
      child.once('close', (code) => reject(new Error(`worker ${index} exited (${code})`)));
    });
    const done = new Promise<Done>((resolve, reject) => {
      child.on('message', (message: WorkerMessage) => {
        if (message.type === 'done') resolve(message);
      });
      child.once('close', (code) => reject(new Error(`worker ${index} exited (${code})`)));
    });
    ready.catch(() => {});
    return { child, ready, done };
  });

  // Every worker warmed up; the warm-ups leave the per-second windows; then all start at once.
  await Promise.all(children.map((c) => c.ready));
  await sleepSimulated(2000);
  const started = simulator.clock.now();
  for (const { child } of children) child.send('go');
  // Redis stopped mid-run and started again, empty: the waiters wait, nothing is lost
  const outage =
    outageMs > 0
      ? new Promise((resolve) => setTimeout(resolve, outageAtMs)).then(() => redis.outage(outageMs))
      : Promise.resolve();
  const reports = await Promise.all(children.map((c) => c.done));
  await outage;
  const makespanS = (simulator.clock.now() - started) / 1000;

  const stats = simulator.stats();
  const costs = reports.flatMap((report) => report.costs);
  const lost = reports.reduce((sum, report) => sum + report.lost, 0);
  const lags = reports.flatMap((report) => report.departureLags).sort((a, b) => a - b);
  const bound = lowerBoundSeconds(costs, QWEN3_MAX);
  const windows = stats.windows.filter((window) => window.model === 'qwen3-max');
  console.log(
    table([
      [
        'workers',
        `${workers} (succeeded ${reports.map((report) => report.succeeded).join(' / ')})`,
      ],
      ['requests', String(batchSize)],
      ['succeeded', String(costs.length)],
      ['lost', String(lost)],
      // every 429 the simulator sent, warm-ups included: no one else talks to it
      [
        '429 responses',
        `${stats.rejected429} (simulator: ${formatReasons(stats.rejected429ByReason)})`,
      ],
      ...(outageMs > 0
        ? [
            [
              'Redis outage',
              `${outageMs} real ms, from ${outageAtMs} real ms after the start`,
            ] as const,
          ]
        : []),
      [
        'departure lag',
        `${percentile(lags, 0.5).toFixed(0)} / ${percentile(lags, 0.99).toFixed(0)} / ` +
          `${percentile(lags, 1).toFixed(0)} ms (median / p99 / max)`,
      ],
      ['makespan', `${makespanS.toFixed(1)} s`],
      ['quota lower bound', `${bound.toFixed(1)} s`],
      ['makespan / bound', (makespanS / bound).toFixed(3)],
      [
        'windows, most used',
        windows
          .map(
            (w) =>
              `${w.window} ${Math.round(w.maxUsed).toLocaleString('en')}/${w.limit.toLocaleString('en')}`,
          )
          .join(', '),
      ],
    ]),
  );
  for (const error of reports.flatMap((report) => report.errors).slice(0, 3))
    console.error('lost:', error);
  if (lost > 0 || windows.some((window) => window.maxUsed > window.limit)) process.exitCode = 1;
} finally {
  for (const child of processes) if (child.exitCode === null) child.kill();
  await simulator.close();
  await redis.stop();
}
