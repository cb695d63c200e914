import { type HeadersLike, isHeadersLike } from './read-header.js';

/** What the classifier could read from an error or response, whatever its shape. */
export interface RawFacts {
  status: number | undefined;
  code: string | undefined;
  type: string | undefined;
  message: string | undefined;
  headers: HeadersLike | undefined;
  network: 'network' | 'timeout' | undefined;
}

// Node / undici error codes of a connection that failed or broke before a full answer.
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'ERR_STREAM_PREMATURE_CLOSE',
]);
const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
// Error names: DOMException timeouts/aborts of fetch, undici's classes, openai-node's classes
// (which do not set `name`, so their constructor name is read as well).
const TIMEOUT_NAMES = new Set([
  'TimeoutError',
  'AbortError',
  'ConnectTimeoutError',
  'HeadersTimeoutError',
  'BodyTimeoutError',
  'APIConnectionTimeoutError',
]);
const NETWORK_NAMES = new Set(['SocketError', 'APIConnectionError']);

const MAX_CAUSE_DEPTH = 6;

/** True for a fetch `Response` (or a faithful look-alike). */
export function isResponseLike(value: unknown): value is Response {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { status?: unknown; ok?: unknown; headers?: unknown; clone?: unknown };
  return (
    typeof candidate.status === 'number' &&
    typeof candidate.ok === 'boolean' &&
    typeof candidate.clone === 'function' &&
    typeof (candidate.headers as { get?: unknown } | undefined)?.get === 'function'
  );
}

/** Reads a response body without consuming the original. Never throws. */
export async function readResponseBody(response: Response): Promise<unknown> {
  try {
    if (response.bodyUsed) return undefined;
    const text = await response.clone().text();
    return parseBody(text);
  } catch {
    return undefined;
  }
}

/**
 * Extracts status, provider code, type, message and headers from: openai-node's `APIError`
 * (`status`, `headers`, `error` = the body's `error` object, `code`, `type`), a fetch `Response`
 * plus its parsed body, plain `{ status, body, headers }` objects, axios-style
 * `{ response: { status, data, headers } }`, and Node network errors (a `code` anywhere in the
 * `cause` chain). Never reads `String(error)`.
 */
export function extractFacts(input: unknown, body: unknown): RawFacts {
  const facts: RawFacts = {
    status: undefined,
    code: undefined,
    type: undefined,
    message: undefined,
    headers: undefined,
    network: undefined,
  };
  if (typeof input !== 'object' || input === null) return facts;
  const record = input as Record<string, unknown>;
  const response = asRecord(record.response);

  facts.status = statusOf(record.status) ?? statusOf(record.statusCode);
  if (facts.status === undefined && response !== undefined) {
    facts.status = statusOf(response.status) ?? statusOf(response.statusCode);
  }
  const headers = isHeadersLike(record.headers) ? record.headers : response?.headers;
  if (isHeadersLike(headers)) facts.headers = headers;

  const payload = errorPayload(
    body ??
      (isResponseLike(input) ? undefined : record.body) ??
      (isResponseLike(response) ? undefined : (response?.data ?? response?.body)),
  );
  // openai-node puts the body's `error` object on `error`, and copies `code` and `type`.
  const sdkPayload = isResponseLike(input) ? undefined : errorPayload(record.error, true);
  const answered = facts.status !== undefined;
  facts.code = payload?.code ?? sdkPayload?.code ?? (answered ? stringOf(record.code) : undefined);
  facts.type = payload?.type ?? sdkPayload?.type ?? (answered ? stringOf(record.type) : undefined);
  facts.message =
    payload?.message ??
    sdkPayload?.message ??
    (answered && !isResponseLike(input) ? stringOf(record.message) : undefined);

  if (!answered) facts.network = networkKind(input);
  return facts;
}

interface ErrorPayload {
  code: string | undefined;
  type: string | undefined;
  message: string | undefined;
}

/**
 * Finds `{ code, type, message }` in a body: OpenAI and DashScope compatible mode nest it in
 * `error`; DashScope's native API puts `code` and `message` at the top level.
 */
function errorPayload(value: unknown, nested = false): ErrorPayload | undefined {
  const body = asRecord(typeof value === 'string' ? parseBody(value) : value);
  if (body === undefined) return undefined;
  const inner = asRecord(body.error);
  const source = inner ?? body;
  const payload: ErrorPayload = {
    code: stringOf(source.code),
    type: stringOf(source.type),
    message: stringOf(source.message) ?? (inner === undefined ? stringOf(body.error) : undefined),
  };
  if (
    nested &&
    payload.code === undefined &&
    payload.type === undefined &&
    payload.message === undefined
  ) {
    return undefined;
  }
  return payload;
}

function networkKind(input: unknown): 'network' | 'timeout' | undefined {
  const seen = new Set<unknown>();
  let current: unknown = input;
  for (let depth = 0; depth < MAX_CAUSE_DEPTH; depth++) {
    if (typeof current !== 'object' || current === null || seen.has(current)) return undefined;
    seen.add(current);
    const record = current as Record<string, unknown>;
    const code = stringOf(record.code);
    if (code !== undefined && TIMEOUT_CODES.has(code)) return 'timeout';
    if (code !== undefined && NETWORK_CODES.has(code)) return 'network';
    for (const name of [stringOf(record.name), constructorName(current)]) {
      if (name !== undefined && TIMEOUT_NAMES.has(name)) return 'timeout';
      if (name !== undefined && NETWORK_NAMES.has(name)) return 'network';
    }
    current = record.cause;
  }
  return undefined;
}

function constructorName(value: object): string | undefined {
  const ctor: unknown = (value as { constructor?: unknown }).constructor;
  if (typeof ctor !== 'function') return undefined;
  return stringOf((ctor as { name?: unknown }).name);
}

function parseBody(text: string): unknown {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    return undefined;
  }
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function statusOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 100 && value <= 599
    ? value
    : undefined;
}

function stringOf(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}
