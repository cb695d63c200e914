/**
 * Core benchmark: permits per second (acquire + settle) of Tollgate's memory limiter beside
 * rate-limiter-flexible (two RateLimiterMemory: rpm + tpm) and Bottleneck, in one process.
 *
 *   pnpm bench:core        (from the repository root: builds @tollgate/core, then runs this)
 *
 * stdout: the environment, a sequential table, a 64-in-flight table, and as the last line
 * `{"tollgate":N,"rlfDual":N,"bottleneck":N,"ratio":X}` (sequential medians, ops/s).
 * Progress goes to stderr. Exits 1, without the JSON line, when a contender refused or
 * delayed any op (the figures would then measure waiting, not overhead).
 *
 * Environment: BENCH_ROUNDS (default 9), BENCH_ROUND_MS (default 400).
 */
import os from 'node:os';
import { envNumber } from '../../batch/src/env.js';
import { contenders, TOKENS } from './contenders.js';
import { formatTable, measure, type RunSettings, type Summary } from './harness.js';
import { formatSchedule, scheduleQuality } from './schedule.js';

const BASELINE = 'rlfDual';
const CHAINS = 64;

const settings: RunSettings = {
  warmupOps: 20_000,
  warmupMs: 1_000,
  rounds: Math.round(envNumber('BENCH_ROUNDS', 9)),
  roundMs: envNumber('BENCH_ROUND_MS', 400),
};

function progress(label: string): (round: number) => void {
  return (round) =>
    process.stderr.write(`  ${label}: round ${round + 1}/${settings.rounds} done\n`);
}

async function main(): Promise<void> {
  if (typeof globalThis.gc !== 'function') {
    process.stderr.write('note: run with --expose-gc so rounds start after a full GC\n');
  }
  const started = performance.now();
  const cpus = os.cpus();
  console.log(
    `node ${process.version}, ${cpus.length} CPU(s) ${cpus[0]?.model.trim() ?? ''}, load ${os
      .loadavg()
      .map((load) => load.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    `${settings.rounds} rounds x ${settings.roundMs} ms per contender, round-robin (rotating order), ` +
      `fresh limiter per turn, warm-up ${settings.warmupOps} ops (<= ${settings.warmupMs} ms), ` +
      `${TOKENS} tokens per permit`,
  );
  for (const contender of contenders) console.log(`  ${contender.name}: ${contender.op}`);

  console.log('');
  console.log(formatSchedule(await scheduleQuality()));

  process.stderr.write('sequential (one permit at a time)...\n');
  const sequential = await measure(
    contenders,
    { kind: 'sequential' },
    settings,
    BASELINE,
    progress('sequential'),
  );
  process.stderr.write(`concurrent (${CHAINS} permits in flight)...\n`);
  const concurrent = await measure(
    contenders,
    { kind: 'concurrent', chains: CHAINS },
    settings,
    BASELINE,
    progress('concurrent'),
  );

  console.log('');
  console.log(
    formatTable('Sequential: one acquire + settle at a time (ops/s)', sequential, BASELINE),
  );
  console.log('');
  console.log(
    formatTable(
      `Concurrent: ${CHAINS} acquire + settle chains in flight (ops/s, not in the JSON)`,
      concurrent,
      BASELINE,
    ),
  );
  console.log('');
  console.log(
    `ops/s = wall clock (performance.now()), over ${settings.rounds} rounds; vs ${BASELINE} = ratio of medians; ` +
      'paired = median of per-round ratios; ops/cpu-s = median ops per CPU-second of this process',
  );
  console.log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const bad = [...sequential, ...concurrent].filter((row) => row.refused > 0 || row.delayed > 0);
  if (bad.length > 0) {
    for (const row of bad) {
      process.stderr.write(
        `error: ${row.name} refused ${row.refused} and delayed ${row.delayed} ops; limits too small, figures invalid\n`,
      );
    }
    process.exitCode = 1;
    return;
  }

  const medianOf = (name: string, rows: ReadonlyArray<Summary>): number =>
    Math.round(rows.find((row) => row.name === name)?.median ?? Number.NaN);
  const result = {
    tollgate: medianOf('tollgate', sequential),
    rlfDual: medianOf('rlfDual', sequential),
    bottleneck: medianOf('bottleneck', sequential),
    ratio: 0,
  };
  result.ratio = Math.round((result.tollgate / result.rlfDual) * 1000) / 1000;
  console.log(JSON.stringify(result));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
