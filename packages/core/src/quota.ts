import { ConfigurationError } from './errors.js';
import { checkNumber, checkOneOf, checkOptions } from './validate.js';

/** What a window counts: admitted requests, or the tokens booked by admitted requests. */
export type WindowUnit = 'requests' | 'tokens';

/** One sliding window: at no instant may the last `windowMs` hold more than `limit`. */
export interface WindowDefinition {
  readonly unit: WindowUnit;
  readonly limit: number;
  readonly windowMs: number;
}

/** A validated window with a readable name such as `tokens/1m`. */
export interface QuotaWindow extends WindowDefinition {
  readonly name: string;
}

/**
 * What settlement books in the windows (see the README's "Accounting"):
 *
 * - `reserved` — a request costs what was reserved at admission (prompt estimate plus the
 *   maximum output), as OpenAI documents for its limiter. The reported usage only teaches the
 *   limiter the estimator's bias on prompts. The safe default.
 * - `actual` — settlement replaces the reservation by the reported usage, refunding (or
 *   charging) the difference at the instant the request was admitted.
 */
export type AccountingMode = 'reserved' | 'actual';

/** A quota as users write it: shorthands, extra windows, or both. */
export interface QuotaDefinition {
  /** Requests per minute. */
  readonly rpm?: number;
  /** Tokens per minute. */
  readonly tpm?: number;
  /** Requests per second. */
  readonly rps?: number;
  /** Tokens per second. */
  readonly tps?: number;
  /** Any other windows: a 10-second window, an hourly or daily budget… */
  readonly windows?: ReadonlyArray<WindowDefinition>;
  /** @default 'reserved' */
  readonly accounting?: AccountingMode;
}

/** A validated, immutable quota. Build one with {@link defineQuota}. */
export interface Quota {
  /** Sorted by unit, then by length, shortest first. */
  readonly windows: ReadonlyArray<QuotaWindow>;
  readonly accounting: AccountingMode;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const QUOTA_KEYS = ['rpm', 'tpm', 'rps', 'tps', 'windows', 'accounting'] as const;
const WINDOW_KEYS = ['unit', 'limit', 'windowMs'] as const;

/**
 * Validates a quota definition and returns an immutable {@link Quota}. Throws
 * {@link ConfigurationError} naming the offending option on zero, negative, non-finite or
 * fractional request limits, unknown keys, and duplicate windows.
 *
 * @example
 * // qwen3-max on Model Studio: 600 RPM, 1,000,000 TPM, applied per second as well
 * const quota = defineQuota({ rpm: 600, tpm: 1_000_000, rps: 10, tps: 16_667 });
 */
export function defineQuota(definition: QuotaDefinition): Quota {
  if (typeof definition === 'object' && definition !== null && isQuota(definition)) {
    return definition;
  }
  checkOptions(definition, 'quota', QUOTA_KEYS);

  const validated: QuotaWindow[] = [];
  const shorthand = (key: 'rpm' | 'tpm' | 'rps' | 'tps', unit: WindowUnit, windowMs: number) => {
    const limit = definition[key];
    if (limit !== undefined)
      validated.push(validateWindow({ unit, limit, windowMs }, `quota.${key}`));
  };
  shorthand('rpm', 'requests', MINUTE);
  shorthand('tpm', 'tokens', MINUTE);
  shorthand('rps', 'requests', SECOND);
  shorthand('tps', 'tokens', SECOND);

  const extra = definition.windows ?? [];
  if (!Array.isArray(extra)) throw new ConfigurationError('must be an array', 'quota.windows');
  extra.forEach((window: WindowDefinition, index) => {
    const path = `quota.windows[${index}]`;
    checkOptions(window, path, WINDOW_KEYS);
    validated.push(validateWindow(window, path, `${path}.limit`));
  });
  if (validated.length === 0) {
    throw new ConfigurationError(
      'needs at least one window (rpm, tpm, rps, tps or windows)',
      'quota',
    );
  }
  validated.sort((a, b) => a.unit.localeCompare(b.unit) || a.windowMs - b.windowMs);
  for (let i = 1; i < validated.length; i++) {
    const [previous, current] = [validated[i - 1]!, validated[i]!];
    if (previous.name === current.name) {
      throw new ConfigurationError(`duplicate window ${current.name}`, 'quota');
    }
  }

  const accounting = checkOneOf(definition.accounting ?? 'reserved', 'quota.accounting', [
    'reserved',
    'actual',
  ]);
  const quota: Quota = { windows: Object.freeze(validated), accounting };
  validQuotas.add(quota);
  return Object.freeze(quota);
}

const validQuotas = new WeakSet<object>();
const isQuota = (value: object): value is Quota => validQuotas.has(value);

function validateWindow(window: WindowDefinition, path: string, limitPath = path): QuotaWindow {
  const unit = checkOneOf(window.unit, `${path}.unit`, ['requests', 'tokens']);
  const limit = checkNumber(window.limit, limitPath, { above: 0, integer: unit === 'requests' });
  const windowMs = checkNumber(window.windowMs, `${path}.windowMs`, { above: 0, integer: true });
  return Object.freeze({ unit, limit, windowMs, name: `${unit}/${formatDuration(windowMs)}` });
}

/** `1000` → `1s`, `60000` → `1m`, `86400000` → `1d`, `1500` → `1500ms`. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', MINUTE],
    ['s', SECOND],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
