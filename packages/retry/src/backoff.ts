/**
 * `@tollgate/retry/backoff`: the schedules a policy waits on when the server gives no hint.
 * `exponentialFullJitter()` is the default; any `(retry, previousMs) => number` is a backoff.
 */
import { ConfigurationError, InvalidArgumentError } from '@tollgate/core';
import { checkFunction, checkNumber, checkOptions } from '@tollgate/core/validate';

/**
 * A backoff schedule: the delay in milliseconds before retry number `retry` (1 before the
 * second attempt, 2 before the third…). `previousMs` is the delay this schedule returned for
 * the previous retry (`undefined` before the first); only decorrelated jitter uses it.
 *
 * Server hints (`retry-after` and friends) replace the schedule for the retry they come with.
 */
export type Backoff = (retry: number, previousMs: number | undefined) => number;

/** Options shared by the exponential strategies. */
export interface ExponentialBackoffOptions {
  /** The first retry's ceiling. @default 500 (openai-node's base) */
  readonly baseMs?: number;
  /** Growth per retry; 1 makes the ceiling constant. @default 2 */
  readonly factor?: number;
  /**
   * No delay exceeds this. Lower it for interactive calls; raise it when the provider's
   * windows are long and no limiter holds retries back. @default 30_000
   */
  readonly capMs?: number;
  /** A source of uniform numbers in [0, 1). Inject one for deterministic tests. @default Math.random */
  readonly random?: () => number;
}

const EXPONENTIAL_KEYS = ['baseMs', 'factor', 'capMs', 'random'];

/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"),
 * the default: spreads a crowd of retries evenly over the whole interval, so callers refused at
 * the same instant do not come back at the same instant.
 *
 * `delay = random() × min(capMs, baseMs × factor^(retry − 1))`, within [0, ceiling).
 *
 * @example
 * const backoff = exponentialFullJitter({ baseMs: 1000, capMs: 20_000 });
 */
export function exponentialFullJitter(options: ExponentialBackoffOptions = {}): Backoff {
  const { baseMs, factor, capMs, random } = exponentialOptions(options, 'exponentialFullJitter');
  return (retry) => random() * ceiling(baseMs, factor, capMs, retry);
}

/**
 * Exponential backoff with equal jitter: keeps at least half of the exponential delay, so a
 * retry never comes back almost at once, and jitters the other half.
 *
 * `t = min(capMs, baseMs × factor^(retry − 1))`; `delay = t/2 + random() × t/2`, within [t/2, t).
 */
export function equalJitter(options: ExponentialBackoffOptions = {}): Backoff {
  const { baseMs, factor, capMs, random } = exponentialOptions(options, 'equalJitter');
  return (retry) => {
    const half = ceiling(baseMs, factor, capMs, retry) / 2;
    return half + random() * half;
  };
}

/** Options of {@link decorrelatedJitter}. */
export interface DecorrelatedJitterOptions {
  /** The smallest delay, and the first retry's. @default 500 */
  readonly baseMs?: number;
  /** No delay exceeds this. @default 30_000 */
  readonly capMs?: number;
  /** A source of uniform numbers in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/**
 * Decorrelated jitter (AWS): each delay is drawn between `baseMs` and three times the previous
 * one, so delays grow on average without a fixed exponent and callers drift apart.
 *
 * `delay = min(capMs, baseMs + random() × (3 × previous − baseMs))`, `previous` starting at
 * `baseMs`; within [baseMs, min(capMs, 3 × previous)).
 */
export function decorrelatedJitter(options: DecorrelatedJitterOptions = {}): Backoff {
  checkOptions(options, 'decorrelatedJitter', ['baseMs', 'capMs', 'random']);
  const baseMs = positive(options.baseMs, 500, 'decorrelatedJitter.baseMs');
  const capMs = positive(options.capMs, 30_000, 'decorrelatedJitter.capMs');
  if (capMs < baseMs) {
    throw new ConfigurationError('must be at least baseMs', 'decorrelatedJitter.capMs');
  }
  const random = randomSource(options.random, 'decorrelatedJitter.random');
  return (_retry, previousMs) => {
    const previous = Math.max(previousMs ?? baseMs, baseMs);
    return Math.min(capMs, baseMs + random() * (3 * previous - baseMs));
  };
}

/** Options of {@link linear}. */
export interface LinearBackoffOptions {
  /** The first retry's delay. @default 500 */
  readonly baseMs?: number;
  /** Added per retry. @default baseMs */
  readonly stepMs?: number;
  /** No delay exceeds this. @default 30_000 */
  readonly capMs?: number;
}

/**
 * A delay growing by a fixed step: `delay = min(capMs, baseMs + stepMs × (retry − 1))`.
 * Gentler than exponential when failures are expected to clear steadily.
 */
export function linear(options: LinearBackoffOptions = {}): Backoff {
  checkOptions(options, 'linear', ['baseMs', 'stepMs', 'capMs']);
  const baseMs = nonNegative(options.baseMs, 500, 'linear.baseMs');
  const stepMs = nonNegative(options.stepMs, baseMs, 'linear.stepMs');
  const capMs = nonNegative(options.capMs, 30_000, 'linear.capMs');
  if (capMs < baseMs) throw new ConfigurationError('must be at least baseMs', 'linear.capMs');
  return (retry) => Math.min(capMs, baseMs + stepMs * (retry - 1));
}

function ceiling(baseMs: number, factor: number, capMs: number, retry: number): number {
  return Math.min(capMs, baseMs * factor ** (retry - 1));
}

function exponentialOptions(options: ExponentialBackoffOptions, name: string) {
  checkOptions(options, name, EXPONENTIAL_KEYS);
  const baseMs = positive(options.baseMs, 500, `${name}.baseMs`);
  const capMs = positive(options.capMs, 30_000, `${name}.capMs`);
  if (capMs < baseMs) throw new ConfigurationError('must be at least baseMs', `${name}.capMs`);
  const factor = checkNumber(options.factor ?? 2, `${name}.factor`, { min: 1 });
  const random = randomSource(options.random, `${name}.random`);
  return { baseMs, factor, capMs, random };
}

function positive(value: number | undefined, fallback: number, option: string): number {
  return checkNumber(value ?? fallback, option, { above: 0 });
}

function nonNegative(value: number | undefined, fallback: number, option: string): number {
  return checkNumber(value ?? fallback, option, { min: 0 });
}

/** `random`, each draw checked to be in [0, 1): a draw outside would stretch the delay past its range. */
function randomSource(random: (() => number) | undefined, option: string): () => number {
  if (random === undefined) return Math.random;
  checkFunction(random, option);
  return () => checkNumber(random(), `${option}()`, { min: 0, below: 1 }, InvalidArgumentError);
}
