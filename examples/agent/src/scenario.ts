import { type Clock, Limiter, type LimiterOptions } from '@tollgate/core';
import { dashscope } from '@tollgate/core/presets';
import { tollgate, withTollgate } from '@tollgate/openai';
import { presets } from '@tollgate/simulator';
import OpenAI from 'openai';
import { lowerBoundSeconds, QWEN3_MAX } from '../../batch/src/bound.js';
import { realTimeMargin } from '../../batch/src/margin.js';
import { startSimulatorThread } from '../../batch/src/simulator-thread.js';
import type { BatchItem } from '../../batch/src/workload.js';
import { AdmissionLog } from './admissions.js';

const MODEL = 'qwen3-max';

type Message = { readonly role: 'system' | 'user' | 'assistant'; readonly content: string };

/** One run: a background batch and an agent's conversations on one client and one quota. */
export interface ScenarioOptions {
  /** Simulated ms per real ms. */
  readonly timeScale: number;
  /** Sent all at once when the run starts. */
  readonly batch: ReadonlyArray<BatchItem>;
  /** What the user says at each turn, one list per conversation; the agent runs them all at once. */
  readonly conversations: ReadonlyArray<ReadonlyArray<string>>;
  /** The agent's priority per call (`tollgate({ priority })`); the batch's is the client's, 0. */
  readonly agentPriority: number;
  /** The agent's `max_tokens` per turn. */
  readonly agentMaxTokens: number;
  /** Simulated ms the agent thinks between a reply and its next turn. */
  readonly thinkMs: number;
  /** Simulated ms after the batch starts before conversation `i` starts: `(i + 1) × staggerMs`. */
  readonly staggerMs: number;
  /** The limiter's margin. @default the limiter's own 10 ms, in real time: `realTimeMargin(timeScale)` */
  readonly margin?: LimiterOptions['margin'];
}

export interface ScenarioResult {
  /** Every admission of the run, batch and agent, in order. */
  readonly log: AdmissionLog;
  readonly agentTurns: { readonly expected: number; readonly succeeded: number };
  readonly batch: { readonly expected: number; readonly succeeded: number };
  /** From the batch's start to its last reply, in simulated ms. */
  readonly batchMakespanMs: number;
  /** The batch's own makespan lower bound under the quota (bound.ts), in simulated ms. */
  readonly batchBoundMs: number;
  /** What the simulator counted for the batch (prompt + max_tokens, summed). */
  readonly batchCountedTokens: number;
  /** 429 responses, by the simulator's own count. */
  readonly r429: number;
  /** The same 429s by reason (the simulator's counters). */
  readonly r429ByReason: Readonly<Record<string, number>>;
  /** What the calls that failed rejected with (a few at most). */
  readonly failures: ReadonlyArray<unknown>;
}

/**
 * Runs the scenario against a fresh simulator of qwen3-max's quota, on its own thread: one
 * `openai` client wrapped by `withTollgate`, one `Limiter` on `dashscope('qwen3-max')` with
 * default options (but for `margin`, when given), the batch sent at once, and the agent's
 * conversations, each turn sending the whole history so far with the agent's priority.
 */
export async function runScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const simulator = await startSimulatorThread({
    ...presets.qwen3Max,
    timeScale: options.timeScale,
  });
  const clock = simulator.clock;
  const limiter = new Limiter({
    quota: dashscope(MODEL),
    clock,
    margin: options.margin ?? realTimeMargin(options.timeScale),
  });
  const log = new AdmissionLog();
  const client = withTollgate(new OpenAI({ baseURL: simulator.url, apiKey: simulator.apiKey }), {
    limiter,
    retry: { provider: 'dashscope' },
    estimate: log.estimate,
  });
  const failures: unknown[] = [];
  const failed = (error: unknown) => {
    if (failures.length < 3) failures.push(error);
  };
  try {
    // As in the batch demo: a cold client's first request reaches the server late, and the
    // prompt bias it teaches the limiter should be the batch's.
    const first = options.batch[0];
    if (first !== undefined) {
      await client.chat.completions.create({
        model: MODEL,
        messages: [...first.messages],
        max_tokens: 1,
      });
    }
    log.watch(limiter); // from here on: the warm-up is neither the batch's nor the agent's

    const started = clock.now();
    let lastBatchReply = started;
    const batch = Promise.allSettled(
      options.batch.map(async (item) => {
        await client.chat.completions.create({
          model: MODEL,
          messages: [...item.messages],
          max_tokens: item.max_tokens,
        });
        lastBatchReply = clock.now();
      }),
    );

    let turnsDone = 0;
    const converse = async (userTurns: ReadonlyArray<string>, index: number) => {
      await sleep(clock, (index + 1) * options.staggerMs);
      const history: Message[] = [
        { role: 'system', content: 'You are a research assistant. Answer briefly.' },
      ];
      for (const content of userTurns) {
        history.push({ role: 'user', content });
        const reply = await log.asAgent(() =>
          client.chat.completions.create(
            { model: MODEL, messages: history, max_tokens: options.agentMaxTokens },
            tollgate({ priority: options.agentPriority }),
          ),
        );
        turnsDone++;
        history.push({ role: 'assistant', content: reply.choices[0]?.message.content ?? '' });
        await sleep(clock, options.thinkMs);
      }
    };
    const agent = await Promise.allSettled(options.conversations.map(converse));
    const batchResults = await batch;

    for (const result of [...batchResults, ...agent]) {
      if (result.status === 'rejected') failed(result.reason);
    }
    const stats = await simulator.stats();
    const batchCosts = await simulator.costs(options.batch, 'reserved');
    return {
      log,
      agentTurns: {
        expected: options.conversations.reduce((sum, turns) => sum + turns.length, 0),
        succeeded: turnsDone,
      },
      batch: {
        expected: options.batch.length,
        succeeded: batchResults.filter((r) => r.status === 'fulfilled').length,
      },
      batchMakespanMs: lastBatchReply - started,
      batchBoundMs: lowerBoundSeconds(batchCosts, QWEN3_MAX) * 1000,
      batchCountedTokens: batchCosts.reduce((sum, cost) => sum + cost, 0),
      r429: stats.rejected429,
      r429ByReason: stats.rejected429ByReason,
      failures,
    };
  } finally {
    limiter.close();
    await simulator.close();
  }
}

function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}
