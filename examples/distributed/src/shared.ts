import type { ClockAnchor } from '@tollgate/simulator';

/** qwen3-max on Model Studio: 600 RPM, 1,000,000 TPM, applied per second too. */
export const QWEN3_MAX = { rpm: 600, tpm: 1_000_000, rps: 10, tps: 16_667 } as const;

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
  readonly baseURL: string;
  readonly apiKey: string;
  /** The simulator's `clock.timeScale` and `clock.anchor`: every worker runs on its time. */
  readonly clock: { readonly timeScale: number; readonly anchor: ClockAnchor };
}

/** Worker → coordinator. */
export type WorkerMessage =
  | { readonly type: 'ready' }
  | {
      readonly type: 'done';
      readonly index: number;
      readonly succeeded: number;
      readonly lost: number;
      /** What the provider booked per request: prompt tokens + max_tokens. */
      readonly costs: number[];
      /** Per request sent: simulated ms from its admission to its body on the wire. */
      readonly departureLags: number[];
      readonly errors: string[];
    };

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
