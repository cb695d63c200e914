import { InvalidArgumentError } from './errors.js';
import { checkNumber, checkOptions } from './validate.js';

/**
 * Prompt and output parts of a request's cost, in tokens.
 *
 * @example
 * const { prompt, output } = defaultChatEstimator.estimate(request);
 * const reserve = prompt + output;
 */
export interface TokenEstimate {
  /** Tokens the request sends (messages, tools, images and framing). */
  readonly prompt: number;
  /** Tokens the reply may produce (the request's cap, or the estimator's default). */
  readonly output: number;
}

/**
 * Estimates what a request will cost in a token window before it is sent. It runs on every
 * request, so it must be fast; it should err on the side of over-counting.
 */
export interface TokenEstimator<Req> {
  estimate(request: Req): TokenEstimate;
}

/**
 * One part of a multi-part message `content`. Parts whose `type` is not `'text'` are charged as
 * images; other fields (`image_url`…) are ignored.
 */
export interface ChatContentPartLike {
  readonly type: string;
  readonly text?: string;
}

/** The fields of an OpenAI-style chat message that the estimator reads; others are ignored. */
export interface ChatMessageLike {
  readonly role: string;
  readonly content?: string | ReadonlyArray<ChatContentPartLike> | null;
  readonly name?: string;
  /** Function tool calls (`function`) and custom ones (`custom`, openai 6), counted as text. */
  readonly tool_calls?: ReadonlyArray<{
    readonly type?: string;
    readonly function?: { readonly name?: string; readonly arguments?: string };
    readonly custom?: { readonly name?: string; readonly input?: string };
  }>;
}

/** The fields of an OpenAI-style chat completion request that the estimator reads. */
export interface ChatRequestLike {
  readonly messages: ReadonlyArray<ChatMessageLike>;
  readonly max_tokens?: number | null;
  readonly max_completion_tokens?: number | null;
  /** Tool definitions, counted as the text tokens of `JSON.stringify(tools)`. */
  readonly tools?: ReadonlyArray<unknown>;
  /** Number of choices; the output reservation is multiplied by it. */
  readonly n?: number | null;
}

/** Options of {@link chatEstimator}. Every value is a non-negative integer. */
export interface ChatEstimatorOptions {
  /**
   * Output tokens to reserve when the request sets neither max_tokens nor max_completion_tokens.
   * @default 1024
   */
  readonly expectedOutputTokens?: number;
  /** Tokens added per message for role and framing. @default 4 */
  readonly perMessageTokens?: number;
  /** Tokens added once per request (reply priming). @default 3 */
  readonly perRequestTokens?: number;
  /** Tokens charged per image part (content parts whose type is not 'text'). @default 1000 */
  readonly perImageTokens?: number;
}

// The scanner groups characters into runs of one kind and charges each run as a whole.
const SINGLE = 0; // not a run: each character is charged on its own
const LETTERS = 1; // ASCII letters, '_', Latin letters with diacritics (which weigh 4)
const DIGITS = 2; // ASCII digits
const PUNCT = 3; // ASCII punctuation and symbols
const ALPHABET = 4; // Cyrillic, Armenian, Hebrew, Arabic and neighbours
const SPACE = 5; // whitespace

// Costs, tuned against the cl100k_base and o200k_base tokenizers (see test/estimate.test.ts).
const LETTERS_PER_TOKEN = 4;
const DIGITS_PER_TOKEN = 3; // tokenizers split numbers into groups of up to three digits
const ALPHABET_PER_TOKEN = 1.5;
const SPACES_PER_TOKEN = 16;
const HAN_TOKENS = 1.5;
const HANGUL_TOKENS = 1.5;
const KANA_TOKENS = 1;
const SURROGATE_TOKENS = 1.5; // per UTF-16 unit, so 3 per emoji or rare ideograph

function runCost(kind: number, length: number, newlines: number, beforeDigit: boolean): number {
  switch (kind) {
    case LETTERS:
      return Math.ceil(length / LETTERS_PER_TOKEN);
    case DIGITS:
      return Math.ceil(length / DIGITS_PER_TOKEN);
    case PUNCT:
      // Adjacent symbols often merge: `");`, `":{"`, `=>`.
      return 1 + (length - 1) / 2;
    case ALPHABET:
      return Math.ceil(length / ALPHABET_PER_TOKEN);
    case SPACE:
      // A lone space joins the next word, except before a number.
      if (length === 1) return newlines > 0 || beforeDigit ? 1 : 0;
      // Long runs of spaces are single tokens; a line break and its indentation cost two.
      return Math.ceil(length / SPACES_PER_TOKEN) + (newlines > 0 ? 1 : 0);
    default:
      return 0;
  }
}

