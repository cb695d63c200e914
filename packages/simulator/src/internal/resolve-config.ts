import type {
  AccountConfig,
  AccountingMode,
  BurstGuardConfig,
  ModelConfig,
  SimulatorConfig,
  SimulatorMode,
} from '../config.js';
import { SimulatorConfigError } from '../errors.js';
import { presets } from '../presets.js';
import type { WindowSpec } from './sliding-window.js';

export interface ResolvedModel {
  readonly id: string;
  /** In check order: rpm, rps, burst, tpm, tps (those that apply). */
  readonly windows: ReadonlyArray<WindowSpec>;
  readonly contextWindow: number;
  readonly maxOutputTokens: number;
  readonly defaultMaxTokens: number;
}

export interface ResolvedAccount {
  readonly id: string;
  readonly keys: ReadonlyArray<string>;
  readonly freeTokens: number | undefined;
}

export interface ResolvedConfig {
  readonly port: number;
  readonly host: string;
  readonly mode: SimulatorMode;
  readonly models: ReadonlyMap<string, ResolvedModel>;
  readonly accounts: ReadonlyArray<ResolvedAccount>;
  readonly accountByKey: ReadonlyMap<string, ResolvedAccount>;
  readonly accounting: AccountingMode;
  readonly countRejected: boolean;
  readonly timeScale: number;
  readonly latency: { readonly base: number; readonly perOutputToken: number };
  readonly handshakeDelayMs: number;
  readonly completion: { readonly minRatio: number; readonly maxRatio: number };
  readonly organization: string;
}

export const DEFAULT_API_KEY = 'sk-tollgate-demo';
const MINUTE = 60_000;
const SECOND = 1000;

const CONFIG_KEYS = [
  'port',
  'host',
  'mode',
  'models',
  'accounts',
  'accounting',
  'countRejected',
  'timeScale',
  'latencyMs',
  'handshakeDelayMs',
  'completion',
  'organization',
];
const MODEL_KEYS = [
  'rpm',
  'tpm',
  'rps',
  'tps',
  'burst',
  'contextWindow',
  'maxOutputTokens',
  'defaultMaxTokens',
];
const ACCOUNT_KEYS = ['id', 'keys', 'freeTokens'];
const BURST_KEYS = ['windowMs', 'limit'];
const LATENCY_KEYS = ['base', 'perOutputToken'];
const COMPLETION_KEYS = ['minRatio', 'maxRatio'];

/** Validates a config once, at start, and fills in every default. */
export function resolveConfig(input: SimulatorConfig | undefined): ResolvedConfig {
  const config = record(input ?? {}, 'config');
  knownKeys(config, CONFIG_KEYS, 'config');

  const port = optional(config.port, 'port', 0, (value, path) => {
    const port = integer(value, path, 0);
    if (port > 65_535) throw new SimulatorConfigError(path, `must be at most 65535, got ${port}`);
    return port;
  });
  const host = optional(config.host, 'host', '127.0.0.1', nonEmptyString);
  const mode = optional(config.mode, 'mode', 'dashscope', (value, path) =>
    oneOf(value, path, ['dashscope', 'openai'] as const),
  );
  const accounting = optional(config.accounting, 'accounting', 'reserved', (value, path) =>
    oneOf(value, path, ['reserved', 'actual'] as const),
  );
  const countRejected = optional(config.countRejected, 'countRejected', true, boolean);
  const timeScale = optional(config.timeScale, 'timeScale', 1, positive);
  const organization = optional(
    config.organization,
    'organization',
    'org-tollgate-simulator',
    nonEmptyString,
  );

  const latencyInput = optional<Record<string, unknown>, Record<string, unknown>>(
    config.latencyMs,
    'latencyMs',
    {},
    record,
  );
  knownKeys(latencyInput, LATENCY_KEYS, 'latencyMs');
  const latency = {
    base: optional(latencyInput.base, 'latencyMs.base', 400, nonNegative),
    perOutputToken: optional(
      latencyInput.perOutputToken,
      'latencyMs.perOutputToken',
      0,
      nonNegative,
    ),
  };

  const handshakeDelayMs = optional(config.handshakeDelayMs, 'handshakeDelayMs', 0, nonNegative);

  const completionInput = optional<Record<string, unknown>, Record<string, unknown>>(
    config.completion,
    'completion',
    {},
    record,
  );
  knownKeys(completionInput, COMPLETION_KEYS, 'completion');
  const ratio = (value: unknown, path: string) => {
    const ratio = nonNegative(value, path);
    if (ratio > 1) throw new SimulatorConfigError(path, `must be between 0 and 1, got ${ratio}`);
    return ratio;
  };
  const completion = {
    minRatio: optional(completionInput.minRatio, 'completion.minRatio', 0.3, ratio),
    maxRatio: optional(completionInput.maxRatio, 'completion.maxRatio', 1, ratio),
  };
  if (completion.minRatio > completion.maxRatio) {
    throw new SimulatorConfigError(
      'completion.minRatio',
      `must not exceed completion.maxRatio (${completion.minRatio} > ${completion.maxRatio})`,
    );
  }

  const modelsInput = optional(
    config.models,
    'models',
    presets.qwen3Max.models as Record<string, unknown>,
    record,
  );
  const models = new Map<string, ResolvedModel>();
  for (const [id, model] of Object.entries(modelsInput)) {
    if (id === '') throw new SimulatorConfigError('models', 'has a model with an empty name');
    models.set(id, resolveModel(id, model, `models.${id}`));
  }
  if (models.size === 0) throw new SimulatorConfigError('models', 'must name at least one model');

  const accountsInput = optional(
    config.accounts,
    'accounts',
    [{ id: 'demo', keys: [DEFAULT_API_KEY] }],
    (value, path) => {
      if (!Array.isArray(value)) throw new SimulatorConfigError(path, 'must be an array');
      return value as unknown[];
    },
  );
  if (accountsInput.length === 0) {
    throw new SimulatorConfigError('accounts', 'must list at least one account');
  }
  const accounts = accountsInput.map((account, index) =>
    resolveAccount(account, `accounts[${index}]`),
  );
  const accountByKey = new Map<string, ResolvedAccount>();
  const ids = new Set<string>();
  accounts.forEach((account, index) => {
    if (ids.has(account.id)) {
      throw new SimulatorConfigError(`accounts[${index}].id`, `duplicates "${account.id}"`);
    }
    ids.add(account.id);
    account.keys.forEach((key, keyIndex) => {
      if (accountByKey.has(key)) {
        throw new SimulatorConfigError(
          `accounts[${index}].keys[${keyIndex}]`,
          'is already a key of another account (or listed twice)',
        );
      }
      accountByKey.set(key, account);
    });
  });

  return {
    port,
    host,
    mode,
    models,
    accounts,
    accountByKey,
    accounting,
    countRejected,
    timeScale,
    latency,
    handshakeDelayMs,
    completion,
    organization,
  };
}

