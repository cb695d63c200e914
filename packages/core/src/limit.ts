import type { Call, CallContext, Layer } from './compose.js';
import { ConfigurationError } from './errors.js';
import { type ChatRequestLike, defaultChatEstimator, type TokenEstimate } from './estimate.js';
import { assertKnownKeys } from './internal/validate.js';
import type { Limiter } from './limiter.js';
import type { Usage } from './permit.js';

export interface LimitOptions<Req, Res> {
  /** The request's cost. @default the chat estimator (prompt estimate + max output) */
  readonly estimate?: (request: Req) => number | TokenEstimate;
  /** The usage the provider reported. @default reads an OpenAI-style `usage` field */
  readonly usage?: (response: Res) => Usage | undefined;
  /** Queue priority, fixed or per call. @default 0 */
  readonly priority?: number | ((request: Req, context: CallContext) => number);
  /** Longest wait for admission; see `AcquireOptions.maxWaitMs`. @default the limiter's */
  readonly maxWaitMs?: number;
  /**
   * Whether a failed call may have reached the provider. A call that certainly did not is
   * cancelled (refunded); one that may have keeps its reservation. @default () => true
   */
  readonly sent?: (error: unknown) => boolean;
}

const LIMIT_KEYS = ['estimate', 'usage', 'priority', 'maxWaitMs', 'sent'] as const;

/**
 * A layer for any call whose request is an OpenAI-style chat request: what `limit(limiter)`
 * returns with the default estimator. Being generic, it takes the types of the call it wraps,
 * so `pipeline(retry(), limit(limiter))(callModel)` needs no type arguments.
 */
export type ChatLayer = <Req extends ChatRequestLike, Res>(next: Call<Req, Res>) => Call<Req, Res>;

/**
 * The limiter as a pipeline layer: each call waits for admission (honouring the context's
 * signal), records the limiter and permit on its context, and settles the permit with the
 * response's usage — or keeps the reservation when the call failed after it may have been sent.
 *
 * @example
 * const send = pipeline(limit(limiter))(callModel);
 */
export function limit<Req, Res>(
  limiter: Limiter,
  options: LimitOptions<Req, Res> & { readonly estimate: (request: Req) => number | TokenEstimate },
): Layer<Req, Res>;
export function limit(
  limiter: Limiter,
  options?: LimitOptions<ChatRequestLike, unknown>,
): ChatLayer;
export function limit<Req, Res>(
  limiter: Limiter,
  options: LimitOptions<Req, Res> = {},
): Layer<Req, Res> {
  assertKnownKeys(options, LIMIT_KEYS, 'limit', ConfigurationError);
  const estimate =
    options.estimate ??
    ((request: Req) => defaultChatEstimator.estimate(request as ChatRequestLike));
  const readUsage = options.usage ?? ((response: Res) => openAIUsage(response));
  const { priority = 0, maxWaitMs, sent = () => true } = options;

  return (next) => async (request, context) => {
    const permit = await limiter.acquire({
      tokens: estimate(request),
      priority: typeof priority === 'function' ? priority(request, context) : priority,
      ...(context.signal === undefined ? {} : { signal: context.signal }),
      ...(maxWaitMs === undefined ? {} : { maxWaitMs }),
    });
    context.limiter = limiter;
    context.permit = permit;
    let response: Res;
    try {
      response = await next(request, context);
    } catch (error) {
      if (permit.state === 'active') {
        if (sent(error)) permit.settle();
        else permit.cancel();
      }
      throw error;
    }
    if (permit.state === 'active') permit.settle(readUsage(response));
    return response;
  };
}

/** Reads `usage.{prompt_tokens, completion_tokens, total_tokens}` from an OpenAI-style response. */
export function openAIUsage(response: unknown): Usage | undefined {
  if (typeof response !== 'object' || response === null || !('usage' in response)) return undefined;
  const usage = response.usage;
  if (typeof usage !== 'object' || usage === null) return undefined;
  const field = (name: string): number | undefined => {
    const value = (usage as Record<string, unknown>)[name];
    return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
  };
  const promptTokens = field('prompt_tokens');
  const completionTokens = field('completion_tokens');
  const totalTokens = field('total_tokens');
  return {
    ...(promptTokens === undefined ? {} : { promptTokens }),
    ...(completionTokens === undefined ? {} : { completionTokens }),
    ...(totalTokens === undefined ? {} : { totalTokens }),
  };
}
