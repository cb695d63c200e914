/**
 * Error codes of a fetch that failed before any byte of the request could reach the
 * provider: no address, no route, connection refused or never established. Anything else
 * (a reset, a timeout after connecting, an abort) may have been counted by the provider.
 */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_NONAME',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_INVALID_URL',
]);

const MAX_DEPTH = 6;

/**
 * True when the error proves the request never left: a code above anywhere along the `cause`
 * chain (undici puts it on `cause`), or on every error of an `AggregateError` (Node's
 * happy-eyeballs connect tries each address and fails with all of them).
 */
export function neverSent(error: unknown, depth = 0): boolean {
  if (depth > MAX_DEPTH || typeof error !== 'object' || error === null) return false;
  const record = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof record.code === 'string' && NOT_SENT_CODES.has(record.code)) return true;
  if (Array.isArray(record.errors) && record.errors.length > 0) {
    if (record.errors.every((inner) => neverSent(inner, depth + 1))) return true;
  }
  return neverSent(record.cause, depth + 1);
}
