/**
 * Tollgate's promise-based layers — `limit`, `retry`, `rotate`, `fallback` — around an Effect,
 * as an Effect: rotation and fallback without a second implementation of either.
 */
import type { CallContext, Layer } from '@tollgate/core';
import type { Effect } from 'effect';
import type { ClassifyErrorOptions, PipelineFailure } from './errors.js';
import {
  type EffectCallContext,
  fromTollgatePromise,
  pipelineEffect as makePipelineEffect,
} from './internal/pipeline.js';

export type { EffectCallContext } from './internal/pipeline.js';

/**
 * Composes Tollgate layers, outermost first, around an Effect-returning call, and gives back an
 * Effect-returning call. Interrupting the fiber aborts the pipeline's `AbortSignal`: a request
 * still waiting for admission books nothing, one in flight is interrupted (its booking stays,
 * as it may have been sent). The call's own failures come back as they were (so `catchTag`
 * still matches them), the layers' as tagged errors (`QuotaWaitTimeout`, `RetryGaveUp`,
 * `ModelsUnavailable`…), a provider's classified (`classifyError`); a bug in the caller's code
 * (an invalid argument) is a defect.
 *
 * @example
 * const send = pipelineEffect(
 *   [fallback(chain), retry({ provider: 'dashscope' }), limit(chain.limiterFor)],
 *   (request, { signal, model }) => chatCompletion(client, { ...request, model: model ?? request.model }),
 *   { provider: 'dashscope' },
 * );
 * const reply = yield* send(request);
 */
export const pipelineEffect: <Req, Res, E, R>(
  layers: ReadonlyArray<Layer<Req, Res>>,
  call: (request: Req, context: CallContext) => Effect.Effect<Res, E, R>,
  options?: ClassifyErrorOptions,
) => (request: Req, context?: EffectCallContext) => Effect.Effect<Res, E | PipelineFailure, R> =
  makePipelineEffect;

/**
 * A promise-returning call through Tollgate — a `withTollgate` client's
 * `chat.completions.create`, a `run(send, request)` — as an Effect: interruption aborts the
 * signal it is given, a rejection is a tagged error.
 *
 * @example
 * const client = withTollgate(new OpenAI({ baseURL, apiKey }), { limiter, retry: { provider: 'dashscope' } });
 * const reply = yield* fromTollgate((signal) => client.chat.completions.create(request, { signal }), {
 *   provider: 'dashscope',
 * });
 */
export const fromTollgate = <A>(
  evaluate: (signal: AbortSignal) => Promise<A>,
  options?: ClassifyErrorOptions,
): Effect.Effect<A, PipelineFailure> => fromTollgatePromise(evaluate, options);
