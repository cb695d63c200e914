/**
 * Provider error bodies and error objects shaped as the providers and openai-node produce
 * them (see /work/shared/providers.md). No SDK is installed: the classes below reproduce the
 * fields of openai-node's `APIError` family (status, headers as a `Headers`, error = the
 * body's `error` object, code, param, type), which is all the classifier may rely on.
 */

export type Json = { readonly [key: string]: unknown };

/** DashScope compatible mode (`/compatible-mode/v1`): OpenAI-style `error` object. */
export function dashscopeCompatibleBody(code: string, message: string): Json {
  return {
    error: { code, message, param: null, type: code },
    request_id: '0b4e5c8a-51c6-9f5e-a0b1-6d4c2f1e3a7b',
  };
}

/** DashScope native API: `code` and `message` at the top level. */
export function dashscopeNativeBody(code: string, message: string): Json {
  return { request_id: '0b4e5c8a-51c6-9f5e-a0b1-6d4c2f1e3a7b', code, message };
}

/** The real compatible-mode 429 body quoted in providers.md. */
export const DASHSCOPE_INSUFFICIENT_QUOTA_BODY: Json = {
  error: {
    code: 'insufficient_quota',
    message:
      'You exceeded your current quota, please check your plan and billing details. For details, see: https://help.aliyun.com/zh/model-studio/error-code#token-limit',
    param: null,
    type: 'insufficient_quota',
  },
  request_id: 'a1f0c3f4-9d1c-9b7e-8e3a-3c3f1e0d2b11',
};

export const DASHSCOPE_MESSAGES = {
  throttling: 'Requests throttling triggered.',
  rateQuota: 'Requests rate limit exceeded, please try again later.',
  burstRate:
    'Request rate increased too quickly. To ensure system stability, please adjust your client logic to scale requests more smoothly over time.',
  allocationQuota: 'You exceeded your current quota, please check your plan and billing details.',
  freeQuota: 'Free allocated quota exceeded.',
  modelServing:
    'Too many requests. Your requests are being throttled due to system capacity limits. Please try again later.',
} as const;

export function openaiBody(
  code: string | null,
  type: string,
  message: string,
  param: string | null = null,
): Json {
  return { error: { message, type, param, code } };
}

export const OPENAI_BODIES = {
  requestsPerMin: openaiBody(
    'rate_limit_exceeded',
    'requests',
    'Rate limit reached for gpt-4o in organization org-abc123 on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms. Visit https://platform.openai.com/account/rate-limits to learn more.',
  ),
  tokensPerMin: openaiBody(
    'rate_limit_exceeded',
    'tokens',
    'Rate limit reached for gpt-4o in organization org-abc123 on tokens per min (TPM): Limit 30000, Used 29000, Requested 2000. Please try again in 2s. Visit https://platform.openai.com/account/rate-limits to learn more.',
  ),
  insufficientQuota: openaiBody(
    'insufficient_quota',
    'insufficient_quota',
    'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
  ),
  contextLength: openaiBody(
    'context_length_exceeded',
    'invalid_request_error',
    "This model's maximum context length is 128000 tokens. However, your messages resulted in 130512 tokens. Please reduce the length of the messages.",
    'messages',
  ),
  invalidApiKey: openaiBody(
    'invalid_api_key',
    'invalid_request_error',
    'Incorrect API key provided: sk-abc***xyz. You can find your API key at https://platform.openai.com/account/api-keys.',
  ),
  unsupportedCountry: openaiBody(
    'unsupported_country_region_territory',
    'request_forbidden',
    'Country, region, or territory not supported',
  ),
  modelNotFound: openaiBody(
    'model_not_found',
    'invalid_request_error',
    'The model `gpt-9` does not exist or you do not have access to it.',
  ),
  invalidValue: openaiBody(
    'invalid_value',
    'invalid_request_error',
    "Invalid value for 'temperature': must be between 0 and 2.",
    'temperature',
  ),
  serverError: openaiBody(
    null,
    'server_error',
    'The server had an error while processing your request. Sorry about that!',
  ),
  overloaded: openaiBody(
    null,
    'server_error',
    'The engine is currently overloaded, please try again later.',
  ),
} as const;

/** The headers OpenAI sends on a 429, as documented (Go durations for the resets). */
export function openaiRateLimitHeaders(overrides: Record<string, string> = {}): Headers {
  return new Headers({
    'content-type': 'application/json',
    'x-request-id': 'req_0123456789abcdef',
    'x-ratelimit-limit-requests': '500',
    'x-ratelimit-limit-tokens': '30000',
    'x-ratelimit-remaining-requests': '499',
    'x-ratelimit-remaining-tokens': '28000',
    'x-ratelimit-reset-requests': '120ms',
    'x-ratelimit-reset-tokens': '4s',
    ...overrides,
  });
}

/** openai-node's `APIError` fields, reproduced (the SDK is not a dependency of this package). */
export class APIError extends Error {
  readonly status: number | undefined;
  readonly headers: Headers | undefined;
  readonly error: Json | undefined;
  readonly code: string | null | undefined;
  readonly param: string | null | undefined;
  readonly type: string | undefined;

  constructor(
    status: number | undefined,
    error: Json | undefined,
    message: string | undefined,
    headers: Headers | undefined,
  ) {
    const inner = error as
      | { message?: unknown; code?: unknown; param?: unknown; type?: unknown }
      | undefined;
    const text = typeof inner?.message === 'string' ? inner.message : message;
    super(
      status === undefined
        ? (text ?? '(no status code or body)')
        : `${status} ${text ?? 'status code (no body)'}`,
    );
    this.status = status;
    this.headers = headers;
    this.error = error;
    this.code = typeof inner?.code === 'string' ? inner.code : null;
    this.param = typeof inner?.param === 'string' ? inner.param : null;
    this.type = typeof inner?.type === 'string' ? inner.type : undefined;
  }

  /** Like `APIError.generate`: the SDK keeps the body's `error` object, not the whole body. */
  static fromResponse(status: number, body: Json, headers: Headers): APIError {
    const inner = body.error as Json | undefined;
    return new (status === 429 ? RateLimitError : APIError)(status, inner, undefined, headers);
  }
}
export class RateLimitError extends APIError {}
export class APIConnectionError extends APIError {
  constructor(options: { message?: string; cause?: unknown } = {}) {
    super(undefined, undefined, options.message ?? 'Connection error.', undefined);
    if (options.cause !== undefined) Object.defineProperty(this, 'cause', { value: options.cause });
  }
}
export class APIConnectionTimeoutError extends APIConnectionError {
  constructor() {
    super({ message: 'Request timed out.' });
  }
}
export class APIUserAbortError extends APIError {
  constructor() {
    super(undefined, undefined, 'Request was aborted.', undefined);
  }
}

/** A Node/undici network failure as `fetch` reports it: `TypeError('fetch failed')` + cause. */
export function fetchFailed(code: string, message = `connect ${code}`): TypeError {
  const cause = Object.assign(new Error(message), { code, errno: -1, syscall: 'connect' });
  return new TypeError('fetch failed', { cause });
}

/** The three input forms the classifier accepts for an HTTP answer. */
export type InputForm = 'openai-sdk' | 'response' | 'plain';

export function providerError(
  form: 'openai-sdk' | 'plain',
  status: number,
  body: Json,
  headers = new Headers(),
) {
  if (form === 'openai-sdk') return APIError.fromResponse(status, body, headers);
  return { status, body, headers: Object.fromEntries(headers.entries()) };
}

export function jsonResponse(
  status: number,
  body: Json,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}
