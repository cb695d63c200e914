import { RetryConfigurationError } from './errors.js';
import { extractFacts, isResponseLike, readResponseBody } from './internal/facts.js';
import { type HeadersLike, readHeader } from './internal/headers.js';
import { PRESETS, type PresetRule } from './internal/presets.js';
import { assertKnownKeys } from './internal/validate.js';
import { parseGoDuration, retryAfterFromHeaders } from './retry-after.js';

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

/** Whose error table applies. `generic` knows every unambiguous code and the HTTP statuses. */
export type Provider = 'dashscope' | 'openai' | 'generic';

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

const ALL_KINDS: ReadonlyArray<ErrorKind> = [
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
const PROVIDERS: ReadonlyArray<Provider> = ['dashscope', 'openai', 'generic'];

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

/** How to classify: which provider's table, and your rules before it. */
export interface ClassifierOptions {
  /** @default 'generic' */
  readonly provider?: Provider;
  readonly rules?: ReadonlyArray<ClassificationRule>;
}

/** Facts about one failure that the error itself does not carry. */
export interface ClassifyContext {
  /** The parsed (or raw text) body of a `Response`, read separately because reading is async. */
  readonly body?: unknown;
  /** A stream's body was already (partly) consumed: a transport error is then not retryable. */
  readonly bodyConsumed?: boolean;
  /** The instant HTTP-date `retry-after` values count from. @default Date.now() */
  readonly now?: number;
}

/** A configured classifier: `(errorOrResponse, context?) => Classification`. */
export type Classifier = (input: unknown, context?: ClassifyContext) => Classification;

const RULE_KEYS = ['kind', 'retryable', 'provider', 'status', 'code', 'type', 'message', 'test'];
const TRY_AGAIN_IN = /try again in ((?:\d+(?:\.\d+)?(?:ns|us|µs|μs|ms|s|m|h))+)/i;

/**
 * Builds a classifier for one provider, with your rules tried first. Rules are validated here,
 * once; a bad rule throws {@link RetryConfigurationError}.
 *
 * @example
 * const classifier = createClassifier({ provider: 'dashscope' });
 * classifier(error).kind; // 'token-rate' for a compatible-mode `insufficient_quota`
 */
export function createClassifier(options: ClassifierOptions = {}): Classifier {
  assertKnownKeys(options, ['provider', 'rules'], 'classifier');
  const provider = options.provider ?? 'generic';
  if (!PROVIDERS.includes(provider)) {
    throw new RetryConfigurationError(
      `must be one of ${PROVIDERS.join(', ')}, got ${String(provider)}`,
      'classifier.provider',
    );
  }
  const rules = compileRules(options.rules ?? [], provider);
  const table = PRESETS[provider];

  return (input, context = {}) => {
    const raw = extractFacts(input, context.body);
    const headers = raw.headers;
    const facts: ErrorFacts = {
      provider,
      status: raw.status,
      code: raw.code,
      type: raw.type,
      message: raw.message,
      network: raw.network,
      bodyConsumed: context.bodyConsumed === true,
      header: (name) => (headers === undefined ? undefined : readHeader(headers, name)),
      input,
    };

    let kind: ErrorKind = 'unknown';
    let ruleRetryable: boolean | undefined;
    const userRule = rules.find((rule) => rule.matches(facts));
    if (userRule !== undefined) {
      kind = userRule.kind;
      ruleRetryable = userRule.retryable;
    } else {
      kind = firstKind(table, facts) ?? 'unknown';
    }

    let retryable = ruleRetryable ?? shouldRetryHeader(facts) ?? isRetryable(kind);
    // Retrying a stream the caller already read from would replay output: never.
    if (facts.bodyConsumed && (kind === 'network' || kind === 'timeout')) retryable = false;

    const retryAfterMs = retryHint(facts, headers, kind, context.now ?? Date.now());
    return {
      kind,
      retryable,
      provider,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      ...(facts.status === undefined ? {} : { status: facts.status }),
      ...(facts.code === undefined ? {} : { code: facts.code }),
      ...(facts.message === undefined ? {} : { message: facts.message }),
    };
  };
}

/** Options of the one-off {@link classify} and {@link classifyResponse}. */
export interface ClassifyOptions extends ClassifierOptions, ClassifyContext {}

/**
 * Classifies an error or response: openai-node's `APIError` (status, code, type, headers),
 * a fetch `Response` (status and headers; pass `body`, or use {@link classifyResponse}), plain
 * `{ status, body, headers }` objects, and network errors (Node `ECONNRESET`, `ENOTFOUND`,
 * `ETIMEDOUT`, undici `UND_ERR_*`, `AbortError`/`TimeoutError`). Anything else is `unknown`.
 *
 * @example
 * classify(error, 'dashscope'); // { kind: 'burst', retryable: true, code: 'limit_burst_rate', … }
 */
export function classify(input: unknown, options?: Provider | ClassifyOptions): Classification {
  const { provider, rules, ...context } = normalize(options);
  return createClassifier(classifierOptions(provider, rules))(input, context);
}

/**
 * Classifies a fetch `Response`, reading its body from a clone (the original stays readable).
 *
 * @example
 * const response = await fetch(url, init);
 * if (!response.ok) console.log(await classifyResponse(response, 'openai'));
 */
export async function classifyResponse(
  response: Response,
  options?: Provider | ClassifyOptions,
): Promise<Classification> {
  const { provider, rules, body, ...context } = normalize(options);
  const read = body ?? (isResponseLike(response) ? await readResponseBody(response) : undefined);
  return createClassifier(classifierOptions(provider, rules))(response, {
    ...context,
    ...(read === undefined ? {} : { body: read }),
  });
}

/**
 * Guesses the provider from an API base URL: `dashscope.aliyuncs.com` and its regional hosts
 * (`dashscope-intl.aliyuncs.com`…) are `dashscope`, `api.openai.com` is `openai`, anything else
 * (or an unparsable URL) is `generic`. A convenience: set `provider` yourself when you know it.
 */
export function detectProvider(baseURL: string | URL): Provider {
  let host: string;
  try {
    host = new URL(baseURL).hostname.toLowerCase();
  } catch {
    return 'generic';
  }
  if (/^dashscope(?:-[a-z0-9]+)?\.aliyuncs\.com$/.test(host)) return 'dashscope';
  if (host === 'api.openai.com') return 'openai';
  return 'generic';
}

interface CompiledRule {
  readonly kind: ErrorKind;
  readonly retryable: boolean | undefined;
  matches(facts: ErrorFacts): boolean;
}

function compileRules(
  rules: ReadonlyArray<ClassificationRule>,
  provider: Provider,
): CompiledRule[] {
  if (!Array.isArray(rules))
    throw new RetryConfigurationError('must be an array', 'classifier.rules');
  return rules.map((rule: ClassificationRule, index) => {
    const path = `classifier.rules[${index}]`;
    assertKnownKeys(rule, RULE_KEYS, path);
    if (!ALL_KINDS.includes(rule.kind)) {
      throw new RetryConfigurationError(`must be one of ${ALL_KINDS.join(', ')}`, `${path}.kind`);
    }
    if (rule.retryable !== undefined && typeof rule.retryable !== 'boolean') {
      throw new RetryConfigurationError('must be a boolean', `${path}.retryable`);
    }
    const providers = list(rule.provider, `${path}.provider`, (p) => PROVIDERS.includes(p));
    const statuses = list(rule.status, `${path}.status`, (s) => Number.isInteger(s));
    const codes = list(rule.code, `${path}.code`, (c) => typeof c === 'string');
    const types = list(rule.type, `${path}.type`, (t) => typeof t === 'string');
    if (rule.message !== undefined && !(rule.message instanceof RegExp)) {
      throw new RetryConfigurationError('must be a RegExp', `${path}.message`);
    }
    if (rule.test !== undefined && typeof rule.test !== 'function') {
      throw new RetryConfigurationError('must be a function', `${path}.test`);
    }
    // A global or sticky RegExp remembers lastIndex between tests; use a stateless copy.
    const message =
      rule.message === undefined
        ? undefined
        : new RegExp(rule.message.source, rule.message.flags.replace(/[gy]/g, ''));
    const { test } = rule;
    if (
      statuses === undefined &&
      codes === undefined &&
      types === undefined &&
      message === undefined &&
      test === undefined
    ) {
      throw new RetryConfigurationError(
        'needs at least one of status, code, type, message, test',
        path,
      );
    }
    const applies = providers === undefined || providers.includes(provider);
    return {
      kind: rule.kind,
      retryable: rule.retryable,
      matches: (facts) =>
        applies &&
        (statuses === undefined ||
          (facts.status !== undefined && statuses.includes(facts.status))) &&
        (codes === undefined || (facts.code !== undefined && codes.includes(facts.code))) &&
        (types === undefined || (facts.type !== undefined && types.includes(facts.type))) &&
        (message === undefined || (facts.message !== undefined && message.test(facts.message))) &&
        (test === undefined || test(facts)),
    };
  });
}

function list<T>(
  value: T | ReadonlyArray<T> | undefined,
  option: string,
  valid: (item: T) => boolean,
): ReadonlyArray<T> | undefined {
  if (value === undefined) return undefined;
  const items: ReadonlyArray<T> = Array.isArray(value) ? value : [value as T];
  if (items.length === 0 || !items.every(valid)) {
    throw new RetryConfigurationError('has an invalid value', option);
  }
  return items;
}

function firstKind(table: ReadonlyArray<PresetRule>, facts: ErrorFacts): ErrorKind | undefined {
  for (const rule of table) {
    const kind = rule(facts);
    if (kind !== undefined) return kind;
  }
  return undefined;
}

/** openai-node obeys `x-should-retry: true|false` from the server; so do we. */
function shouldRetryHeader(facts: ErrorFacts): boolean | undefined {
  const value = facts.header('x-should-retry')?.trim().toLowerCase();
  if (value === 'true') return true;
  if (value === 'false') return false;
  return undefined;
}

function retryHint(
  facts: ErrorFacts,
  headers: HeadersLike | undefined,
  kind: ErrorKind,
  now: number,
): number | undefined {
  const fromHeaders = retryAfterFromHeaders(headers, { now });
  if (fromHeaders !== undefined) return fromHeaders;
  const inMessage = facts.message === undefined ? undefined : TRY_AGAIN_IN.exec(facts.message);
  const fromMessage = parseGoDuration(inMessage?.[1]?.toLowerCase());
  if (fromMessage !== undefined) return fromMessage;
  // The reset headers come on every OpenAI response; they mean "wait" only for the window hit.
  if (kind === 'request-rate') return retryAfterFromHeaders(headers, { now, window: 'requests' });
  if (kind === 'token-rate') return retryAfterFromHeaders(headers, { now, window: 'tokens' });
  return undefined;
}

function normalize(options: Provider | ClassifyOptions | undefined): ClassifyOptions {
  if (options === undefined) return {};
  if (typeof options === 'string') return { provider: options };
  return options;
}

function classifierOptions(
  provider: Provider | undefined,
  rules: ReadonlyArray<ClassificationRule> | undefined,
): ClassifierOptions {
  return {
    ...(provider === undefined ? {} : { provider }),
    ...(rules === undefined ? {} : { rules }),
  };
}
