/**
 * Provider quota presets: the limits a provider documents for a model, as a
 * {@link QuotaDefinition} with the windows and the accounting mode that provider enforces —
 * including the per-second windows a bare `{ rpm, tpm }` forgets.
 *
 * Every figure was read from the provider's own documentation, cited on each function; the
 * provider changes them, and a raised quota is yours alone. For a model that is not listed,
 * or figures of your own, give them to {@link dashscopeQuota} or {@link openaiQuota}.
 *
 * @example
 * import { Limiter } from '@tollgate/core';
 * import { dashscope, openai } from '@tollgate/core/presets';
 *
 * const qwen = new Limiter({ quota: dashscope('qwen3-max') }); // 600 RPM, 10 RPS, 1M TPM, 16,667 TPS
 * const gpt = new Limiter({ quota: openai('gpt-4o', { tier: 1 }) }); // 500 RPM, 30,000 TPM
 */

import { ConfigurationError } from './errors.js';
import type { QuotaDefinition, WindowDefinition } from './quota.js';
import { checkNumber, checkOneOf, checkOptions, mustBe } from './validate.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;

/** Per-minute limits to build a provider's quota from. */
export interface PerMinuteLimits {
  /** Requests per minute: a positive integer. */
  readonly rpm: number;
  /** Tokens per minute. */
  readonly tpm: number;
}

/** OpenAI's per-minute limits and, for some tiers, a daily request cap. */
export interface OpenAILimits extends PerMinuteLimits {
  /** Requests per day, where your tier has one. */
  readonly rpd?: number;
}

/**
 * Model Studio's rate-limit tables, by deployment mode and model. Read on 2026-12-02 from the
 * page's version of 2026-02-24. Only rows that give both figures are here; a model whose row
 * was missing or ambiguous in a deployment's table is left out of that deployment.
 */
const DASHSCOPE_LIMITS = {
  international: {
    'qwen3-max': { rpm: 600, tpm: 1_000_000 },
    'qwen3-max-2026-01-23': { rpm: 600, tpm: 1_000_000 },
    'qwen3-max-2025-09-23': { rpm: 60, tpm: 100_000 },
    'qwen3-max-preview': { rpm: 600, tpm: 1_000_000 },
    'qwen-flash': { rpm: 600, tpm: 5_000_000 },
    'qwen3-coder-plus': { rpm: 2_400, tpm: 2_000_000 },
    'qwen3-coder-flash': { rpm: 600, tpm: 5_000_000 },
  },
  global: {
    'qwen3-max': { rpm: 600, tpm: 1_000_000 },
    'qwen3-max-2025-09-23': { rpm: 60, tpm: 100_000 },
    'qwen3-max-preview': { rpm: 600, tpm: 1_000_000 },
    'qwen-plus': { rpm: 15_000, tpm: 5_000_000 },
    'qwen-flash': { rpm: 15_000, tpm: 10_000_000 },
    'qwen3-coder-plus': { rpm: 2_400, tpm: 2_000_000 },
  },
  mainland: {
    'qwen3-max': { rpm: 30_000, tpm: 5_000_000 },
    'qwen3-max-2026-01-23': { rpm: 600, tpm: 1_000_000 },
    'qwen3-max-2025-09-23': { rpm: 60, tpm: 100_000 },
    'qwen3-max-preview': { rpm: 600, tpm: 1_000_000 },
    'qwen-plus': { rpm: 30_000, tpm: 5_000_000 },
    'qwen-flash': { rpm: 30_000, tpm: 10_000_000 },
    'qwen-turbo': { rpm: 1_200, tpm: 5_000_000 },
    'qwen3-coder-plus': { rpm: 5_000, tpm: 5_000_000 },
    'qwen3-coder-flash': { rpm: 5_000, tpm: 5_000_000 },
  },
} as const satisfies Record<string, Record<string, PerMinuteLimits>>;

/**
 * Where Model Studio serves the model, which sets its default limits:
 *
 * - `international` — endpoint in Singapore, inference anywhere outside the Chinese mainland.
 * - `global` — endpoint in the US (Virginia), inference scheduled worldwide.
 * - `mainland` — endpoint in China (Beijing), inference in the Chinese mainland.
 */
export type DashScopeDeployment = keyof typeof DASHSCOPE_LIMITS;

/** The models {@link dashscope} knows in a deployment mode. */
export type DashScopeModel<D extends DashScopeDeployment = 'international'> =
  keyof (typeof DASHSCOPE_LIMITS)[D];

export interface DashScopeOptions<D extends DashScopeDeployment = DashScopeDeployment> {
  /** @default 'international' */
  readonly deployment?: D;
}

