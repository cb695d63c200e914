import { RetryConfigurationError } from '../errors.js';

/** Throws unless `options` is a plain object whose keys are all in `known`. */
export function assertKnownKeys(
  options: unknown,
  known: ReadonlyArray<string>,
  path: string,
): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new RetryConfigurationError('must be an object', path);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new RetryConfigurationError(
        `unknown option (expected one of ${known.join(', ')})`,
        `${path}.${key}`,
      );
    }
  }
}

/** Returns `value` if it is a finite number, else throws naming `option`. */
export function assertNumber(value: unknown, option: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new RetryConfigurationError(`must be a finite number, got ${describe(value)}`, option);
  }
  return value;
}

/** Returns `value` if it is a number > 0, `Infinity` included, else throws naming `option`. */
export function assertPositiveOrInfinity(value: unknown, option: string): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value <= 0) {
    throw new RetryConfigurationError(
      `must be a number greater than 0, got ${describe(value)}`,
      option,
    );
  }
  return value;
}

/** Returns `value` if it is a function, else throws naming `option`. */
export function assertFunction<F>(value: F, option: string): F {
  if (typeof value !== 'function') {
    throw new RetryConfigurationError(`must be a function, got ${describe(value)}`, option);
  }
  return value;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null)
    return String(value);
  return typeof value;
}
