/**
 * What went wrong, in terms of what to do about it:
 *
 * | kind | what a pipeline does |
 * |---|---|
 * | `request-rate` | pause the quota until the request window frees, retry |
 * | `token-rate` | pause the quota until tokens free, retry |
 * | `burst` | lower the pace for a while, retry |
 * | `quota-exhausted` | do not retry this account/model: rotate or fall back |
 * | `auth` | do not retry; the key is bad |
 * | `context-length` | do not retry; a larger-context model may help |
 * | `bad-request` | do not retry |
 * | `server` | retry with backoff |
 * | `timeout` / `network` | retry with backoff, unless a streamed body was already consumed |
 * | `unknown` | do not retry (a bug in the caller's code is not a transient failure) |
 */
export type ErrorKind =
  | 'request-rate'
  | 'token-rate'
  | 'burst'
  | 'quota-exhausted'
  | 'auth'
  | 'context-length'
  | 'bad-request'
  | 'server'
  | 'timeout'
  | 'network'
  | 'unknown';

/** The providers whose error tables Tollgate knows, in the order the docs list them. */
export const PROVIDERS = ['dashscope', 'openai', 'generic'] as const;

/** Whose error table applies. `generic` knows every unambiguous code and the HTTP statuses. */
export type Provider = (typeof PROVIDERS)[number];

/** The verdict on one error or response. */
export interface Classification {
  readonly kind: ErrorKind;
  /** Whether another attempt can succeed (the kind's default, a rule's or `x-should-retry`). */
  readonly retryable: boolean;
  /** How long the provider asked to wait (headers, or "try again in 6s" in the body). */
  readonly retryAfterMs?: number;
  /** The table that was applied. */
  readonly provider: Provider;
  readonly status?: number;
  /** The provider's error code, e.g. `Throttling.RateQuota` or `rate_limit_exceeded`. */
  readonly code?: string;
  readonly message?: string;
}

/** Every kind, for validating rules. */
export const ERROR_KINDS: ReadonlyArray<ErrorKind> = [
  'request-rate',
  'token-rate',
  'burst',
  'quota-exhausted',
  'auth',
  'context-length',
  'bad-request',
  'server',
  'timeout',
  'network',
  'unknown',
];
const RETRYABLE_KINDS: ReadonlySet<ErrorKind> = new Set<ErrorKind>([
  'request-rate',
  'token-rate',
  'burst',
  'server',
  'timeout',
  'network',
]);

/** Whether errors of this kind are worth another attempt by default. */
export function isRetryable(kind: ErrorKind): boolean {
  return RETRYABLE_KINDS.has(kind);
}

/** What rules see: the facts read from an error or response, whatever its shape. */
export interface ErrorFacts {
  readonly provider: Provider;
  readonly status: number | undefined;
  /** The provider's code: `error.code` of the body (or DashScope's top-level `code`). */
  readonly code: string | undefined;
  /** The body's `error.type`; OpenAI says `requests` or `tokens` on rate limits. */
  readonly type: string | undefined;
  /** The body's `error.message` (the error's own `message` only when it carries a status). */
  readonly message: string | undefined;
  /** Set when no HTTP answer came: the connection failed (`network`) or timed out. */
  readonly network: 'network' | 'timeout' | undefined;
  /** True when the attempt had already handed part of a streamed body to the caller. */
  readonly bodyConsumed: boolean;
  /** A response header, case-insensitive. */
  header(name: string): string | undefined;
  /** The value that was classified. */
  readonly input: unknown;
}

/**
 * A rule of your own, tried before the provider's table. Every matcher given must match; give
 * at least one. `message` is tested against the structured message only, never `String(error)`.
 *
 * @example
 * // A gateway in front of the model answers 529 when overloaded.
 * const rule: ClassificationRule = { status: 529, kind: 'server' };
 */
export interface ClassificationRule {
  readonly kind: ErrorKind;
  /** Overrides the kind's default (and `x-should-retry`). */
  readonly retryable?: boolean;
  /** Apply only under these providers' tables. */
  readonly provider?: Provider | ReadonlyArray<Provider>;
  readonly status?: number | ReadonlyArray<number>;
  readonly code?: string | ReadonlyArray<string>;
  readonly type?: string | ReadonlyArray<string>;
  readonly message?: RegExp;
  readonly test?: (facts: ErrorFacts) => boolean;
}

/**
 * How to classify: which provider's table and your rules before it (fixed when a classifier
 * is built), and what the error itself does not carry (given per call).
 */
export interface ClassifyOptions {
  /** @default 'generic' */
  readonly provider?: Provider;
  readonly rules?: ReadonlyArray<ClassificationRule>;
  /** The parsed (or raw text) body of a `Response`, read separately because reading is async. */
  readonly body?: unknown;
  /** A stream's body was already (partly) consumed: a transport error is then not retryable. */
  readonly bodyConsumed?: boolean;
  /** The instant HTTP-date `retry-after` values count from. @default Date.now() */
  readonly now?: number;
}

/** A configured classifier: `(errorOrResponse, context?) => Classification`. */
export type Classifier = (
  input: unknown,
  context?: Pick<ClassifyOptions, 'body' | 'bodyConsumed' | 'now'>,
) => Classification;
