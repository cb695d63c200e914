/**
 * The number in environment variable `name`, or `fallback` when it is unset or empty. It must
 * be > 0 (and whole, with `integer`): every example's knobs are counts, scales and durations.
 */
export function envNumber(name: string, fallback: number, integer = false): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  const valid = Number.isFinite(value) && value > 0 && (!integer || Number.isInteger(value));
  if (!valid)
    throw new Error(`${name} must be ${integer ? 'an integer' : 'a number'} > 0, got ${raw}`);
  return value;
}
