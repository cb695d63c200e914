/**
 * Schedule quality, on a fake clock: how close the limiter's admissions come to the quota's
 * lower bound for a long-context batch, and how bursty they are. Deterministic: the same
 * figures on every machine.
 *
 * Workload: N requests queued at once, each a prompt of 500–3,000 tokens plus max_tokens
 * 2,000 (a seeded generator), against qwen3-max's quota (600 RPM, 1,000,000 TPM, 10 RPS,
 * 16,667 TPS), margin 0, every permit settled at once under `reserved` accounting.
 */
import { Limiter, type LimiterOptions } from '@tollgate/core';
import { createFakeClock } from '@tollgate/core/testing';
// The quota and its fluid lower bound are the batch example's, as in examples/distributed.
import { lowerBoundSeconds, QWEN3_MAX as QUOTA } from '../../batch/src/bound.js';

const REQUESTS = 1000;

export interface ScheduleRow {
  readonly name: string;
  readonly makespanS: number;
  readonly lowerBoundS: number;
  readonly ratio: number;
  readonly maxRequestsPer100ms: number;
  readonly maxTokensPer100ms: number;
}

/** A small deterministic generator (LCG), so every run schedules the same workload. */
function workload(count: number, seed = 42): number[] {
  let state = seed;
  const random = () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
  return Array.from({ length: count }, () => 500 + Math.floor(random() * 2501) + 2000);
}

function densest(admissions: ReadonlyArray<readonly [number, number]>, spanMs: number) {
  let requests = 0;
  let tokens = 0;
  for (let i = 0, j = 0, sum = 0; i < admissions.length; i++) {
    sum += admissions[i]![1];
    while (admissions[j]![0] <= admissions[i]![0] - spanMs) sum -= admissions[j++]![1];
    requests = Math.max(requests, i - j + 1);
    tokens = Math.max(tokens, sum);
  }
  return { requests, tokens };
}

async function schedule(
  name: string,
  options: Pick<LimiterOptions, 'pacing' | 'packing'>,
): Promise<ScheduleRow> {
  const clock = createFakeClock(0);
  const limiter = new Limiter({ quota: QUOTA, clock, margin: { ms: 0 }, ...options });
  const costs = workload(REQUESTS);
  const admissions: Array<readonly [number, number]> = [];
  limiter.on('admitted', ({ permit }) => admissions.push([permit.admittedAt, permit.tokens]));
  const done = Promise.all(
    costs.map((tokens) => limiter.acquire({ tokens }).then((permit) => permit.settle())),
  );
  while (admissions.length < costs.length) await clock.advance(1000);
  await done;
  const makespanS = admissions.at(-1)![0] / 1000;
  const bound = lowerBoundSeconds(costs, QUOTA);
  const burst = densest(admissions, 100);
  return {
    name,
    makespanS,
    lowerBoundS: bound,
    ratio: makespanS / bound,
    maxRequestsPer100ms: burst.requests,
    maxTokensPer100ms: burst.tokens,
  };
}

export async function scheduleQuality(): Promise<ScheduleRow[]> {
  return [
    await schedule('pacing + packing (default)', {}),
    await schedule('head delayed up to 1 s', { packing: { maxDelayMs: 1000 } }),
    await schedule('head never delayed', { packing: { maxDelayMs: 0 } }),
    await schedule('pacing only', { packing: false }),
    await schedule('packing only', { pacing: false }),
    await schedule('neither (strict FIFO)', { pacing: false, packing: false }),
  ];
}

export function formatSchedule(rows: ReadonlyArray<ScheduleRow>): string {
  const header = `Schedule quality (fake clock): ${REQUESTS} requests of 2,500–5,000 tokens, qwen3-max quota`;
  const lines = rows.map(
    (row) =>
      `${row.name.padEnd(28)}${row.makespanS.toFixed(1).padStart(10)}${row.lowerBoundS
        .toFixed(1)
        .padStart(10)}${row.ratio.toFixed(3).padStart(8)}${String(row.maxRequestsPer100ms).padStart(
        10,
      )}${String(row.maxTokensPer100ms).padStart(12)}`,
  );
  return [
    header,
    `${'configuration'.padEnd(28)}${'makespan'.padStart(10)}${'bound'.padStart(10)}${'ratio'.padStart(8)}${'req/100ms'.padStart(10)}${'tok/100ms'.padStart(12)}`,
    ...lines,
    `(makespan and bound in simulated seconds; the per-second token window allows ${QUOTA.tps} per 1000 ms)`,
  ].join('\n');
}
