import { ConfigurationError, InvalidArgumentError } from '@tollgate/core';
import {
  type CheckError,
  checkBoolean,
  checkFunction,
  checkNumber,
  checkOneOf,
  checkOptions,
  mustBe,
} from '@tollgate/core/validate';
import {
  type Classification,
  type ClassificationRule,
  type Classifier,
  type ClassifyOptions,
  ERROR_KINDS,
  type ErrorFacts,
  type ErrorKind,
  isRetryable,
  PROVIDERS,
  type Provider,
} from './classification.js';
import { parseGoDuration, retryAfterFromHeaders } from './headers.js';
import { extractFacts, isResponseLike, readResponseBody } from './internal/facts.js';
import { PRESETS, type PresetRule } from './internal/presets.js';
import { type HeadersLike, readHeader } from './internal/read-header.js';

const RULE_KEYS = ['kind', 'retryable', 'provider', 'status', 'code', 'type', 'message', 'test'];
const CONTEXT_KEYS = ['body', 'bodyConsumed', 'now'];
const TRY_AGAIN_IN = /try again in ((?:\d+(?:\.\d+)?(?:ns|us|µs|μs|ms|s|m|h))+)/i;

/**
 * Builds a classifier for one provider, with your rules tried first. Rules are validated here,
 * once; a bad rule throws core's `ConfigurationError`.
 *
 * @example
 * const classifier = createClassifier({ provider: 'dashscope' });
 * classifier(error).kind; // 'token-rate' for a compatible-mode `insufficient_quota`
 */
export function createClassifier(
  options: Pick<ClassifyOptions, 'provider' | 'rules'> = {},
): Classifier {
  checkOptions(options, 'classifier', ['provider', 'rules']);
  return buildClassifier(options, 'classifier');
}

/**
 * The classifier of `options` (checked: `provider` and `rules`), its faults reported under
 * `path` as `error`: a `ConfigurationError` for a classifier or policy being built, an
 * `InvalidArgumentError` for `classify()`'s options.
 */
export function buildClassifier(
  options: {
    readonly provider?: Provider | undefined;
    readonly rules?: ReadonlyArray<ClassificationRule> | undefined;
  },
  path: string,
  error: CheckError = ConfigurationError,
): Classifier {
  const provider = checkOneOf(options.provider ?? 'generic', `${path}.provider`, PROVIDERS, error);
  const rules = compileRules(options.rules ?? [], provider, `${path}.rules`, error);
  const table = PRESETS[provider];

  return (input, context = {}) => {
    checkContext(context, 'context', CONTEXT_KEYS);
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

/**
 * The `classifier` option of a policy or feedback, or one built from its `provider` and
 * `rules` (faults named under `path`): never both.
 */
export function classifierOption(
  options: {
    readonly provider?: Provider | undefined;
    readonly rules?: ReadonlyArray<ClassificationRule> | undefined;
    readonly classifier?: Classifier | undefined;
  },
  path: string,
): Classifier {
  if (options.classifier === undefined) return buildClassifier(options, path);
  if (options.provider !== undefined || options.rules !== undefined) {
    throw new ConfigurationError(
      'give either a classifier or provider/rules, not both',
      `${path}.classifier`,
    );
  }
  return checkFunction(options.classifier, `${path}.classifier`);
}

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
  const { provider, rules, ...context } = normalize(options, 'classify');
  return buildClassifier({ provider, rules }, 'classify', InvalidArgumentError)(input, context);
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
  const { provider, rules, body, ...context } = normalize(options, 'classifyResponse');
  const classifier = buildClassifier({ provider, rules }, 'classifyResponse', InvalidArgumentError);
  const read = body ?? (isResponseLike(response) ? await readResponseBody(response) : undefined);
  return classifier(response, {
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
  if (typeof baseURL !== 'string' && !(baseURL instanceof URL)) {
    throw new InvalidArgumentError(mustBe('a string or a URL', baseURL), 'baseURL');
  }
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
  rulesPath: string,
  error: CheckError,
): CompiledRule[] {
  if (!Array.isArray(rules)) throw new error(mustBe('an array', rules), rulesPath);
  return rules.map((rule: ClassificationRule, index) => {
    const path = `${rulesPath}[${index}]`;
    checkOptions(rule, path, RULE_KEYS, error);
    checkOneOf(rule.kind, `${path}.kind`, ERROR_KINDS, error);
    if (rule.retryable !== undefined) checkBoolean(rule.retryable, `${path}.retryable`, error);
    const list = <T>(
      value: T | ReadonlyArray<T> | undefined,
      name: string,
      valid: (item: T) => boolean,
    ) => listOf(value, `${path}.${name}`, valid, error);
    const providers = list(rule.provider, 'provider', (p) => PROVIDERS.includes(p));
    const statuses = list(rule.status, 'status', (s) => Number.isInteger(s));
    const codes = list(rule.code, 'code', (c) => typeof c === 'string');
    const types = list(rule.type, 'type', (t) => typeof t === 'string');
    if (rule.message !== undefined && !(rule.message instanceof RegExp)) {
      throw new error(mustBe('a RegExp', rule.message), `${path}.message`);
    }
    if (rule.test !== undefined) checkFunction(rule.test, `${path}.test`, error);
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
      throw new error('needs at least one of status, code, type, message, test', path);
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

function listOf<T>(
  value: T | ReadonlyArray<T> | undefined,
  option: string,
  valid: (item: T) => boolean,
  error: CheckError,
): ReadonlyArray<T> | undefined {
  if (value === undefined) return undefined;
  const items: ReadonlyArray<T> = Array.isArray(value) ? value : [value as T];
  if (items.length === 0 || !items.every(valid)) {
    throw new error(mustBe('a non-empty list of valid values', value), option);
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

/** `classify()`'s second argument as options: a provider's name stands for `{ provider }`. */
function normalize(options: Provider | ClassifyOptions | undefined, path: string): ClassifyOptions {
  if (options === undefined) return {};
  if (typeof options === 'string') return { provider: options };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidArgumentError(mustBe('a provider or classify options', options), path);
  }
  checkContext(options, path, ['provider', 'rules', ...CONTEXT_KEYS]);
  return options;
}

/** A call's context: only `known` keys, `bodyConsumed` a boolean, `now` a finite number. */
function checkContext(
  context: Pick<ClassifyOptions, 'bodyConsumed' | 'now'>,
  path: string,
  known: ReadonlyArray<string>,
): void {
  checkOptions(context, path, known, InvalidArgumentError);
  if (context.bodyConsumed !== undefined) {
    checkBoolean(context.bodyConsumed, `${path}.bodyConsumed`, InvalidArgumentError);
  }
  if (context.now !== undefined) checkNumber(context.now, `${path}.now`, {}, InvalidArgumentError);
}
