/**
 * Redis benchmark: admissions per second through Tollgate's RedisStore (Limiter acquire +
 * settle; rpm + tpm + rps windows) beside rate-limiter-flexible's RateLimiterRedis (rpm + tpm:
 * two consumes) and a bare EVALSHA of a one-line INCRBY script (the ceiling) — each with 64
 * ops in flight on one ioredis client, against a redis-server started on a free port.
 *
 *   pnpm bench:redis      (from the repository root: builds the packages, then runs this)
 *
 * stdout: the setting, a table, the targets, and as the LAST line
 * `{"tollgate":N,"rlfDual":N,"evalshaCeiling":N,"ratioToCeiling":x}` (medians, ops/s).
 * Exits 1, without the JSON line, if any op was refused or made to wait, or if Redis did not
 * record exactly the ops counted (checked after every turn).
 *
 * Environment: BENCH_ROUNDS (default 9), BENCH_ROUND_MS (default 1000), REDIS_URL (use that
 * server instead: the bench writes keys under `bench:`, all expiring, and loads scripts).
 */
import os from 'node:os';
import { Redis } from 'ioredis';
import { envNumber } from '../../batch/src/env.js';
// the same throwaway-server helper as the distributed example (one copy)
import { redisTarget } from '../../distributed/src/redis.js';
import { type Contender, contenders, TOKENS } from './contenders.js';

const CHAINS = 64;

const rounds = envNumber('BENCH_ROUNDS', 9, true);
const roundMs = envNumber('BENCH_ROUND_MS', 1000, true);

interface Turn {
  readonly opsPerS: number;
  /** Redis server CPU (user + sys) per op, µs. */
  readonly redisUs: number;
  /** Script calls (EVALSHA, EVAL) Redis ran per op. */
  readonly scriptsPerOp: number;
  /** This process's CPU per op, µs. */
  readonly nodeUs: number;
  readonly refused: number;
  readonly delayed: number;
  /** Ops counted here that Redis did not record (or the reverse). Must stay 0. */
  readonly unrecorded: number;
}

