import type { SimulatorMode } from '../config.js';
import type { RejectReason } from '../stats.js';
import { formatGoDuration } from './go-duration.js';
import type { WindowSpec } from './sliding-window.js';

/** A refusal: its status, the JSON body as the provider words it, and why (for stats). */
export interface ErrorReply {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly reason: RejectReason;
}

type Body = Record<string, unknown>;

/** DashScope compatible mode: OpenAI's `error` object plus a top-level `request_id`. */
function dashscope(code: string, message: string, type: string, requestId: string): Body {
  return { error: { code, message, param: null, type }, request_id: requestId };
}

function openai(message: string, type: string, code: string | null, param: string | null): Body {
  return { error: { message, type, param, code } };
}

export const DASHSCOPE_MESSAGES = {
  invalidApiKey: 'Incorrect API key provided. ',
  requests: 'Requests rate limit exceeded, please try again later.',
  burst:
    'Request rate increased too quickly. To ensure system stability, please adjust your client logic to scale requests more smoothly over time.',
  tokens:
    'You exceeded your current quota, please check your plan and billing details. For details, see: https://help.aliyun.com/zh/model-studio/error-code#token-limit',
  freeQuota: 'Free allocated quota exceeded.',
} as const;

const OPENAI_RATE_LIMITS_URL = 'https://platform.openai.com/account/rate-limits';

export interface ReplyContext {
  readonly mode: SimulatorMode;
  readonly requestId: string;
}

