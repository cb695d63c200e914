/**
 * The agent demo: a multi-turn agent and a background batch share one quota — qwen3-max's, on
 * an embedded simulator — through one `openai` client that Tollgate limits. The batch keeps the
 * quota saturated; the agent's turns pass a higher priority per call and go ahead of it. The
 * same workload runs twice, once with the agent's priority and once at the batch's (0: in order
 * of arrival, but for packing), and the agent's admission waits are printed side by side.
 *
 *   pnpm demo:agent                              300 batch prompts, 4 conversations of 6 turns, time x3
 *   TIME_SCALE=10 pnpm demo:agent                faster simulated time
 *   BATCH_SIZE=600 AGENT_SESSIONS=8 pnpm demo:agent
 *
 * Knobs (environment variables; durations in simulated ms):
 *   TIME_SCALE      3     simulated ms per real ms
 *   BATCH_SIZE      300   background prompts of 500–3,000 tokens, max_tokens 2,000, sent at once
 *   AGENT_SESSIONS  4     conversations, run at once; conversation i starts (i + 1) × AGENT_STAGGER_MS in
 *   AGENT_TURNS     6     turns per conversation, each sending the whole history so far
 *   AGENT_MAX_TOKENS 300  the agent's max_tokens per turn
 *   AGENT_THINK_MS  1500  the agent's pause between a reply and its next turn
 *   AGENT_STAGGER_MS 5000 the delay between conversation starts
 *   AGENT_PRIORITY  10    the agent's priority in the first run (the second uses 0)
 */
import { envNumber } from '../../batch/src/env.js';
import { formatReasons } from '../../batch/src/report.js';
import { syntheticBatch } from '../../batch/src/workload.js';
import { runScenario, type ScenarioOptions, type ScenarioResult } from './scenario.js';

const timeScale = envNumber('TIME_SCALE', 3);
const batchSize = envNumber('BATCH_SIZE', 300, true);
const sessions = envNumber('AGENT_SESSIONS', 4, true);
const turns = envNumber('AGENT_TURNS', 6, true);
const agentPriority = envNumber('AGENT_PRIORITY', 10);

/** What the user says: short pasted passages, a deterministic set per conversation. */
const userTurns = syntheticBatch({
  count: sessions * turns,
  minTokens: 80,
  maxTokens: 250,
  seed: 11,
}).map((item) => item.messages.at(-1)?.content ?? '');

const workload: Omit<ScenarioOptions, 'agentPriority'> = {
  timeScale,
  batch: syntheticBatch({ count: batchSize }),
  conversations: Array.from({ length: sessions }, (_, i) =>
    userTurns.slice(i * turns, (i + 1) * turns),
  ),
  agentMaxTokens: envNumber('AGENT_MAX_TOKENS', 300, true),
  thinkMs: envNumber('AGENT_THINK_MS', 1500),
  staggerMs: envNumber('AGENT_STAGGER_MS', 5000),
};

console.log(
  `${batchSize} batch prompts and ${sessions} agent conversations of ${turns} turns, one quota ` +
    `(qwen3-max: 600 RPM, 1,000,000 TPM, 10 RPS, 16,667 TPS) at the simulator (time x${timeScale}); ` +
    'the same workload twice',
);
const runs: Array<{ readonly title: string; readonly result: ScenarioResult }> = [];
for (const [title, priority] of [
  [`agent priority ${agentPriority}`, agentPriority],
  ['agent priority 0 (the batch’s)', 0],
] as const) {
  console.log(`running: ${title} …`);
  runs.push({ title, result: await runScenario({ ...workload, agentPriority: priority }) });
}

const seconds = (ms: number | undefined) =>
  ms === undefined ? '—' : `${(ms / 1000).toFixed(2)} s`;
const lostOf = ({ agentTurns, batch }: ScenarioResult) =>
  agentTurns.expected - agentTurns.succeeded + batch.expected - batch.succeeded;
const rows: Array<[string, (result: ScenarioResult) => string]> = [
  ['agent turns', (r) => `${r.agentTurns.succeeded}/${r.agentTurns.expected}`],
  ['agent wait p50', (r) => seconds(percentile(r.log.waits('agent'), 0.5))],
  ['agent wait p95', (r) => seconds(percentile(r.log.waits('agent'), 0.95))],
  ['agent wait max', (r) => seconds(percentile(r.log.waits('agent'), 1))],
  [
    'batch queued ahead, admitted first',
    (r) => {
      const turns = r.log.agentTurnsVersusBatch();
      const sum = (key: 'queuedAhead' | 'admittedFirst') =>
        turns.reduce((total, turn) => total + turn[key], 0);
      return `${sum('admittedFirst')} of ${sum('queuedAhead')}`;
    },
  ],
  [
    'batch makespan / its bound',
    (r) =>
      `${seconds(r.batchMakespanMs)} / ${seconds(r.batchBoundMs)} = ${(r.batchMakespanMs / r.batchBoundMs).toFixed(2)}`,
  ],
  [
    'batch tokens booked / counted',
    (r) => (r.log.booked('batch') / r.batchCountedTokens).toFixed(3),
  ],
  ['429 responses', (r) => `${r.r429} (${formatReasons(r.r429ByReason)})`],
  ['lost', (r) => String(lostOf(r))],
];
const labelWidth = Math.max(...rows.map(([label]) => label.length));
const columnWidth = Math.max(...runs.map((run) => run.title.length)) + 2;
console.log(
  `\n${''.padEnd(labelWidth)}  ${runs.map((run) => run.title.padEnd(columnWidth)).join('')}`,
);
for (const [label, value] of rows) {
  console.log(
    `${label.padEnd(labelWidth)}  ${runs.map((run) => value(run.result).padEnd(columnWidth)).join('')}`,
  );
}
const [prioritised, fifo] = runs.map((run) => percentile(run.result.log.waits('agent'), 0.95));
if (prioritised !== undefined && fifo !== undefined) {
  const ratio = prioritised === 0 ? '∞' : `${(fifo / prioritised).toFixed(1)}×`;
  console.log(`\nagent p95 wait, at priority 0 / at priority ${agentPriority}: ${ratio}`);
}
console.log('(waits and makespans in simulated seconds; waits are the limiter’s permit.waitedMs)');

for (const { result } of runs) {
  for (const failure of result.failures) console.error('lost:', failure);
}
if (runs.some((run) => lostOf(run.result) > 0)) process.exitCode = 1;

/** The nearest-rank percentile `p` (0–1] of `values`; undefined when there are none. */
function percentile(values: ReadonlyArray<number>, p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}