/** The Redis server's CPU seconds (user + sys) and script calls (EVALSHA + EVAL) so far. */
async function redisCounters(client: Redis): Promise<{ cpu: number; scripts: number }> {
  const info = `${await client.info('cpu')}\n${await client.info('commandstats')}`;
  const field = (pattern: string) =>
    Number(new RegExp(`^${pattern}([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return {
    cpu: field('used_cpu_user:') + field('used_cpu_sys:'),
    scripts: field('cmdstat_evalsha:calls=') + field('cmdstat_eval:calls='),
  };
}

let turns = 0;
async function turn(contender: Contender, client: Redis, ms: number): Promise<Turn> {
  const instance = await contender.create(client, turns++);
  const before = await redisCounters(client);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const ops = await instance.run(CHAINS, started + ms);
  const elapsed = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const after = await redisCounters(client);
  const recorded = await instance.recorded();
  instance.close();
  return {
    opsPerS: (ops * 1000) / elapsed,
    redisUs: ((after.cpu - before.cpu) * 1e6) / ops,
    scriptsPerOp: (after.scripts - before.scripts) / ops,
    nodeUs: (cpu.user + cpu.system) / ops,
    refused: instance.refused,
    delayed: instance.delayed,
    unrecorded: Math.abs(ops - recorded),
  };
}

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function main(): Promise<void> {
  const redis = await redisTarget();
  const client = new Redis(redis.url);
  try {
    const version = /^redis_version:(\S+)/m.exec(await client.info('server'))?.[1] ?? '?';
    const cpus = os.cpus();
    console.log(
      `node ${process.version}, redis ${version} at ${redis.url}${redis.started ? ' (started for this run)' : ''}, ` +
        `${cpus.length} CPU(s) ${cpus[0]?.model.trim() ?? ''}, load ${os
          .loadavg()
          .map((load) => load.toFixed(2))
          .join(' ')}`,
    );
    console.log(
      `${rounds} rounds x ${roundMs} ms per contender, interleaved (rotating order), fresh instance and keys per turn, ` +
        `${CHAINS} ops in flight on one ioredis client, ${TOKENS} tokens per op`,
    );
    for (const contender of contenders) console.log(`  ${contender.name}: ${contender.op}`);

    process.stderr.write('warm-up...\n');
    for (const contender of contenders) await turn(contender, client, 1000);
    const results = new Map<string, Turn[]>(contenders.map((c) => [c.name, []]));
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < contenders.length; i++) {
        const contender = contenders[(round + i) % contenders.length]!;
        results.get(contender.name)!.push(await turn(contender, client, roundMs));
      }
      process.stderr.write(`  round ${round + 1}/${rounds} done\n`);
    }

    const rows = contenders.map((contender) => {
      const list = results.get(contender.name)!;
      const rates = list.map((t) => t.opsPerS);
      return {
        name: contender.name,
        median: median(rates),
        min: Math.min(...rates),
        max: Math.max(...rates),
        redisUs: median(list.map((t) => t.redisUs)),
        scriptsPerOp: median(list.map((t) => t.scriptsPerOp)),
        nodeUs: median(list.map((t) => t.nodeUs)),
        refused: list.reduce((sum, t) => sum + t.refused, 0),
        delayed: list.reduce((sum, t) => sum + t.delayed, 0),
        unrecorded: list.reduce((sum, t) => sum + t.unrecorded, 0),
      };
    });
    const ceiling = rows.find((row) => row.name === 'evalshaCeiling')!.median;
    const header = [
      'contender',
      'ops/s median',
      'min',
      'max',
      'vs ceiling',
      'scripts/op',
      'redis µs/op',
      'node µs/op',
    ];
    const body = rows.map((row) => [
      row.name,
      Math.round(row.median).toLocaleString('en'),
      Math.round(row.min).toLocaleString('en'),
      Math.round(row.max).toLocaleString('en'),
      (row.median / ceiling).toFixed(3),
      row.scriptsPerOp.toFixed(3),
      row.redisUs.toFixed(1),
      row.nodeUs.toFixed(1),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
    const line = (cells: ReadonlyArray<string>) =>
      cells
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
        .join('  ');
    console.log('');
    console.log(`Admissions per second, ${CHAINS} in flight, one client`);
    console.log(line(header));
    for (const row of body) console.log(line(row));
    console.log(
      'ops/s = wall clock over the rounds; scripts/op = EVALSHA + EVAL calls per op (INFO commandstats); ' +
        'redis µs/op = redis-server CPU per op (INFO cpu); node µs/op = this process; medians',
    );

    const bad = rows.filter((row) => row.refused + row.delayed + row.unrecorded > 0);
    if (bad.length > 0) {
      for (const row of bad) {
        process.stderr.write(
          `error: ${row.name} refused ${row.refused}, delayed ${row.delayed} and miscounted ${row.unrecorded} ops; figures invalid\n`,
        );
      }
      process.exitCode = 1;
      return;
    }
    const result = {
      tollgate: Math.round(rows.find((row) => row.name === 'tollgate')!.median),
      rlfDual: Math.round(rows.find((row) => row.name === 'rlfDual')!.median),
      evalshaCeiling: Math.round(ceiling),
      ratioToCeiling: 0,
    };
    result.ratioToCeiling = Math.round((result.tollgate / result.evalshaCeiling) * 1000) / 1000;
    const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
    console.log('');
    console.log(`target tollgate >= rlfDual: ${verdict(result.tollgate >= result.rlfDual)}`);
    console.log(
      `target tollgate >= 0.5 x evalshaCeiling: ${verdict(result.ratioToCeiling >= 0.5)}`,
    );
    console.log(JSON.stringify(result));
  } finally {
    await client.quit();
    await redis.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
