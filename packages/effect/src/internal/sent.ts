// Mirrors `@tollgate/core/src/internal/sent.ts`, which core does not export: keep them in step.
/**
 * Error codes of a call that failed before any byte of its request could reach the provider:
 * no address, no route, connection refused or never established. Anything else (a reset, a
 * timeout after connecting, an abort, an error of unknown origin) may have been counted.
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
 * Whether a failed call may have reached the provider: true unless the error proves it never
 * left — one of the codes above anywhere along the `cause` chain (undici and openai-node put
 * it on `cause`), or on every error of an `AggregateError` (Node's happy-eyeballs connect
 * tries each address and fails with all of them).
 */
export function mayHaveBeenSent(error: unknown): boolean {
  return !provesNotSent(error, 0);
}

function provesNotSent(error: unknown, depth: number): boolean {
  if (depth > MAX_DEPTH || typeof error !== 'object' || error === null) return false;
  const record = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof record.code === 'string' && NOT_SENT_CODES.has(record.code)) return true;
  if (Array.isArray(record.errors) && record.errors.length > 0) {
    if (record.errors.every((inner) => provesNotSent(inner, depth + 1))) return true;
  }
  return provesNotSent(record.cause, depth + 1);
}
