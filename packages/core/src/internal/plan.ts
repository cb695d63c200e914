import { ConfigurationError } from '../errors.js';
import type { Quota, QuotaWindow } from '../quota.js';
import type { MarginWidening, StorePlan, StoreWindow } from '../store.js';
import { checkBoolean, checkNumber, checkOptions, mustBe } from '../validate.js';

/** Windows up to this length are paced; longer ones (hourly, daily budgets) are not. */
const PACED_WINDOW_MAX_MS = 60_000;
const DEFAULT_MARGIN_MS = 10;
const DEFAULT_WIDENING: MarginWidening = { stepMs: 20, maxMs: 500, decayMs: 60_000 };
const DEFAULT_LOOKAHEAD = 64;
const DEFAULT_MAX_DELAY_MS = 5000;

/** The limiter's `margin` option. */
export interface Margin {
  readonly ms?: number;
  readonly ratio?: number;
  readonly widen?: Partial<MarginWidening> | false;
}

/**
 * How the margin widens after a refusal the windows did not expect (`heed({ widenMargin })`);
 * `undefined` when `margin.widen` is `false`.
 */
export function parseWidening(margin: Margin): MarginWidening | undefined {
  const value = margin.widen;
  if (value === false) return undefined;
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw new ConfigurationError(
      mustBe('false or { stepMs, maxMs, decayMs }', value),
      'Limiter.margin.widen',
    );
  }
  const checked = checkOptions(value ?? {}, 'Limiter.margin.widen', ['stepMs', 'maxMs', 'decayMs']);
  const stepMs = checkNumber(
    checked.stepMs ?? DEFAULT_WIDENING.stepMs,
    'Limiter.margin.widen.stepMs',
    { above: 0 },
  );
  const decayMs = checkNumber(
    checked.decayMs ?? DEFAULT_WIDENING.decayMs,
    'Limiter.margin.widen.decayMs',
    { above: 0 },
  );
  // a widening that decays faster than time passes would book later admissions earlier
  const maxMs = checkNumber(
    checked.maxMs ?? Math.min(DEFAULT_WIDENING.maxMs, decayMs),
    'Limiter.margin.widen.maxMs',
    { above: 0, max: decayMs },
  );
  return { stepMs, maxMs, decayMs };
}

/** The limiter's `packing` option. */
export type Packing = boolean | { readonly lookahead?: number; readonly maxDelayMs?: number };

/**
 * The plan a store enforces for a quota: every window with the margin applied (`ms` lengthens
 * it, `ratio` lowers its limit), and the windows that pace their unit marked.
 */
export function buildPlan(quota: Quota, margin: Margin, pacing: boolean): StorePlan {
  const checked = checkOptions(margin, 'Limiter.margin', ['ms', 'ratio', 'widen']);
  const ms = checkNumber(checked.ms ?? DEFAULT_MARGIN_MS, 'Limiter.margin.ms', { min: 0 });
  const ratio = checkNumber(checked.ratio ?? 0, 'Limiter.margin.ratio', { min: 0, below: 1 });
  checkBoolean(pacing, 'Limiter.pacing');
  const pacedWindows = slowestPerUnit(quota.windows);
  const windows = quota.windows.map((window): StoreWindow => {
    const scaled = window.limit * (1 - ratio);
    const limit = window.unit === 'requests' ? Math.floor(scaled) : scaled;
    if (limit < 1) {
      throw new ConfigurationError(`leaves ${window.name} a limit below 1`, 'Limiter.margin.ratio');
    }
    return {
      name: window.name,
      unit: window.unit,
      limit,
      windowMs: window.windowMs + ms,
      paced: pacing && pacedWindows.has(window),
    };
  });
  const id = windows
    .map((w) => `${w.name}:${w.limit}/${w.windowMs}${w.paced ? 'p' : ''}`)
    .join(',');
  return { id, windows };
}

/**
 * Per unit, the window of a minute or less with the lowest average rate — the shortest of those
 * within 1% of it, since a short window gives its pace back sooner (600 RPM and 10 RPS pace on
 * the second; 1,000,000 TPM and 16,667 TPS too). Pacing at that rate keeps every such window
 * at its average rate or below; one paced window per unit is enough. Longer windows (hourly,
 * daily budgets) are enforced but not paced.
 */
function slowestPerUnit(windows: ReadonlyArray<QuotaWindow>): ReadonlySet<QuotaWindow> {
  const paced = new Set<QuotaWindow>();
  const rate = (window: QuotaWindow) => window.limit / window.windowMs;
  for (const unit of ['requests', 'tokens'] as const) {
    const candidates = windows.filter((w) => w.unit === unit && w.windowMs <= PACED_WINDOW_MAX_MS);
    if (candidates.length === 0) continue;
    const lowest = Math.min(...candidates.map(rate));
    // windows are sorted shortest first
    paced.add(candidates.find((window) => rate(window) <= lowest * 1.01)!);
  }
  return paced;
}

/** How many waiters one decision considers, and how long backfilling may delay the head. */
export function parsePacking(packing: Packing): { lookahead: number; maxDelayMs: number } {
  if (packing === true) return { lookahead: DEFAULT_LOOKAHEAD, maxDelayMs: DEFAULT_MAX_DELAY_MS };
  if (packing === false) return { lookahead: 1, maxDelayMs: 0 };
  if (typeof packing !== 'object' || packing === null) {
    throw new ConfigurationError(
      mustBe('a boolean or { lookahead, maxDelayMs }', packing),
      'Limiter.packing',
    );
  }
  const checked = checkOptions(packing, 'Limiter.packing', ['lookahead', 'maxDelayMs']);
  return {
    lookahead: checkNumber(checked.lookahead ?? DEFAULT_LOOKAHEAD, 'Limiter.packing.lookahead', {
      min: 1,
      integer: true,
    }),
    maxDelayMs: checkNumber(
      checked.maxDelayMs ?? DEFAULT_MAX_DELAY_MS,
      'Limiter.packing.maxDelayMs',
      { min: 0 },
    ),
  };
}
