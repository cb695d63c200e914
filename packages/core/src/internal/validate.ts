/** Throws `ErrorClass(message, path)` when `value` has a key outside `known`. */
export function assertKnownKeys(
  value: object,
  known: ReadonlyArray<string>,
  path: string,
  ErrorClass: new (message: string, path: string) => Error,
): void {
  for (const key in value) {
    if (!known.includes(key)) {
      throw new ErrorClass(
        `unknown option '${key}' (known: ${known.join(', ')})`,
        `${path}.${key}`,
      );
    }
  }
}

/** True for a finite number >= 0. */
export const isNonNegativeFinite = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0;
