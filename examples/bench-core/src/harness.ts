import type { Contender, Instance } from './contenders.js';

export type Mode =
  | { readonly kind: 'sequential' }
  | { readonly kind: 'concurrent'; readonly chains: number };

export interface RunSettings {
  /** Ops per contender before measuring (capped by `warmupMs`). */
  readonly warmupOps: number;
  readonly warmupMs: number;
  readonly rounds: number;
  /** Length of one contender's turn in a round. */
  readonly roundMs: number;
}

interface Result {
  readonly contender: Contender;
  /** ops per wall-clock second (performance.now()) of each round, in round order. */
  readonly wall: number[];
  /** ops per second of this process's CPU time (user + system) of each round. */
  readonly cpu: number[];
  ops: number;
  refused: number;
  delayed: number;
  /** Ops between two clock reads in the measured turns. */
  checkEvery: number;
}

export interface Summary {
  readonly name: string;
  /** Wall-clock ops/s over the rounds: the figures of the table and of the JSON line. */
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** Median over rounds of this contender's ops/s divided by the baseline's in the same round. */
  readonly pairedRatio: number;
  /** Median ops per CPU-second: what is left when a neighbour steals the core. */
  readonly cpuMedian: number;
  readonly ops: number;
  readonly refused: number;
  readonly delayed: number;
}

const gc = (): void => globalThis.gc?.();

/** How often a loop reads the clock: about every half millisecond of its own ops, at most every 64. */
const CHECK_INTERVAL_MS = 0.5;
const MAX_CHECK_EVERY = 64;

function runFor(
  instance: Instance,
  mode: Mode,
  deadline: number,
  maxOps: number,
  checkEvery: number,
): Promise<number> {
  return mode.kind === 'sequential'
    ? instance.sequential(deadline, maxOps, checkEvery)
    : instance.concurrent(mode.chains, deadline, maxOps, checkEvery);
}

interface Turn {
  readonly wall: number;
  readonly cpu: number;
  readonly ops: number;
  readonly refused: number;
  readonly delayed: number;
}

/** One timed turn of one contender on a fresh instance, after a full GC. */
async function turn(
  contender: Contender,
  mode: Mode,
  durationMs: number,
  maxOps: number,
  checkEvery: number,
): Promise<Turn> {
  const instance = contender.create();
  gc();
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const ops = await runFor(instance, mode, start + durationMs, maxOps, checkEvery);
  const elapsedMs = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const { refused, delayed } = instance;
  await instance.close();
  return {
    wall: (ops * 1000) / elapsedMs,
    cpu: cpuMs > 0 ? (ops * 1000) / cpuMs : Number.NaN,
    ops,
    refused,
    delayed,
  };
}

/**
 * Warms every contender up, then runs `rounds` rounds; in each, every contender gets one
 * timed turn on a fresh instance. The order rotates from round to round, so slow drift of
 * a shared machine (and any "first after GC" effect) falls on all of them alike.
 */
export async function measure(
  list: ReadonlyArray<Contender>,
  mode: Mode,
  settings: RunSettings,
  baseline: string,
  onRound?: (round: number) => void,
): Promise<Summary[]> {
  const results: Result[] = list.map((contender) => ({
    contender,
    wall: [],
    cpu: [],
    ops: 0,
    refused: 0,
    delayed: 0,
    checkEvery: 1,
  }));
  const chains = mode.kind === 'sequential' ? 1 : mode.chains;
  for (const result of results) {
    // Warm-up reads the clock every op (Bottleneck manages a few hundred ops/s) and sizes
    // the check interval of the measured turns from the rate it saw.
    const warm = await turn(result.contender, mode, settings.warmupMs, settings.warmupOps, 1);
    result.refused += warm.refused;
    result.delayed += warm.delayed;
    const perChainPerMs = warm.wall / chains / 1000;
    result.checkEvery = Math.max(
      1,
      Math.min(MAX_CHECK_EVERY, Math.floor(perChainPerMs * CHECK_INTERVAL_MS)),
    );
  }
  for (let round = 0; round < settings.rounds; round++) {
    for (let i = 0; i < results.length; i++) {
      const result = results[(round + i) % results.length]!;
      const sample = await turn(
        result.contender,
        mode,
        settings.roundMs,
        Number.POSITIVE_INFINITY,
        result.checkEvery,
      );
      result.wall.push(sample.wall);
      result.cpu.push(sample.cpu);
      result.ops += sample.ops;
      result.refused += sample.refused;
      result.delayed += sample.delayed;
    }
    onRound?.(round);
  }
  const base = results.find((result) => result.contender.name === baseline);
  return results.map((result) => ({
    name: result.contender.name,
    median: median(result.wall),
    min: Math.min(...result.wall),
    max: Math.max(...result.wall),
    pairedRatio:
      base === undefined
        ? Number.NaN
        : median(result.wall.map((value, r) => value / base.wall[r]!)),
    cpuMedian: median(result.cpu),
    ops: result.ops,
    refused: result.refused,
    delayed: result.delayed,
  }));
}

export function median(values: ReadonlyArray<number>): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function formatRatio(ratio: number): string {
  return `${ratio >= 0.01 || ratio === 0 ? ratio.toFixed(3) : ratio.toPrecision(2)}x`;
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/**
 * A plain-text table: name, wall-clock ops/s (median, min, max), median relative to
 * `baseline`, then cross-checks (paired ratio, CPU-time rate) and the refusal counters.
 */
export function formatTable(title: string, rows: ReadonlyArray<Summary>, baseline: string): string {
  const base = rows.find((row) => row.name === baseline)?.median ?? Number.NaN;
  const header = [
    'contender',
    'ops/s median',
    'min',
    'max',
    `vs ${baseline}`,
    'paired',
    'ops/cpu-s',
    'ops',
    'refused',
    'delayed',
  ];
  const body = rows.map((row) => [
    row.name,
    integer.format(row.median),
    integer.format(row.min),
    integer.format(row.max),
    formatRatio(row.median / base),
    formatRatio(row.pairedRatio),
    integer.format(row.cpuMedian),
    integer.format(row.ops),
    String(row.refused),
    String(row.delayed),
  ]);
  const widths = header.map((cell, c) =>
    Math.max(cell.length, ...body.map((line) => line[c]!.length)),
  );
  const render = (cells: ReadonlyArray<string>) =>
    cells
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ');
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [title, render(header), rule, ...body.map(render)].join('\n');
}
