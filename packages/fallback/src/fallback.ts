import {
  type Call,
  type CallContext,
  type ChatRequestLike,
  ConfigurationError,
} from '@tollgate/core';
import { checkFunction, checkOptions, mustBe } from '@tollgate/core/validate';
import type { ModelChain } from './chain.js';
import { Chain, type Member } from './internal/chain.js';
import { type ModelRequest, Routing } from './internal/routing.js';

export type { ModelRequest } from './internal/routing.js';

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
 * first, every time — with `context.model` and the request's `model` set to the one tried, so
 * that `limit(chain.limiterFor)` below admits it by that model's quota and the transport sends
 * that model.
 *
 * - **Proactive:** a request its model's limiter has not admitted within the model's
 *   `spillAfterMs` also waits for the next model, and so on down the chain; the first limiter
 *   to admit it serves it, and the other waits are stopped before anything is sent. A model
 *   that keeps up keeps its traffic; overflow goes down the chain and comes back as soon as
 *   the preferred model has room, even for a request already waiting further down. (Spilling
 *   needs `limit()` below, which tells the layer when a call waits and when it is admitted;
 *   without it the chain is reactive only.)
 * - **Reactive:** a failure whose classification is in the chain's `fallbackOn` leaves that
 *   model out and sends the request round again (`context-length`: only to a model with a
 *   larger `contextWindow`). Any other failure goes up at once, as does one after output
 *   started or after an abort.
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

  return <Req extends ChatRequestLike & ModelRequest, Res>(
    next: Call<Req, Res>,
  ): Call<Req, Res> => {
    const calls = new Map(
      chain.members.map((member) => [
        member,
        member.layer === undefined ? next : member.layer(next),
      ]),
    );
    const callOf = (member: Member) => calls.get(member)!;
    return async (request, context) => {
      const pinned = pin(request, context);
      const order = pinned === undefined ? chain.members : [chain.member(pinned, 'pinned model')];
      return new Routing(chain, callOf, order, request, context).run();
    };
  };
}
