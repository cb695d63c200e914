import { describe, expect, it } from 'vitest';
import { syntheticBatch } from '../../batch/src/workload.js';
import { runScenario, type ScenarioOptions } from '../src/scenario.js';

// A small run of the demo: 80 batch prompts keep qwen3-max's per-second token window full for
// about 18 simulated s; two conversations of three turns start 1.5 and 3 s in. The margin is
// 50 real ms, as in @tollgate/openai's tests: this test is about order, and the jitter between
// the client and the simulator's thread, with every test file running at once on a small
// machine, is real time — beyond the default 20 simulated ms (issue 10 §1 tunes that).
const timeScale = 4;
const userTurns = syntheticBatch({ count: 6, minTokens: 80, maxTokens: 250, seed: 11 }).map(
  (item) => item.messages.at(-1)?.content ?? '',
);
const workload: Omit<ScenarioOptions, 'agentPriority'> = {
  timeScale,
  margin: { ms: 50 * timeScale },
  batch: syntheticBatch({ count: 80 }),
  conversations: [userTurns.slice(0, 3), userTurns.slice(3)],
  agentMaxTokens: 200,
  thinkMs: 500,
  staggerMs: 1500,
};

describe('the agent scenario against the simulator', () => {
  it('admits every agent turn before all the batch requests queued ahead of it, losing nothing and drawing no 429', async () => {
    const result = await runScenario({ ...workload, agentPriority: 10 });

    expect(result.failures).toEqual([]);
    expect(result.agentTurns).toEqual({ expected: 6, succeeded: 6 });
    expect(result.batch).toEqual({ expected: 80, succeeded: 80 });
    expect(result.r429).toBe(0);
    const turns = result.log.agentTurnsVersusBatch();
    expect(turns).toHaveLength(6);
    // the batch kept the quota busy: every turn found batch requests already waiting …
    for (const turn of turns) expect(turn.queuedAhead).toBeGreaterThan(0);
    // … and went before every one of them
    expect(turns.map((turn) => turn.admittedFirst)).toEqual([0, 0, 0, 0, 0, 0]);
  }, 60_000);

  it('at the batch’s priority, the batch requests queued ahead of a turn go first', async () => {
    const result = await runScenario({ ...workload, agentPriority: 0 });

    expect(result.agentTurns).toEqual({ expected: 6, succeeded: 6 });
    expect(result.batch).toEqual({ expected: 80, succeeded: 80 });
    const turns = result.log.agentTurnsVersusBatch();
    const admittedFirst = turns.reduce((sum, turn) => sum + turn.admittedFirst, 0);
    // what the first test rules out does happen without the priority (packing lets a turn
    // past only the requests it fits beside, so not all of them)
    expect(admittedFirst).toBeGreaterThan(0);
  }, 60_000);
});
