import { readFileSync } from 'node:fs';

/** One request of the batch: its messages and its output cap. */
export interface BatchItem {
  readonly id: number;
  readonly messages: ReadonlyArray<{ readonly role: 'system' | 'user'; readonly content: string }>;
  readonly max_tokens: number;
}

const WORDS = (
  'the quota window request token provider limit model answer batch minute second burst ' +
  'guard account key retry pause pace admit settle reserve estimate usage prompt context ' +
  'document section summary analysis report customer invoice contract clause table figure ' +
  'data value result method system process service network region latency throughput'
).split(' ');

/** A deterministic generator (an LCG), so every run sends the same batch. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 4_294_967_296;
  };
}

/**
 * Long-context prompts of about `minTokens`–`maxTokens` tokens (one common English word is
 * about one token), each asking for up to `maxOutputTokens`.
 */
export function syntheticBatch(options: {
  readonly count: number;
  readonly minTokens?: number;
  readonly maxTokens?: number;
  readonly maxOutputTokens?: number;
  readonly seed?: number;
}): BatchItem[] {
  const { count, minTokens = 500, maxTokens = 3000, maxOutputTokens = 2000, seed = 7 } = options;
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, id) => {
    const length = minTokens + Math.floor(random() * (maxTokens - minTokens + 1));
    const words: string[] = [];
    for (let i = 0; i < length - 20; i++) words.push(WORDS[Math.floor(random() * WORDS.length)]!);
    return {
      id,
      messages: [
        { role: 'system', content: 'You summarise documents in three sentences.' },
        { role: 'user', content: `Document ${id}:\n${words.join(' ')}\nSummarise it.` },
      ],
      max_tokens: maxOutputTokens,
    };
  });
}

/**
 * Reads a batch from a JSONL file: one request per line, either `{ "messages": [...],
 * "max_tokens": n }` or `{ "prompt": "..." }`.
 */
export function batchFromJsonl(path: string, maxOutputTokens = 2000): BatchItem[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, id) => {
      const record = JSON.parse(line) as {
        messages?: BatchItem['messages'];
        prompt?: string;
        max_tokens?: number;
      };
      const messages = record.messages ?? [
        { role: 'user' as const, content: String(record.prompt ?? '') },
      ];
      return { id, messages, max_tokens: record.max_tokens ?? maxOutputTokens };
    });
}
