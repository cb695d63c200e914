import type { ChatMessageLike } from './tokens.js';

/** The parts of a chat-completion request the simulator reads. */
export interface ChatRequest {
  readonly model: string;
  readonly messages: ReadonlyArray<ChatMessageLike>;
  /** The output cap the request asked for, and under which parameter. */
  readonly maxTokens: { readonly value: number; readonly param: string } | undefined;
  readonly stream: boolean;
  readonly includeUsage: boolean;
}

/** What is wrong with a request, in OpenAI's words. */
export interface RequestProblem {
  readonly message: string;
  readonly code: string | null;
  readonly param: string | null;
}

export type Parsed =
  | { readonly ok: true; readonly request: ChatRequest }
  | { readonly ok: false; readonly problem: RequestProblem };

const fail = (message: string, code: string | null, param: string | null): Parsed => ({
  ok: false,
  problem: { message, code, param },
});

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a decimal';
  return `a ${typeof value}`;
}

/** Checks a parsed JSON body the way OpenAI's API does, for the fields the simulator uses. */
export function parseChatRequest(body: unknown): Parsed {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return fail(
      `Invalid type for body: expected an object, but got ${kind(body)} instead.`,
      'invalid_type',
      null,
    );
  }
  const input = body as Record<string, unknown>;

  if (input.model === undefined || input.model === null || input.model === '') {
    return fail('you must provide a model parameter', null, null);
  }
  if (typeof input.model !== 'string') {
    return fail(
      `Invalid type for 'model': expected a string, but got ${kind(input.model)} instead.`,
      'invalid_type',
      'model',
    );
  }

  const { messages } = input;
  if (messages === undefined) {
    return fail(
      "Missing required parameter: 'messages'.",
      'missing_required_parameter',
      'messages',
    );
  }
  if (!Array.isArray(messages)) {
    return fail(
      `Invalid type for 'messages': expected an array of objects, but got ${kind(messages)} instead.`,
      'invalid_type',
      'messages',
    );
  }
  if (messages.length === 0) {
    return fail(
      "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
      'empty_array',
      'messages',
    );
  }
  for (const [index, message] of messages.entries()) {
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      return fail(
        `Invalid type for 'messages[${index}]': expected an object, but got ${kind(message)} instead.`,
        'invalid_type',
        `messages[${index}]`,
      );
    }
  }

  let maxTokens: ChatRequest['maxTokens'];
  for (const param of ['max_tokens', 'max_completion_tokens']) {
    const value = input[param];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      return fail(
        `Invalid type for '${param}': expected an integer, but got ${kind(value)} instead.`,
        'invalid_type',
        param,
      );
    }
    if (value < 1) {
      return fail(
        `Invalid '${param}': integer below minimum value. Expected a value >= 1, but got ${value} instead.`,
        'integer_below_min_value',
        param,
      );
    }
    maxTokens ??= { value, param };
  }

  const stream = input.stream;
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') {
    return fail(
      `Invalid type for 'stream': expected a boolean, but got ${kind(stream)} instead.`,
      'invalid_type',
      'stream',
    );
  }
  const options = input.stream_options;
  const includeUsage =
    typeof options === 'object' &&
    options !== null &&
    (options as { include_usage?: unknown }).include_usage === true;

  return {
    ok: true,
    request: {
      model: input.model,
      messages: messages as ReadonlyArray<ChatMessageLike>,
      maxTokens,
      stream: stream === true,
      includeUsage,
    },
  };
}
