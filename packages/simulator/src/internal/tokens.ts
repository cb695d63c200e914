import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';

/** A chat message as it arrives: only `role` and `content` matter for counting. */
export interface ChatMessageLike {
  readonly role?: unknown;
  readonly content?: unknown;
}

const TOKENS_PER_MESSAGE = 4;
const TOKENS_PER_REQUEST = 3;
const ENCODE_OPTIONS = { disallowedSpecial: new Set<string>() };
const CACHE_LIMIT = 4096;
const cache = new Map<string, number>();

/** The text of a message's content: a string, or the `text` of its parts; anything else is ''. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content) {
    if (typeof part === 'object' && part !== null) {
      const value = (part as { text?: unknown }).text;
      if (typeof value === 'string') text += value;
    }
  }
  return text;
}

/** o200k tokens of a text (cached: agents resend the same history turn after turn). */
export function textTokens(text: string): number {
  if (text === '') return 0;
  const hit = cache.get(text);
  if (hit !== undefined) return hit;
  const count = countTokens(text, ENCODE_OPTIONS);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(text, count);
  return count;
}

/** Prompt tokens: o200k tokens of every message's content, + 4 per message, + 3 per request. */
export function promptTokens(messages: ReadonlyArray<ChatMessageLike>): number {
  let total = TOKENS_PER_REQUEST;
  for (const message of messages)
    total += TOKENS_PER_MESSAGE + textTokens(contentText(message.content));
  return total;
}

/** 32-bit FNV-1a over the roles and contents of the messages. */
export function messagesHash(messages: ReadonlyArray<ChatMessageLike>): number {
  let hash = 0x811c9dc5;
  const feed = (text: string) => {
    for (let index = 0; index < text.length; index++) {
      hash ^= text.charCodeAt(index);
      hash = Math.imul(hash, 0x01000193);
    }
  };
  for (const message of messages) {
    feed(typeof message.role === 'string' ? message.role : '');
    feed('\u0000');
    feed(contentText(message.content));
    feed('\u0001');
  }
  return hash >>> 0;
}

/**
 * Completion tokens of a request: `maxTokens × ratio`, the ratio picked in
 * `[minRatio, maxRatio]` by the hash of the messages; at least 1, never above `maxTokens`.
 */
export function completionTokens(
  messages: ReadonlyArray<ChatMessageLike>,
  maxTokens: number,
  ratios: { readonly minRatio: number; readonly maxRatio: number },
): number {
  const fraction = messagesHash(messages) / 2 ** 32;
  const ratio = ratios.minRatio + fraction * (ratios.maxRatio - ratios.minRatio);
  return Math.min(maxTokens, Math.max(1, Math.round(maxTokens * ratio)));
}

// Words that are one o200k token each, with or without their leading space, and that never
// merge with a neighbour: n words are exactly n tokens.
const FILLER = [
  'the',
  'quota',
  'window',
  'slides',
  'and',
  'every',
  'request',
  'runs',
  'its',
  'turn',
  'so',
  'no',
  'token',
  'is',
  'lost',
  'while',
  'time',
  'moves',
  'on',
  'to',
  'a',
  'new',
  'minute',
  'of',
  'work',
  'for',
  'each',
  'model',
] as const;

/** Deterministic filler words: joined, exactly `tokens` o200k tokens. */
export function fillerWords(tokens: number, seed: number): string[] {
  const words: string[] = [];
  for (let index = 0; index < tokens; index++) {
    const word = FILLER[(seed + index) % FILLER.length]!;
    words.push(index === 0 ? word : ` ${word}`);
  }
  return words;
}
