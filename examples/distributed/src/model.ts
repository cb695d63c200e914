/**
 * The demo's structure without its real time: N limiters on ONE store (a `MemoryStore` standing
 * in for Redis), each draining its share of the same batch with a number of requests going at
 * once, on a fake clock — no Redis round trips, no event-loop jitter, no simulator. What is left
 * is what the structure costs: each limiter packs only its own queue, and the heads of N queues
 * compete for one quota. Deterministic: the same figures on every machine.
 *
 *   pnpm model        (in examples/distributed)
 */
import { Limiter, type LimiterOptions, MemoryStore } from '@tollgate/core';
import { createFakeClock } from '@tollgate/core/testing';
import { lowerBoundSeconds } from './report.js';
import { QWEN3_MAX, syntheticBatch } from './shared.js';

/** The simulator's default time to the first byte: how long a permit stays in flight. */
const LATENCY_MS = 400;
const BATCH_SIZE = 400;

/**
 * What the provider books for each request: its prompt plus `max_tokens`. The batch's words are
 * one o200k token each, so a word count (with the simulator's framing: 4 per message, 3 per
 * request) is within 10 tokens of the simulator's count.
 */
const costs = syntheticBatch(BATCH_SIZE).map((item) => {
  const words = item.messages.reduce(
    (sum, message) => sum + message.content.split(/\s+/).length,
    0,
  );
  return words + 4 * item.messages.length + 3 + item.max_tokens;
});

/**
 * The makespan of `costs` drained by `workers` limiters, in simulated seconds. With
 * `departureLagMs`, each request leaves that long after its admission (`permit.departed()`, as
 * `withTollgate` reports it), so its booking moves that much later.
 */
async function makespanSeconds(
  workers: number,
  concurrency: number,
  options: Pick<LimiterOptions, 'margin'> = {},
  departureLagMs = 0,
): Promise<number> {
  const clock = createFakeClock(0);
  const store = new MemoryStore({ clock });
  let lastReply = 0;
  const drained = Array.from({ length: workers }, async (_, index) => {
    const limiter = new Limiter({ quota: QWEN3_MAX, key: 'model', clock, store, ...options });
    const share = costs.filter((_, id) => id % workers === index);
    let next = 0;
    const lane = async () => {
      while (next < share.length) {
        const permit = await limiter.acquire({ tokens: share[next++]! });
        if (departureLagMs > 0) {
          await new Promise<void>((resolve) => clock.setTimeout(resolve, departureLagMs));
          permit.departed();
        }
        await new Promise<void>((resolve) => clock.setTimeout(resolve, LATENCY_MS));
        permit.settle();
        lastReply = clock.now();
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, share.length) }, lane));
  });
  let done = false;
  void Promise.all(drained).then(() => {
    done = true;
  });
  while (!done) await clock.advance(100);
  return lastReply / 1000;
}

const bound = lowerBoundSeconds(costs, QWEN3_MAX);
const rows: Array<[string, number]> = [
  ['1 limiter, the whole batch waiting', await makespanSeconds(1, BATCH_SIZE)],
  ['4 limiters, 8 going each', await makespanSeconds(4, 8)],
  ['4 limiters, 16 going each (the demo)', await makespanSeconds(4, 16)],
  ['4 limiters, each its whole share', await makespanSeconds(4, BATCH_SIZE)],
  ['4 limiters, 16 each, margin 0', await makespanSeconds(4, 16, { margin: { ms: 0 } })],
  ['4 limiters, 16 each, margin 200 ms', await makespanSeconds(4, 16, { margin: { ms: 200 } })],
  ['4 limiters, 16 each, leaving 15 ms late', await makespanSeconds(4, 16, {}, 15)],
];
console.log(
  `${BATCH_SIZE} requests of the demo's batch, qwen3-max quota, fake clock, default options ` +
    `unless said; lower bound ${bound.toFixed(1)} s`,
);
for (const [name, seconds] of rows) {
  console.log(
    `${name.padEnd(40)}${seconds.toFixed(1).padStart(7)} s${(seconds / bound).toFixed(3).padStart(8)}`,
  );
}
