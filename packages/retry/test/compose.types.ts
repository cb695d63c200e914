/**
 * Compile-time checks (tsc only, not run): the `retry()` layer composes with core's real
 * `pipeline` and `limit` types, as the README shows, without a runtime import of core.
 */
import type { Call, Layer, limit as Limit, Limiter, pipeline as Pipeline } from '@tollgate/core';
import { quotaFeedback, retry } from '../src/index.js';

declare const pipeline: typeof Pipeline;
declare const limit: typeof Limit;
declare const limiter: Limiter;

interface ChatRequest {
  readonly model: string;
  readonly messages: ReadonlyArray<{ readonly role: 'user'; readonly content: string }>;
  readonly max_tokens?: number;
}
interface ChatResponse {
  readonly id: string;
}
declare const callModel: Call<ChatRequest, ChatResponse>;

export const send: Call<ChatRequest, ChatResponse> = pipeline<ChatRequest, ChatResponse>(
  retry({ provider: 'dashscope', maxElapsedMs: 300_000 }),
  limit(limiter),
)(callModel);

// The README's pipeline: the quota told what refusals say, retries above it.
export const withFeedback: Call<ChatRequest, ChatResponse> = pipeline<ChatRequest, ChatResponse>(
  retry({ provider: 'dashscope' }),
  limit(limiter, { feedback: quotaFeedback({ provider: 'dashscope' }) }),
)(callModel);

export const retryOnly = pipeline(retry())(callModel);

export const alone: Layer<ChatRequest, ChatResponse> = retry();
export const nested: Layer<ChatRequest, ChatResponse> = pipeline(retry(), pipeline(retry()));

// A call that streams tells the layers above when its output started.
export const streaming: Call<ChatRequest, ChatResponse> = async (_request, context) => {
  context.outputStarted?.();
  return { id: 'x' };
};