/**
 * Conservative token count of a text: never meaningfully under-counts English, code or CJK
 * (against the cl100k and o200k tokenizers); over-counts them typically by 1.1–1.7×, at most
 * about 2.5×.
 * One pass over the char codes without allocation: tens of times faster than a tokenizer.
 *
 * Rule: runs of ASCII letters cost ⌈length / 4⌉ (a camelCase hump starts a new run; a letter
 * with diacritics weighs 4), runs of digits ⌈length / 3⌉, a run of ASCII symbols 1 plus ½ per
 * extra symbol, runs of Cyrillic, Hebrew or Arabic letters ⌈length / 1.5⌉; Han ideographs and
 * Hangul syllables 1.5 each, kana, CJK punctuation, Greek, Indic and Thai 1 each, emoji 3;
 * a lone space is free (except before a number), longer whitespace ⌈length / 16⌉ plus 1 when it
 * breaks a line.
 *
 * @example
 * estimateTextTokens('Hello, world!'); // 6 (cl100k and o200k: 4)
 */
export function estimateTextTokens(text: string): number {
  let total = 0;
  let kind = SINGLE;
  let length = 0;
  let newlines = 0;
  let afterLower = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let next = SINGLE;
    let weight = 1;
    let split = false;
    if (c < 128) {
      if (c >= 97 && c <= 122) next = LETTERS;
      else if (c >= 65 && c <= 90) {
        next = LETTERS;
        split = afterLower; // camelCase boundary: `getUser` costs like `get User`
      } else if (c >= 48 && c <= 57) next = DIGITS;
      else if (c === 32 || (c >= 9 && c <= 13)) next = SPACE;
      else if (c === 95) next = LETTERS;
      else if (c > 32 && c < 127) next = PUNCT;
    } else if (c < 0x2000) {
      if (c >= 0xc0 && c < 0x250 && c !== 0xd7 && c !== 0xf7) {
        next = LETTERS;
        weight = 4;
      } else if (c >= 0x1e00 && c < 0x1f00) {
        next = LETTERS; // Latin Extended Additional (Vietnamese)
        weight = 4;
      } else if (c >= 0x400 && c < 0x900) next = ALPHABET;
      else if (c === 0xa0) next = SPACE;
      // Everything else (Latin-1 symbols, Greek, Indic, Thai, Georgian…) costs 1 a character.
    }
    afterLower = c >= 97 && c <= 122;
    if (next !== kind || split) {
      if (kind !== SINGLE) total += runCost(kind, length, newlines, next === DIGITS);
      kind = next;
      length = 0;
      newlines = 0;
    }
    if (next !== SINGLE) {
      length += weight;
      if (c === 10) newlines++;
    } else if (c < 0x2e80) total += 1;
    else if (c >= 0xd800 && c < 0xe000) total += SURROGATE_TOKENS;
    else if ((c >= 0x3400 && c < 0xa000) || (c >= 0xf900 && c < 0xfb00)) total += HAN_TOKENS;
    else if (c >= 0xac00 && c < 0xd7b0) total += HANGUL_TOKENS;
    else if (c >= 0x3040 && c < 0x3100) total += KANA_TOKENS;
    else total += 1; // CJK punctuation, full-width forms, Yi, private use…
  }
  if (kind !== SINGLE) total += runCost(kind, length, newlines, false);
  return Math.ceil(total);
}

const DEFAULT_OPTIONS = {
  expectedOutputTokens: 1024,
  perMessageTokens: 4,
  perRequestTokens: 3,
  perImageTokens: 1000,
} as const;

type ResolvedOptions = { -readonly [K in keyof typeof DEFAULT_OPTIONS]: number };

