import type { ErrorFacts, ErrorKind, Provider } from '../classification.js';

/** One row of a provider's table: the kind, or `undefined` when the row does not apply. */
export type PresetRule = (facts: ErrorFacts) => ErrorKind | undefined;

const hasCode = (facts: ErrorFacts, ...codes: ReadonlyArray<string>) =>
  facts.code !== undefined && codes.includes(facts.code);
const messageMatches = (facts: ErrorFacts, pattern: RegExp) =>
  facts.message !== undefined && pattern.test(facts.message);

// --- rows shared by every provider -------------------------------------------------------

/** No HTTP answer at all: the connection broke, DNS failed, or a timeout fired. */
const transport: PresetRule = (facts) => (facts.status === undefined ? facts.network : undefined);

/** What the HTTP status alone says, once no provider code matched. */
const byStatus: PresetRule = ({ status }) => {
  if (status === undefined) return undefined;
  if (status === 401 || status === 403) return 'auth';
  if (status === 408) return 'timeout';
  // A conflict (openai-node retries 409 "lock timeout") clears on its own, like a 5xx.
  if (status === 409) return 'server';
  if (status === 429) return 'request-rate';
  if (status >= 500) return 'server';
  if (status >= 400) return 'bad-request';
  return undefined;
};

// --- DashScope (providers.md; compatible mode uses the lowercase codes) --------------------

const FREE_QUOTA_EXCEEDED = /free allocated quota exceeded/i;
const BURST_MESSAGE = /request rate increased too quickly/i;
const DASHSCOPE_INPUT_TOO_LONG = /range of input length should be/i;
const DASHSCOPE_BILLING = [
  'CommodityNotPurchased',
  'PrepaidBillOverdue',
  'PostpaidBillOverdue',
  'Arrearage',
];

/** The free tier is used up: same codes as a TPM throttle, told apart by the documented text. */
const dashscopeFreeQuota: PresetRule = (facts) =>
  messageMatches(facts, FREE_QUOTA_EXCEEDED) ||
  (facts.code !== undefined && /^AllocationQuota(\.|$)/.test(facts.code))
    ? 'quota-exhausted'
    : undefined;

const dashscopeBilling: PresetRule = (facts) =>
  hasCode(facts, ...DASHSCOPE_BILLING) ? 'quota-exhausted' : undefined;

const dashscopeRequestRate: PresetRule = (facts) =>
  hasCode(facts, 'Throttling.RateQuota', 'limit_requests') ? 'request-rate' : undefined;

const dashscopeBurst: PresetRule = (facts) =>
  hasCode(facts, 'Throttling.BurstRate', 'limit_burst_rate') || messageMatches(facts, BURST_MESSAGE)
    ? 'burst'
    : undefined;

const dashscopeAllocation: PresetRule = (facts) =>
  hasCode(facts, 'Throttling.AllocationQuota') ? 'token-rate' : undefined;

/** `insufficient_quota` is DashScope's compatible-mode TPM throttle (not billing, as on OpenAI). */
const dashscopeInsufficientQuota: PresetRule = (facts) =>
  hasCode(facts, 'insufficient_quota') ? 'token-rate' : undefined;

/** Plain `Throttling` and any other `Throttling.*` code: a throttle of unknown unit. */
const dashscopeThrottling: PresetRule = (facts) =>
  facts.code === 'Throttling' || facts.code?.startsWith('Throttling.') === true
    ? 'request-rate'
    : undefined;

const dashscopeCapacity: PresetRule = (facts) =>
  hasCode(facts, 'ModelServingError') ? 'server' : undefined;

const dashscopeAuth: PresetRule = (facts) => (hasCode(facts, 'InvalidApiKey') ? 'auth' : undefined);

const dashscopeContextLength: PresetRule = (facts) =>
  messageMatches(facts, DASHSCOPE_INPUT_TOO_LONG) ? 'context-length' : undefined;

// --- OpenAI -------------------------------------------------------------------------------

const TOKENS_MESSAGE = /\btokens per (?:min|minute|day)\b|\((?:TPM|TPD)\)/i;
const REQUESTS_MESSAGE =
  /\brequests per (?:min|minute|day)\b|\((?:RPM|RPD)\)|rate limit reached for requests/i;
const MAXIMUM_CONTEXT = /maximum context length/i;

/** `insufficient_quota` on OpenAI is an exhausted balance: retrying cannot help. */
const openaiBilling: PresetRule = (facts) =>
  hasCode(facts, 'insufficient_quota', 'billing_hard_limit_reached') ||
  facts.type === 'insufficient_quota'
    ? 'quota-exhausted'
    : undefined;

/**
 * `rate_limit_exceeded` (or any other 429) on requests or on tokens: by the body's `type`
 * (`requests`/`tokens`), then the documented message ("… on tokens per min (TPM)…"), then by
 * which `x-ratelimit-remaining-*` header is 0. Unknown → request-rate.
 */
const openaiRateLimit: PresetRule = (facts) => {
  if (!hasCode(facts, 'rate_limit_exceeded') && facts.status !== 429) return undefined;
  if (facts.type === 'tokens') return 'token-rate';
  if (facts.type === 'requests') return 'request-rate';
  if (messageMatches(facts, TOKENS_MESSAGE)) return 'token-rate';
  if (messageMatches(facts, REQUESTS_MESSAGE)) return 'request-rate';
  if (facts.header('x-ratelimit-remaining-tokens')?.trim() === '0') return 'token-rate';
  return 'request-rate';
};

const openaiContextLength: PresetRule = (facts) =>
  hasCode(facts, 'context_length_exceeded') ||
  (facts.status === 400 && messageMatches(facts, MAXIMUM_CONTEXT))
    ? 'context-length'
    : undefined;

const openaiAuth: PresetRule = (facts) =>
  hasCode(facts, 'invalid_api_key', 'invalid_organization') ? 'auth' : undefined;

// --- the presets --------------------------------------------------------------------------

/** Rows in order; the first that applies wins. */
export const PRESETS: Readonly<Record<Provider, ReadonlyArray<PresetRule>>> = {
  dashscope: [
    transport,
    dashscopeFreeQuota,
    dashscopeBilling,
    dashscopeRequestRate,
    dashscopeBurst,
    dashscopeAllocation,
    dashscopeInsufficientQuota,
    dashscopeThrottling,
    dashscopeCapacity,
    dashscopeAuth,
    openaiContextLength,
    dashscopeContextLength,
    byStatus,
  ],
  openai: [transport, openaiBilling, openaiRateLimit, openaiContextLength, openaiAuth, byStatus],
  // Every row whose meaning does not depend on the provider, plus OpenAI's reading of the one
  // ambiguous code: `insufficient_quota` is treated as billing (not retried) unless the
  // provider is known to be DashScope.
  generic: [
    transport,
    dashscopeFreeQuota,
    dashscopeBilling,
    dashscopeRequestRate,
    dashscopeBurst,
    dashscopeAllocation,
    dashscopeThrottling,
    dashscopeCapacity,
    dashscopeAuth,
    openaiBilling,
    openaiRateLimit,
    openaiContextLength,
    dashscopeContextLength,
    openaiAuth,
    byStatus,
  ],
};