/**
 * A model's default quota on Alibaba Cloud Model Studio (DashScope), per account: its RPM and
 * TPM, and the per-second windows Model Studio also enforces — RPS = RPM/60 and
 * TPS = TPM/60 (see {@link dashscopeQuota}). The burst guard ("Request rate increased too
 * quickly") is undocumented and has no window: the limiter's pacing (on by default) keeps
 * under it. Accounting is `reserved`: Model Studio does not document when it counts tokens,
 * and the admission-time cost is the safe reading.
 *
 * Source: https://help.aliyun.com/zh/model-studio/rate-limit, the page's version of
 * 2026-02-24, read 2026-12-02 (English edition:
 * https://www.alibabacloud.com/help/en/model-studio/rate-limit).
 *
 * @throws ConfigurationError for a model or deployment it does not know, naming the known ones.
 *
 * @example
 * dashscope('qwen3-max'); // { rpm: 600, tpm: 1_000_000, rps: 10, tps: 1_000_000 / 60, accounting: 'reserved' }
 * dashscope('qwen3-max', { deployment: 'mainland' }); // 30,000 RPM, 5,000,000 TPM
 */
export function dashscope<D extends DashScopeDeployment = 'international'>(
  model: DashScopeModel<D>,
  options: DashScopeOptions<D> = {},
): QuotaDefinition {
  checkOptions(options, 'dashscope.options', ['deployment']);
  const deployment = checkOneOf(
    options.deployment ?? 'international',
    'dashscope.options.deployment',
    Object.keys(DASHSCOPE_LIMITS) as DashScopeDeployment[],
  );
  const models: Readonly<Record<string, PerMinuteLimits>> = DASHSCOPE_LIMITS[deployment];
  return dashscopeQuota(models[checkOneOf(model, 'dashscope.model', Object.keys(models))]!);
}

/**
 * Model Studio's rules applied to your own figures — for a model {@link dashscope} does not
 * list, or a quota raised for your account: RPM and TPM, applied per second as well.
 * TPS is TPM/60. RPS is RPM/60 rounded down, as requests are whole (5,000 RPM: 83 per
 * second); below 60 RPM it becomes one request per `60 s / RPM` (30 RPM: one per 2 s).
 *
 * @example
 * dashscopeQuota({ rpm: 1_200, tpm: 5_000_000 }); // rps: 20, tps: 83_333.33
 */
export function dashscopeQuota(limits: PerMinuteLimits): QuotaDefinition {
  const { rpm, tpm } = checkPerMinute(limits, 'dashscopeQuota');
  const tps = tpm / 60;
  if (rpm >= 60) return { rpm, tpm, rps: Math.floor(rpm / 60), tps, accounting: 'reserved' };
  const slowRequests: WindowDefinition = {
    unit: 'requests',
    limit: 1,
    windowMs: Math.ceil(MINUTE / rpm),
  };
  return { rpm, tpm, tps, windows: [slowRequests], accounting: 'reserved' };
}

/** OpenAI's usage tiers 1 to 5 (the model pages list no free-tier limits). */
export type OpenAITier = 1 | 2 | 3 | 4 | 5;

/** Limits per tier, Tier 1 first. */
type TierTable = readonly [OpenAILimits, OpenAILimits, OpenAILimits, OpenAILimits, OpenAILimits];

/** The standard (not long-context) limits of each model page, read 2026-12-02. */
const OPENAI_LIMITS = {
  'gpt-4o': [
    { rpm: 500, tpm: 30_000 },
    { rpm: 5_000, tpm: 450_000 },
    { rpm: 5_000, tpm: 800_000 },
    { rpm: 10_000, tpm: 2_000_000 },
    { rpm: 10_000, tpm: 30_000_000 },
  ],
  'gpt-4o-mini': [
    { rpm: 500, tpm: 200_000, rpd: 10_000 },
    { rpm: 5_000, tpm: 2_000_000 },
    { rpm: 5_000, tpm: 4_000_000 },
    { rpm: 10_000, tpm: 10_000_000 },
    { rpm: 30_000, tpm: 150_000_000 },
  ],
  'gpt-4.1': [
    { rpm: 500, tpm: 30_000 },
    { rpm: 5_000, tpm: 450_000 },
    { rpm: 5_000, tpm: 800_000 },
    { rpm: 10_000, tpm: 2_000_000 },
    { rpm: 10_000, tpm: 30_000_000 },
  ],
  'gpt-4.1-mini': [
    { rpm: 500, tpm: 200_000, rpd: 10_000 },
    { rpm: 5_000, tpm: 2_000_000 },
    { rpm: 5_000, tpm: 4_000_000 },
    { rpm: 10_000, tpm: 10_000_000 },
    { rpm: 30_000, tpm: 150_000_000 },
  ],
  'o4-mini': [
    { rpm: 1_000, tpm: 100_000 },
    { rpm: 2_000, tpm: 2_000_000 },
    { rpm: 5_000, tpm: 4_000_000 },
    { rpm: 10_000, tpm: 10_000_000 },
    { rpm: 30_000, tpm: 150_000_000 },
  ],
} as const satisfies Record<string, TierTable>;

