/**
 * The checks every Tollgate package validates its options and arguments with, so that every
 * package reports a bad value in one format — `<path>: must be <what>, got <value>` — with a
 * typed error naming the option or argument. For authors of stores and layers; applications
 * never need it.
 *
 * Each check returns the value, narrowed, or throws `new error(problem, path)`: a
 * {@link ConfigurationError} by default (options, at construction); pass
 * {@link InvalidArgumentError} for arguments of a call.
 *
 * @example
 * const options = checkOptions(input, 'RedisStore', ['client', 'prefix']);
 * const timeoutMs = checkNumber(options.commandTimeoutMs ?? 1000, 'RedisStore.commandTimeoutMs', { above: 0 });
 */
import type { Clock } from './clock.js';
import { ConfigurationError, type InvalidArgumentError } from './errors.js';
import type { Store } from './store.js';

/** The error a failed check throws. */
export type CheckError = typeof ConfigurationError | typeof InvalidArgumentError;

/** What a number must be. Bounds are inclusive (`min`, `max`) or exclusive (`above`, `below`). */
export interface NumberRange {
  readonly min?: number;
  readonly above?: number;
  readonly max?: number;
  readonly below?: number;
  readonly integer?: boolean;
  /** `Infinity` is allowed besides the range ("no limit"). */
  readonly infinity?: boolean;
}

/** `must be <expected>, got <value>`: the one wording of a value that has the wrong form. */
export function mustBe(expected: string, value: unknown): string {
  return `must be ${expected}, got ${describe(value)}`;
}

/** A plain object whose keys are all in `known`; `<path>.<key>: unknown option` otherwise. */
export function checkOptions(
  value: unknown,
  path: string,
  known: ReadonlyArray<string>,
  error: CheckError = ConfigurationError,
): Readonly<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new error(mustBe('an object', value), path);
  }
  for (const key in value) {
    if (!known.includes(key)) {
      throw new error(`unknown option (known: ${known.join(', ')})`, `${path}.${key}`);
    }
  }
  return value as Readonly<Record<string, unknown>>;
}

/** A number within `range`: finite, unless `range.infinity` allows `Infinity` too. */
export function checkNumber(
  value: unknown,
  path: string,
  range: NumberRange = {},
  error: CheckError = ConfigurationError,
): number {
  const ok =
    typeof value === 'number' &&
    ((range.infinity === true && value === Number.POSITIVE_INFINITY) ||
      (Number.isFinite(value) &&
        (range.integer !== true || Number.isInteger(value)) &&
        (range.min === undefined || value >= range.min) &&
        (range.above === undefined || value > range.above) &&
        (range.max === undefined || value <= range.max) &&
        (range.below === undefined || value < range.below)));
  if (!ok) throw new error(mustBe(describeRange(range), value), path);
  return value;
}

/** A function. */
export function checkFunction<F>(
  value: F,
  path: string,
  error: CheckError = ConfigurationError,
): F {
  if (typeof value !== 'function') throw new error(mustBe('a function', value), path);
  return value;
}

/** One of `allowed`. */
export function checkOneOf<T extends string>(
  value: unknown,
  path: string,
  allowed: ReadonlyArray<T>,
  error: CheckError = ConfigurationError,
): T {
  if (!allowed.includes(value as T)) {
    throw new error(mustBe(`one of ${allowed.map((v) => `'${v}'`).join(', ')}`, value), path);
  }
  return value as T;
}

/** A check of one form: `(value, path, error?) => value`, throwing `must be <expected>`. */
const check =
  <T>(test: (value: unknown) => boolean, expected: string) =>
  (value: unknown, path: string, error: CheckError = ConfigurationError): T => {
    if (!test(value)) throw new error(mustBe(expected, value), path);
    return value as T;
  };

/** `true` or `false`. */
export const checkBoolean = check<boolean>((value) => typeof value === 'boolean', 'a boolean');

/** A non-empty string. */
export const checkName = check<string>(
  (value) => typeof value === 'string' && value !== '',
  'a non-empty string',
);

/** Something that behaves like an `AbortSignal` (from any realm). */
export const checkSignal = check<AbortSignal>(
  (value) =>
    hasMethods(value, ['addEventListener', 'removeEventListener']) &&
    typeof (value as { aborted?: unknown }).aborted === 'boolean',
  'an AbortSignal',
);

/** A {@link Clock}: `now`, `setTimeout` and `clearTimeout`, and a `now()` that is a finite number. */
export function checkClock(
  value: unknown,
  path: string,
  error: CheckError = ConfigurationError,
): Clock {
  if (!hasMethods(value, ['now', 'setTimeout', 'clearTimeout'])) {
    throw new error(mustBe('a Clock ({ now, setTimeout, clearTimeout })', value), path);
  }
  const clock = value as Clock;
  checkNumber(clock.now(), `${path}.now()`, {}, error);
  return clock;
}

/** What a {@link Store} must have; typed so that a method added to `Store` is added here too. */
const STORE_METHODS = Object.keys({
  admit: true,
  rebook: true,
  release: true,
  restamp: true,
  pause: true,
  throttle: true,
  widen: true,
  snapshot: true,
} satisfies Record<keyof Store, true>);

/** A {@link Store}: an object with every Store method; the message names those missing. */
export function checkStore(
  value: unknown,
  path: string,
  error: CheckError = ConfigurationError,
): Store {
  return checkMethods<Store>(
    value,
    path,
    `a Store (${STORE_METHODS.join(', ')})`,
    STORE_METHODS,
    error,
  );
}

/**
 * An object with every one of `methods` (an interface implemented by the user: a store, a
 * budget); the message says what was `expected` and names the methods missing.
 */
export function checkMethods<T>(
  value: unknown,
  path: string,
  expected: string,
  methods: ReadonlyArray<string>,
  error: CheckError = ConfigurationError,
): T {
  if (typeof value !== 'object' || value === null) throw new error(mustBe(expected, value), path);
  const missing = methods.filter(
    (name) => typeof (value as Record<string, unknown>)[name] !== 'function',
  );
  if (missing.length > 0) {
    throw new error(`must be ${expected}, got an object without ${missing.join(', ')}`, path);
  }
  return value as T;
}

/** A limiter (an object with `acquire` and `heed`), or a function choosing one per call. */
export function checkLimiter<T>(value: T, path: string): T {
  if (typeof value !== 'function' && !hasMethods(value, ['acquire', 'heed'])) {
    throw new ConfigurationError(mustBe('a Limiter or a function of the context', value), path);
  }
  return value;
}

const hasMethods = (value: unknown, names: ReadonlyArray<string>): boolean =>
  typeof value === 'object' &&
  value !== null &&
  names.every((name) => typeof (value as Record<string, unknown>)[name] === 'function');

function describeRange({ min, above, max, below, integer, infinity }: NumberRange): string {
  const kind = integer === true ? 'an integer' : 'a finite number';
  const low = above !== undefined ? `(${above}` : min !== undefined ? `[${min}` : undefined;
  const high = below !== undefined ? `${below})` : max !== undefined ? `${max}]` : undefined;
  let text = kind;
  if (low !== undefined && high !== undefined) text = `${kind} in ${low}, ${high}`;
  else if (above !== undefined) text = `${kind} > ${above}`;
  else if (min !== undefined) text = `${kind} >= ${min}`;
  else if (below !== undefined) text = `${kind} < ${below}`;
  else if (max !== undefined) text = `${kind} <= ${max}`;
  return infinity === true ? `${text} or Infinity` : text;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}
