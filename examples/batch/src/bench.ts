/**
 * The quota benchmark: the same deterministic long-context batch, against fresh simulators of
 * qwen3-max's quota (per-second windows, burst guard, reserved accounting, rejected requests
 * counted), drained by Tollgate and by what people write today. Each simulator runs on its own
 * thread, as a remote provider would: it does not wait for the client's event loop.
 *
 *   pnpm bench:quota                       1,000 requests, simulated time x2
 *   BENCH_SIZE=300 TIME_SCALE=10 pnpm bench:quota
 *   BENCH_STRATEGIES=tollgate,tollgate-actual pnpm bench:quota
 *   BENCH_STRATEGIES=tollgate-3-accounts,tollgate-3-models pnpm bench:quota   3 quotas each
 *   HANDSHAKE_DELAY_MS=150 pnpm bench:quota  each new connection waits 150 simulated ms (HTTPS)
 *
 * stdout: a table, then one JSON line per strategy.
 */
import { presets } from '@tollgate/simulator';
import { Agent } from 'undici';
import { multipliedBoundSeconds, QWEN3_MAX } from './bound.js';
import { envNumber } from './env.js';
import { formatReasons } from './report.js';
import { startSimulatorThread } from './simulator-thread.js';
import {
  backoff,
  bottleneck,
  fixedInterval,
  type Strategy,
  sdkRetries,
  tollgate,
  tollgateAccounts,
  tollgateModels,
  warmUp,
} from './strategies.js';
import { syntheticBatch } from './workload.js';

const MODEL = 'qwen3-max';

interface Row {
  readonly strategy: string;
  readonly accounting: 'reserved' | 'actual';
  /** Copies of the quota the row drains (accounts or models); its bound is this × one quota's. */
  readonly quotas: number;
  readonly completed: number;
  readonly lost: number;
  readonly r429: number;
  readonly r429ByReason: Readonly<Record<string, number>>;
  readonly makespanS: number;
  readonly lowerBoundS: number;
  readonly ratio: number;
}

/** How a strategy is named in BENCH_STRATEGIES and in the JSON lines. */
const labelOf = (name: string, accounting: 'reserved' | 'actual') =>
  accounting === 'actual' ? `${name}-actual` : name;

async function measure(
  strategy: Strategy,
  accounting: 'reserved' | 'actual',
  timeScale: number,
  count: number,
  handshakeDelayMs: number,
): Promise<Row> {
  const items = syntheticBatch({ count });
  const quotas = strategy.quotas ?? 1;
  const simulator = await startSimulatorThread({
    ...presets.qwen3Max,
    ...strategy.endpoint,
    timeScale,
    accounting,
    countRejected: true,
    handshakeDelayMs,
  });
  const agent =
    simulator.ca === undefined ? undefined : new Agent({ connect: { ca: simulator.ca } });
  // npm undici's Agent, typed apart from the undici that Node's own fetch types describe
  const dispatcher = agent as NonNullable<RequestInit['dispatcher']> | undefined;
  try {
    const context = {
      baseURL: simulator.url,
      apiKey: simulator.apiKey,
      model: MODEL,
      items,
      quota: QWEN3_MAX,
      clock: simulator.clock,
      timeScale,
      accounting,
      ...(dispatcher === undefined ? {} : { dispatcher }),
    };
    await warmUp(context);
    await simulator.reset();
    const started = simulator.clock.now();
    const outcome = await strategy.run(context);
    const makespanS = (simulator.clock.now() - started) / 1000;
    const stats = await simulator.stats();
    const costs = await simulator.costs(items, accounting);
    const lowerBoundS = multipliedBoundSeconds(costs, QWEN3_MAX, quotas);
    const r429ByReason = stats.rejected429ByReason;
    return {
      strategy: strategy.name,
      accounting,
      quotas,
      completed: outcome.completed,
      lost: outcome.lost,
      r429: Object.values(r429ByReason).reduce((sum, n) => sum + n, 0),
      r429ByReason,
      makespanS,
      lowerBoundS,
      ratio: makespanS / lowerBoundS,
    };
  } finally {
    await agent?.close();
    await simulator.close();
  }
}

function formatTable(rows: ReadonlyArray<Row>): string {
  const header = [
    'strategy',
    'accounting',
    'quotas',
    'completed',
    'lost',
    '429s',
    'by reason',
    'makespan s',
    'bound s',
    'ratio',
  ];
  const body = rows.map((row) => [
    row.strategy,
    row.accounting,
    String(row.quotas),
    String(row.completed),
    String(row.lost),
    String(row.r429),
    formatReasons(row.r429ByReason),
    row.makespanS.toFixed(1),
    row.lowerBoundS.toFixed(1),
    row.ratio.toFixed(3),
  ]);
  const widths = header.map((title, i) =>
    Math.max(title.length, ...body.map((cells) => cells[i]!.length)),
  );
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const timeScale = envNumber('TIME_SCALE', 2);
  const count = envNumber('BENCH_SIZE', 1000);
  const handshakeDelayMs = process.env.HANDSHAKE_DELAY_MS ? envNumber('HANDSHAKE_DELAY_MS', 1) : 0;
  console.log(
    `${count} requests (prompts of 500–3,000 tokens, max_tokens 2,000) against qwen3-max's quota ` +
      `(${QWEN3_MAX.rpm} RPM, ${QWEN3_MAX.tpm.toLocaleString('en')} TPM, ${QWEN3_MAX.rps} RPS, ${QWEN3_MAX.tps.toLocaleString('en')} TPS, burst guard), ` +
      `simulated time x${timeScale}` +
      (handshakeDelayMs > 0 ? `, ${handshakeDelayMs} ms per new connection (HTTPS)` : '') +
      '; makespans in simulated seconds; a row of N quotas is bounded by N × one quota',
  );
  const plan: Array<[Strategy, 'reserved' | 'actual']> = [
    [tollgate, 'reserved'],
    [tollgate, 'actual'],
    [backoff, 'reserved'],
    [fixedInterval, 'reserved'],
    [bottleneck, 'reserved'],
    [sdkRetries, 'reserved'],
    [tollgateAccounts, 'reserved'],
    [tollgateModels, 'reserved'],
  ];
  const only = process.env.BENCH_STRATEGIES?.split(',').map((name) => name.trim());
  const label = ([strategy, accounting]: (typeof plan)[number]) =>
    labelOf(strategy.name, accounting);
  const unknown = only?.filter((name) => !plan.some((entry) => label(entry) === name));
  if (unknown !== undefined && unknown.length > 0) {
    throw new Error(
      `BENCH_STRATEGIES: unknown ${unknown.join(', ')}; known: ${plan.map(label).join(', ')}`,
    );
  }
  const rows: Row[] = [];
  for (const [strategy, accounting] of plan.filter(
    (entry) => only?.includes(label(entry)) ?? true,
  )) {
    process.stderr.write(`running ${strategy.name} (${accounting}): ${strategy.description}\n`);
    rows.push(await measure(strategy, accounting, timeScale, count, handshakeDelayMs));
  }
  console.log('');
  console.log(formatTable(rows));
  console.log('');
  for (const row of rows) {
    console.log(
      JSON.stringify({
        strategy: labelOf(row.strategy, row.accounting),
        quotas: row.quotas,
        completed: row.completed,
        lost: row.lost,
        r429: row.r429,
        ratio: Math.round(row.ratio * 1000) / 1000,
        makespanS: Math.round(row.makespanS * 10) / 10,
        lowerBoundS: Math.round(row.lowerBoundS * 10) / 10,
      }),
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