/** The models {@link openai} knows. */
export type OpenAIModel = keyof typeof OPENAI_LIMITS;

const OPENAI_MODELS = Object.keys(OPENAI_LIMITS) as OpenAIModel[];
const OPENAI_TIERS: ReadonlyArray<OpenAITier> = [1, 2, 3, 4, 5];

export interface OpenAIOptions {
  /** Your organization's usage tier (Settings → Limits). No default: tiers differ up to 1,000×. */
  readonly tier: OpenAITier;
}

/**
 * A model's standard limits on the OpenAI API for a usage tier, per organization: RPM, TPM
 * and, where the tier lists one, RPD (a 24-hour window). OpenAI documents per-minute limits
 * and warns that they "may be enforced over shorter intervals"; it documents no per-second
 * figure, so there is no per-second window: the limiter's pacing (on by default) spreads
 * admissions at the per-minute rate (500 RPM: one request every 120 ms), the rate a shorter
 * interval would hold them to. Accounting is `reserved`, OpenAI's documented rule (a
 * request costs its prompt estimate plus `max_tokens`). Long-context requests of gpt-4.1 and
 * gpt-4.1-mini (more than 128k input tokens) have separate limits, not covered here.
 *
 * Sources: https://developers.openai.com/api/docs/models/gpt-4o (and `/gpt-4o-mini`,
 * `/gpt-4.1`, `/gpt-4.1-mini`, `/o4-mini`), the "Rate limits" table of each, read 2026-12-02
 * (gpt-4o and gpt-4o-mini as published on 2026-09-24); rules:
 * https://platform.openai.com/docs/guides/rate-limits.
 *
 * @throws ConfigurationError for a model or tier it does not know, naming the known ones.
 *
 * @example
 * openai('gpt-4o', { tier: 1 }); // { rpm: 500, tpm: 30_000, accounting: 'reserved' }
 * openai('gpt-4o-mini', { tier: 1 }); // 500 RPM, 200,000 TPM, 10,000 requests a day
 */
export function openai(model: OpenAIModel, options: OpenAIOptions): QuotaDefinition {
  const tiers: TierTable = OPENAI_LIMITS[checkOneOf(model, 'openai.model', OPENAI_MODELS)];
  const { tier } = checkOptions(options, 'openai.options', ['tier']);
  if (!OPENAI_TIERS.includes(tier as OpenAITier)) {
    throw new ConfigurationError(
      mustBe(`one of ${OPENAI_TIERS.join(', ')}`, tier),
      'openai.options.tier',
    );
  }
  return openaiQuota(tiers[(tier as OpenAITier) - 1]!);
}

/**
 * OpenAI's rules applied to your own figures — for a model {@link openai} does not list, or
 * the limits your organization's Limits page shows: RPM, TPM, an optional RPD as a 24-hour
 * window, `reserved` accounting, no per-second windows.
 *
 * @example
 * openaiQuota({ rpm: 500, tpm: 30_000 });
 */
export function openaiQuota(limits: OpenAILimits): QuotaDefinition {
  const { rpm, tpm } = checkPerMinute(limits, 'openaiQuota', ['rpd']);
  if (limits.rpd === undefined) return { rpm, tpm, accounting: 'reserved' };
  const rpd = checkNumber(limits.rpd, 'openaiQuota.rpd', { above: 0, integer: true });
  const daily: WindowDefinition = { unit: 'requests', limit: rpd, windowMs: DAY };
  return { rpm, tpm, windows: [daily], accounting: 'reserved' };
}

function checkPerMinute(
  limits: PerMinuteLimits,
  path: string,
  extra: ReadonlyArray<string> = [],
): PerMinuteLimits {
  checkOptions(limits, path, ['rpm', 'tpm', ...extra]);
  return {
    rpm: checkNumber(limits.rpm, `${path}.rpm`, { above: 0, integer: true }),
    tpm: checkNumber(limits.tpm, `${path}.tpm`, { above: 0 }),
  };
}