function resolveModel(id: string, input: unknown, path: string): ResolvedModel {
  const model = record(input, path) as Partial<Record<keyof ModelConfig, unknown>>;
  knownKeys(model, MODEL_KEYS, path);
  const rpm = optional(model.rpm, `${path}.rpm`, undefined, positive);
  const tpm = optional(model.tpm, `${path}.tpm`, undefined, positive);
  const rps = optional(
    model.rps,
    `${path}.rps`,
    rpm === undefined ? false : rpm / 60,
    positiveOrFalse,
  );
  const tps = optional(
    model.tps,
    `${path}.tps`,
    tpm === undefined ? false : tpm / 60,
    positiveOrFalse,
  );
  const perSecondRate = rps !== false ? rps : rpm === undefined ? undefined : rpm / 60;

  let burst: { windowMs: number; limit: number } | false = false;
  const burstInput = model.burst;
  if (burstInput !== false) {
    const given =
      burstInput === undefined
        ? undefined
        : (record(burstInput, `${path}.burst`) as Partial<Record<keyof BurstGuardConfig, unknown>>);
    if (given !== undefined) knownKeys(given, BURST_KEYS, `${path}.burst`);
    const windowMs = optional(given?.windowMs, `${path}.burst.windowMs`, 250, positive);
    const limit = optional(given?.limit, `${path}.burst.limit`, undefined, (value, at) =>
      integer(value, at, 1),
    );
    if (limit !== undefined) burst = { windowMs, limit };
    else if (perSecondRate !== undefined) {
      burst = { windowMs, limit: defaultBurstLimit(perSecondRate, windowMs) };
    } else if (given !== undefined) {
      throw new SimulatorConfigError(
        `${path}.burst.limit`,
        'is required when the model has neither rpm nor rps',
      );
    }
  }

  const contextWindow = optional(model.contextWindow, `${path}.contextWindow`, 131_072, (v, at) =>
    integer(v, at, 1),
  );
  const maxOutputTokens = optional(
    model.maxOutputTokens,
    `${path}.maxOutputTokens`,
    Math.min(16_384, contextWindow),
    (value, at) => integer(value, at, 1),
  );
  if (maxOutputTokens > contextWindow) {
    throw new SimulatorConfigError(
      `${path}.maxOutputTokens`,
      `must not exceed contextWindow (${maxOutputTokens} > ${contextWindow})`,
    );
  }
  const defaultMaxTokens = optional(
    model.defaultMaxTokens,
    `${path}.defaultMaxTokens`,
    Math.min(4096, maxOutputTokens),
    (value, at) => integer(value, at, 1),
  );
  if (defaultMaxTokens > maxOutputTokens) {
    throw new SimulatorConfigError(
      `${path}.defaultMaxTokens`,
      `must not exceed maxOutputTokens (${defaultMaxTokens} > ${maxOutputTokens})`,
    );
  }

  const windows: WindowSpec[] = [];
  if (rpm !== undefined) windows.push(window('rpm', 'requests', rpm, MINUTE));
  if (rps !== false) windows.push(window('rps', 'requests', rps, SECOND));
  if (burst !== false) windows.push(window('burst', 'requests', burst.limit, burst.windowMs));
  if (tpm !== undefined) windows.push(window('tpm', 'tokens', tpm, MINUTE));
  if (tps !== false) windows.push(window('tps', 'tokens', tps, SECOND));
  return { id, windows, contextWindow, maxOutputTokens, defaultMaxTokens };
}