export function invalidApiKey(
  { mode, requestId }: ReplyContext,
  key: string | undefined,
): ErrorReply {
  const body =
    mode === 'dashscope'
      ? {
          error: {
            message: DASHSCOPE_MESSAGES.invalidApiKey,
            type: 'invalid_request_error',
            param: null,
            code: 'invalid_api_key',
          },
          request_id: requestId,
        }
      : key === undefined
        ? openai(
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username. You can obtain an API key from https://platform.openai.com/account/api-keys.",
            'invalid_request_error',
            null,
            null,
          )
        : openai(
            `Incorrect API key provided: ${maskKey(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
            'invalid_request_error',
            'invalid_api_key',
            null,
          );
  return { status: 401, body, reason: 'auth' };
}

export function modelNotFound({ mode, requestId }: ReplyContext, model: string): ErrorReply {
  const message = `The model \`${model}\` does not exist or you do not have access to it.`;
  const body =
    mode === 'dashscope'
      ? dashscope('model_not_found', message, 'invalid_request_error', requestId)
      : openai(message, 'invalid_request_error', 'model_not_found', null);
  return { status: 404, body, reason: 'not-found' };
}

/** A malformed request: the message in OpenAI's words; DashScope prefixes its algo error. */
export function badRequest(
  { mode, requestId }: ReplyContext,
  problem: {
    readonly message: string;
    readonly code: string | null;
    readonly param: string | null;
  },
): ErrorReply {
  const body =
    mode === 'dashscope'
      ? dashscope(
          'invalid_parameter_error',
          `<400> InternalError.Algo.InvalidParameter: ${problem.message}`,
          'invalid_request_error',
          requestId,
        )
      : openai(problem.message, 'invalid_request_error', problem.code, problem.param);
  return { status: 400, body, reason: 'bad-request' };
}

export function unparsableJson(context: ReplyContext): ErrorReply {
  return context.mode === 'dashscope'
    ? badRequest(context, {
        message: 'The request body is not valid JSON.',
        code: null,
        param: null,
      })
    : badRequest(context, {
        message:
          "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)",
        code: null,
        param: null,
      });
}

export function outputCapTooLarge(
  context: ReplyContext,
  param: string,
  requested: number,
  cap: number,
): ErrorReply {
  return context.mode === 'dashscope'
    ? badRequest(context, {
        message: `Range of max_tokens should be [1, ${cap}]`,
        code: null,
        param: null,
      })
    : badRequest(context, {
        message: `${param} is too large: ${requested}. This model supports at most ${cap} completion tokens, whereas you provided ${requested}.`,
        code: 'invalid_value',
        param,
      });
}

export function contextLength(
  { mode, requestId }: ReplyContext,
  facts: {
    readonly promptTokens: number;
    readonly maxTokens: number;
    readonly contextWindow: number;
  },
): ErrorReply {
  const body =
    mode === 'dashscope'
      ? dashscope(
          'invalid_parameter_error',
          `<400> InternalError.Algo.InvalidParameter: Range of input length should be [1, ${Math.max(
            1,
            facts.contextWindow - facts.maxTokens,
          )}]`,
          'invalid_request_error',
          requestId,
        )
      : openai(
          `This model's maximum context length is ${facts.contextWindow} tokens. However, you requested ${
            facts.promptTokens + facts.maxTokens
          } tokens (${facts.promptTokens} in the messages, ${facts.maxTokens} in the completion). Please reduce the length of the messages or completion.`,
          'invalid_request_error',
          'context_length_exceeded',
          'messages',
        );
  return { status: 400, body, reason: 'context-length' };
}

/** The free tier is used up. OpenAI has no free tier; its nearest is an exhausted balance. */
export function quotaExhausted({ mode, requestId }: ReplyContext): ErrorReply {
  const body =
    mode === 'dashscope'
      ? dashscope(
          'insufficient_quota',
          DASHSCOPE_MESSAGES.freeQuota,
          'insufficient_quota',
          requestId,
        )
      : openai(
          'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
          'insufficient_quota',
          'insufficient_quota',
          null,
        );
  return { status: 429, body, reason: 'quota-exhausted' };
}

const WINDOW_WORDS: Record<WindowSpec['name'], string> = {
  rpm: 'requests per min (RPM)',
  rps: 'requests per sec (RPS)',
  burst: 'requests per burst window',
  tpm: 'tokens per min (TPM)',
  tps: 'tokens per sec (TPS)',
};

/** How OpenAI names a window; one stretched from a limit below 1 gets its real span. */
function windowWords(window: WindowSpec): string {
  const standard =
    window.name === 'burst' || window.windowMs === (window.name.endsWith('m') ? 60_000 : 1000);
  return standard
    ? WINDOW_WORDS[window.name]
    : `${window.unit} per ${formatGoDuration(window.windowMs)}`;
}

/** A window without room: which one decides the code (DashScope) or the `type` (OpenAI). */
export function rateLimited(
  { mode, requestId }: ReplyContext,
  facts: {
    readonly window: WindowSpec;
    readonly used: number;
    readonly requested: number;
    /** `undefined`: the request can never fit (its cost exceeds the window's limit). */
    readonly retryAfterMs: number | undefined;
    readonly model: string;
    readonly organization: string;
  },
): ErrorReply {
  const { window } = facts;
  const reason: RejectReason =
    window.name === 'burst' ? 'burst' : window.unit === 'requests' ? 'request-rate' : 'token-rate';
  if (mode === 'dashscope') {
    const [code, message] =
      reason === 'burst'
        ? ['limit_burst_rate', DASHSCOPE_MESSAGES.burst]
        : reason === 'request-rate'
          ? ['limit_requests', DASHSCOPE_MESSAGES.requests]
          : ['insufficient_quota', DASHSCOPE_MESSAGES.tokens];
    return { status: 429, body: dashscope(code, message, code, requestId), reason };
  }
  const limit = Math.floor(window.limit);
  const where = `${facts.model} in organization ${facts.organization} on ${windowWords(window)}`;
  const message =
    facts.retryAfterMs === undefined
      ? `Request too large for ${where}: Limit ${limit}, Requested ${facts.requested}. ` +
        `The input or output tokens must be reduced in order to run successfully. Visit ${OPENAI_RATE_LIMITS_URL} to learn more.`
      : `Rate limit reached for ${where}: Limit ${limit}, Used ${Math.floor(facts.used)}, Requested ${facts.requested}. ` +
        `Please try again in ${formatGoDuration(facts.retryAfterMs)}. Visit ${OPENAI_RATE_LIMITS_URL} to learn more.`;
  return {
    status: 429,
    body: openai(message, window.unit, 'rate_limit_exceeded', null),
    reason,
  };
}

export function invalidUrl({ mode, requestId }: ReplyContext, method: string, path: string): Body {
  const message = `Invalid URL (${method} ${path})`;
  return mode === 'dashscope'
    ? dashscope('invalid_request_error', message, 'invalid_request_error', requestId)
    : openai(message, 'invalid_request_error', null, null);
}

/** `sk-abc***wxyz`, as OpenAI echoes a wrong key. */
function maskKey(key: string): string {
  if (key.length <= 8) return `${key.slice(0, 2)}***`;
  return `${key.slice(0, 6)}${'*'.repeat(Math.max(3, Math.min(40, key.length - 10)))}${key.slice(-4)}`;
}
