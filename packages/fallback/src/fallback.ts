import {
  type Call,
  type CallContext,
  type ChatRequestLike,
  ConfigurationError,
} from '@tollgate/core';
import { checkFunction, checkOptions, mustBe } from '@tollgate/core/validate';
import type { ModelChain } from './chain.js';
import { ModelsUnavailableError } from './errors.js';
import type { ModelSkip } from './events.js';
import { Chain, type Member } from './internal/chain.js';

/** What `fallback()` needs of a request: a `model` field it sets. */
export interface ModelRequest {
  readonly model?: string;
}

export interface FallbackOptions {
  /**
   * The per-request override: the model this request must go to, alone — no fallback, no
   * other model — or `undefined` for the whole chain. To forbid fallback for a request, pin it
   * to the preferred model. Pinning a model that is not in the chain rejects the call with
   * `InvalidArgumentError`.
   * @default `(request, context) => context.model`: the model a caller (or a layer above) put
   * in the context, as in `run(send, request, { model: 'qwen-plus' })`
   */
  readonly pin?: (request: ModelRequest, context: CallContext) => string | undefined;
}

/** What `fallback(chain)` returns: a layer for any call whose request is an OpenAI-style chat request. */
export type FallbackLayer = <Req extends ChatRequestLike & ModelRequest, Res>(
  next: Call<Req, Res>,
) => Call<Req, Res>;

/**
 * The chain as a pipeline layer: each call tries the models in chain order — the preferred one
 * first, every time, so traffic returns to it as soon as it has room — with `context.model`
 * and the request's `model` set to the one tried, so that `limit(chain.limiterFor)` below
 * admits it by that model's quota and the transport sends that model.
 *
 * - **Proactive:** a model whose limiter cannot admit the request within its wait budget
 *   (`WaitTimeoutError`, at once when the limiter knows) is passed over before anything is
 *   sent.
 * - **Reactive:** a failure whose classification is in the chain's `fallbackOn` sends the
 *   request to the next model (`context-length`: the next one with a larger `contextWindow`).
 *   Any other failure goes up at once, as does one after output started or after an abort.
 *
 * Each move is a `fallback` event, each success a `served` event naming the model. When no
 * model is left, the call fails with `ModelsUnavailableError`, listing each model's reason.
 *
 * @example
 * const send = pipeline(
 *   retry({ provider: 'dashscope' }),
 *   fallback(chain),
 *   limit(chain.limiterFor),
 * )(callModel);
 */
export function fallback(chain: ModelChain, options: FallbackOptions = {}): FallbackLayer {
  if (!(chain instanceof Chain)) {
    throw new ConfigurationError(mustBe('a chain made by modelChain()', chain), 'fallback.chain');
  }
  checkOptions(options, 'fallback', ['pin']);
  const pin =
    options.pin === undefined
      ? (_request: ModelRequest, context: CallContext) => context.model
      : checkFunction(options.pin, 'fallback.pin');

  return <Req extends ChatRequestLike & ModelRequest, Res>(next: Call<Req, Res>): Call<Req, Res> =>
    async (request, context) => {
      const pinned = pin(request, context);
      const order = pinned === undefined ? chain.members : [chain.member(pinned, 'pinned model')];
      const skipped: Array<{ readonly model: string; readonly reason: ModelSkip }> = [];
      /** The largest context window a model refused the request as too long for. */
      let tooLongFor: number | undefined;
      let refusedTooLong = false;
      let left: { readonly model: string; readonly reason: ModelSkip } | undefined;
      let failed: { readonly error: unknown } | undefined;
      const fits = (member: Member) =>
        !refusedTooLong ||
        (member.contextWindow !== undefined &&
          tooLongFor !== undefined &&
          member.contextWindow > tooLongFor);

      for (const member of order) {
        const { model } = member;
        if (!fits(member)) {
          skipped.push({ model, reason: { kind: 'context-window' } });
          continue;
        }
        if (left !== undefined) chain.emit('fallback', { from: left.model, to: model, ...left });
        let outputStarted = false;
        try {
          const response = await next(
            { ...request, model },
            {
              ...context,
              model,
              outputStarted: () => {
                outputStarted = true;
                context.outputStarted?.();
              },
            },
          );
          chain.emit('served', { model, skipped });
          return response;
        } catch (error) {
          const reason = outputStarted || context.signal?.aborted ? undefined : chain.skipOf(error);
          if (reason === undefined) throw error;
          if (reason.kind === 'refused' && reason.classification.kind === 'context-length') {
            refusedTooLong = true;
            tooLongFor = larger(tooLongFor, member.contextWindow);
          }
          left = { model, reason };
          skipped.push(left);
          failed = { error };
        }
      }
      throw new ModelsUnavailableError(
        skipped,
        failed === undefined ? undefined : { cause: failed.error },
      );
    };
}

function larger(known: number | undefined, window: number | undefined): number | undefined {
  return known === undefined || window === undefined ? (window ?? known) : Math.max(known, window);
}