function resolveOptions(options: ChatEstimatorOptions): ResolvedOptions {
  const checked = checkOptions(options, 'chatEstimator', Object.keys(DEFAULT_OPTIONS));
  const resolved: ResolvedOptions = { ...DEFAULT_OPTIONS };
  for (const key of Object.keys(DEFAULT_OPTIONS) as Array<keyof ResolvedOptions>) {
    const value = checked[key];
    if (value !== undefined) {
      resolved[key] = checkNumber(value, `chatEstimator.${key}`, { min: 0, integer: true });
    }
  }
  return resolved;
}

function outputCap(request: ChatRequestLike, key: 'max_completion_tokens' | 'max_tokens') {
  const value = request[key];
  if (value === undefined || value === null) return undefined;
  return checkNumber(value, `request.${key}`, { min: 0, integer: true }, InvalidArgumentError);
}

function choices(request: ChatRequestLike): number {
  const n = request.n;
  if (n === undefined || n === null) return 1;
  return checkNumber(n, 'request.n', { min: 1, integer: true }, InvalidArgumentError);
}

function toolsTokens(tools: ReadonlyArray<unknown> | undefined): number {
  if (tools === undefined || tools === null || tools.length === 0) return 0;
  let json: string;
  try {
    json = JSON.stringify(tools);
  } catch {
    throw new InvalidArgumentError('must be serialisable to JSON', 'request.tools');
  }
  return estimateTextTokens(json);
}

/**
 * An estimator for OpenAI-style chat completion requests (OpenAI, Azure, DashScope, vLLM…).
 *
 * - `output` = (`max_completion_tokens` ?? `max_tokens` ?? `expectedOutputTokens`) × (`n` ?? 1).
 * - `prompt` = `perRequestTokens` + Σ over messages of (`perMessageTokens` + the text tokens of
 *   the content — a string or its `'text'` parts — of `name` and of each tool call's name and
 *   arguments) + `perImageTokens` per non-text content part + the text tokens of
 *   `JSON.stringify(tools)`.
 *
 * Text is counted with {@link estimateTextTokens}. Options are validated here and throw
 * `ConfigurationError`; `estimate` throws `InvalidArgumentError` when `max_tokens`,
 * `max_completion_tokens` or `n` is not a valid count.
 *
 * @example
 * const estimator = chatEstimator({ expectedOutputTokens: 512 });
 * estimator.estimate({ messages: [{ role: 'user', content: 'Hello, world!' }] });
 * // { prompt: 13, output: 512 }
 */
export function chatEstimator(options: ChatEstimatorOptions = {}): TokenEstimator<ChatRequestLike> {
  const { expectedOutputTokens, perMessageTokens, perRequestTokens, perImageTokens } =
    resolveOptions(options);
  return {
    estimate(request: ChatRequestLike): TokenEstimate {
      const cap =
        outputCap(request, 'max_completion_tokens') ??
        outputCap(request, 'max_tokens') ??
        expectedOutputTokens;
      const output = cap * choices(request);

      let prompt = perRequestTokens + toolsTokens(request.tools);
      for (const message of request.messages) {
        prompt += perMessageTokens;
        const content = message.content;
        if (typeof content === 'string') {
          prompt += estimateTextTokens(content);
        } else if (content !== undefined && content !== null) {
          for (const part of content) {
            if (part.type !== 'text') prompt += perImageTokens;
            else if (typeof part.text === 'string') prompt += estimateTextTokens(part.text);
          }
        }
        if (typeof message.name === 'string') prompt += estimateTextTokens(message.name);
        const toolCalls = message.tool_calls;
        if (toolCalls !== undefined) {
          for (const call of toolCalls) {
            const fn = call.function;
            if (fn !== undefined) {
              if (typeof fn.name === 'string') prompt += estimateTextTokens(fn.name);
              if (typeof fn.arguments === 'string') prompt += estimateTextTokens(fn.arguments);
            }
            const custom = call.custom;
            if (custom !== undefined) {
              if (typeof custom.name === 'string') prompt += estimateTextTokens(custom.name);
              if (typeof custom.input === 'string') prompt += estimateTextTokens(custom.input);
            }
          }
        }
      }
      return { prompt, output };
    },
  };
}

/**
 * {@link chatEstimator} with its defaults: 1024 output tokens when the request sets no cap,
 * 4 tokens per message, 3 per request, 1000 per image.
 *
 * @example
 * defaultChatEstimator.estimate({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 100 });
 * // { prompt: 8, output: 100 }
 */
export const defaultChatEstimator: TokenEstimator<ChatRequestLike> = chatEstimator();
