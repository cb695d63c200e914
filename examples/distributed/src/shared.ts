import { performance } from 'node:perf_hooks';
import type { Clock } from '@tollgate/core';

/** qwen3-max on Model Studio: 600 RPM, 1,000,000 TPM, applied per second too. */
export const QWEN3_MAX = { rpm: 600, tpm: 1_000_000, rps: 10, tps: 16_667 } as const;
export type QuotaRates = typeof QWEN3_MAX;

/** What the coordinator hands each worker (as JSON in argv[2]). */
export interface WorkerConfig {
  readonly index: number;
  readonly workers: number;
  readonly batchSize: number;
  /** Requests each worker keeps going at once (its "concurrency", as a job consumer's). */
  readonly concurrency: number;
  readonly redisUrl: string;
  readonly prefix: string;
  readonly key: string;
  readonly marginMs: number;
  readonly baseURL: string;
  readonly apiKey: string;
  readonly clock: ClockAnchor;
}

/** Worker → coordinator. */
export type WorkerMessage =
  | { readonly type: 'ready' }
  | {
      readonly type: 'done';
      readonly index: number;
      readonly succeeded: number;
      readonly lost: number;
      readonly status429: number;
      /** What the provider booked per request: prompt tokens + max_tokens. */
      readonly costs: number[];
      readonly errors: string[];
    };

/** The simulator's time at one real instant, and its speed. */
export interface ClockAnchor {
  readonly realAnchor: number;
  readonly simAnchor: number;
  readonly timeScale: number;
}

/** Wall-clock ms with sub-ms resolution; agrees across processes to well under a ms. */
const realNow = (): number => performance.timeOrigin + performance.now();

/** Reads the simulator's clock and the real clock at one instant. */
export function anchor(simulatorNow: () => number, timeScale: number): ClockAnchor {
  return { realAnchor: realNow(), simAnchor: simulatorNow(), timeScale };
}

/**
 * The simulator's clock, in any process: `simAnchor + (real − realAnchor) × timeScale` — the
 * simulator's own formula. Timers take simulated ms and never fire early.
 */
export function scaledClock({ realAnchor, simAnchor, timeScale }: ClockAnchor): Clock {
  const now = () => simAnchor + (realNow() - realAnchor) * timeScale;
  interface Timer {
    handle: ReturnType<typeof setTimeout> | undefined;
  }
  const arm = (timer: Timer, callback: () => void, dueAt: number) => {
    timer.handle = setTimeout(
      () => (now() < dueAt ? arm(timer, callback, dueAt) : callback()),
      Math.ceil(Math.max(0, dueAt - now()) / timeScale),
    );
  };
  return {
    now,
    setTimeout: (callback, ms) => {
      const timer: Timer = { handle: undefined };
      arm(timer, callback, now() + Math.max(0, ms));
      return timer;
    },
    clearTimeout: (timer) => clearTimeout((timer as Timer | undefined)?.handle),
  };
}

const WORDS = (
  'the quota window request token provider limit model answer batch minute second burst ' +
  'guard account key retry pause pace admit settle reserve estimate usage prompt context ' +
  'document section summary analysis report customer invoice contract clause table figure'
).split(' ');

export interface BatchItem {
  readonly messages: Array<{ role: 'system' | 'user'; content: string }>;
  readonly max_tokens: number;
}

/** `count` long-context prompts of 500–3,000 words (≈ tokens), 2,000 output tokens each; seeded. */
export function syntheticBatch(count: number): BatchItem[] {
  let state = 7;
  const random = () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 4_294_967_296;
  };
  return Array.from({ length: count }, (_, id) => {
    const length = 500 + Math.floor(random() * 2501);
    const words = Array.from({ length }, () => WORDS[Math.floor(random() * WORDS.length)]);
    return {
      messages: [
        { role: 'system', content: 'You summarise documents in three sentences.' },
        { role: 'user', content: `Document ${id}:\n${words.join(' ')}\nSummarise it.` },
      ],
      max_tokens: 2000,
    };
  });
}