/**
 * The burst guard's default: a surge above 1.6× the per-second rate within a quarter second
 * (`rate × 0.25 × 1.6` requests per 250 ms, rounded up, at least 2), scaled to other spans.
 */
export function defaultBurstLimit(perSecondRate: number, windowMs = 250): number {
  const surge = (perSecondRate * 1.6 * windowMs) / SECOND;
  return Math.max(2, Math.ceil(surge - 1e-9));
}

/** A limit below one unit per window (30 RPM → 0.5 RPS) becomes one unit per longer window. */
function window(
  name: WindowSpec['name'],
  unit: WindowSpec['unit'],
  limit: number,
  windowMs: number,
): WindowSpec {
  return limit >= 1
    ? { name, unit, limit, windowMs }
    : { name, unit, limit: 1, windowMs: windowMs / limit };
}

function resolveAccount(input: unknown, path: string): ResolvedAccount {
  const account = record(input, path) as Partial<Record<keyof AccountConfig, unknown>>;
  knownKeys(account, ACCOUNT_KEYS, path);
  const id = nonEmptyString(account.id, `${path}.id`);
  if (!Array.isArray(account.keys) || account.keys.length === 0) {
    throw new SimulatorConfigError(`${path}.keys`, 'must be a non-empty array of API keys');
  }
  const keys = account.keys.map((key: unknown, index) => {
    const value = nonEmptyString(key, `${path}.keys[${index}]`);
    if (/\s/.test(value)) {
      throw new SimulatorConfigError(`${path}.keys[${index}]`, 'must not contain whitespace');
    }
    return value;
  });
  const freeTokens = optional(account.freeTokens, `${path}.freeTokens`, undefined, (value, at) =>
    integer(value, at, 0),
  );
  return { id, keys, freeTokens };
}

// --- checks ----------------------------------------------------------------------------------

function optional<T, D>(
  value: unknown,
  path: string,
  fallback: D,
  check: (value: unknown, path: string) => T,
): T | D {
  return value === undefined ? fallback : check(value, path);
}

function record(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SimulatorConfigError(path, `must be an object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

function knownKeys(value: object, allowed: ReadonlyArray<string>, path: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new SimulatorConfigError(
        path === 'config' ? key : `${path}.${key}`,
        `is not an option (known: ${allowed.join(', ')})`,
      );
    }
  }
}

function number(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new SimulatorConfigError(path, `must be a finite number, got ${describe(value)}`);
  }
  return value;
}

function positive(value: unknown, path: string): number {
  const result = number(value, path);
  if (!(result > 0)) throw new SimulatorConfigError(path, `must be > 0, got ${result}`);
  return result;
}

function nonNegative(value: unknown, path: string): number {
  const result = number(value, path);
  if (!(result >= 0)) throw new SimulatorConfigError(path, `must be >= 0, got ${result}`);
  return result;
}

function positiveOrFalse(value: unknown, path: string): number | false {
  return value === false ? false : positive(value, path);
}

function integer(value: unknown, path: string, min: number): number {
  const result = number(value, path);
  if (!Number.isInteger(result) || result < min) {
    throw new SimulatorConfigError(path, `must be an integer >= ${min}, got ${result}`);
  }
  return result;
}

function boolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') {
    throw new SimulatorConfigError(path, `must be true or false, got ${describe(value)}`);
  }
  return value;
}

function nonEmptyString(value: unknown, path: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new SimulatorConfigError(path, `must be a non-empty string, got ${describe(value)}`);
  }
  return value;
}

function oneOf<const T extends string>(value: unknown, path: string, options: ReadonlyArray<T>): T {
  if (typeof value !== 'string' || !(options as ReadonlyArray<string>).includes(value)) {
    throw new SimulatorConfigError(
      path,
      `must be one of ${options.map((option) => `'${option}'`).join(', ')}, got ${describe(value)}`,
    );
  }
  return value as T;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : String(value);
}
