import type {
  Call,
  CallContext,
  ChatRequestLike,
  Clock,
  Limiter,
  Quota,
  QuotaDefinition,
  Store,
} from '@tollgate/core';
import type { Classifier, ErrorKind, Provider } from '@tollgate/retry';
import type { ChainEvents } from './events.js';
import { Chain } from './internal/chain.js';

/** One model of the chain: its name, its quota (or limiter), its wait budget and its context. */
export interface ModelDefinition {
  /** The model name the request is sent with, e.g. `qwen3-max`. Unique in the chain. */
  readonly model: string;
  /**
   * Its quota: the chain builds its limiter, keyed `fallback:<model>` in the chain's store.
   * Give exactly one of `quota` and `limiter`.
   */
  readonly quota?: QuotaDefinition | Quota;
  /** A limiter of your own for it (other limiter options, a shared key). */
  readonly limiter?: Limiter;
  /**
   * A layer this model's calls go through, below `fallback()` — `rotate(pool)` for a model
   * whose quota is spread over a pool of accounts — with `limiterFor`, the limiter
   * `limit(chain.limiterFor)` admits each of them by (`pool.limiterFor`). Instead of `quota`
   * or `limiter`, so that one chain mixes pooled models with single-quota ones.
   */
  readonly layer?: ModelLayer;
  /** With `layer`: the limiter of each call to this model, from its context. */
  readonly limiterFor?: (context: CallContext) => Limiter;
  /**
   * The wait budget: how long a request waits for this model alone. Past it, the request also
   * waits for the next model of the chain — still for this one too — and the first of them to
   * admit it serves it, nothing sent to the other. So traffic stays on this model while it
   * keeps up, overflows down the chain when it cannot, and comes back the moment it has room.
   * `0` spills at once; `Infinity` never spills for a wait. Not used for the last model.
   * @default 1_000
   */
  readonly spillAfterMs?: number;
  /**
   * The longest a request waits for this model at all (only with `quota`; a `limiter` of your
   * own uses its own `maxWaitMs`). Past it — at once, when the limiter already knows the wait
   * is longer — the request gives up on this model: `{ kind: 'over-budget' }`.
   * @default Infinity
   */
  readonly maxWaitMs?: number;
  /**
   * Its context window in tokens. After a model refuses a request as too long
   * (`context-length`, when `fallbackOn` lists it), the request goes only to a model whose
   * window is larger than that one's; a model without one is never taken as larger.
   * @default unknown
   */
  readonly contextWindow?: number;
}

/** A layer for a model's calls, as `rotate(pool)` is: generic in the request and response. */
export type ModelLayer = <Req extends ChatRequestLike & { readonly model?: string }, Res>(
  next: Call<Req, Res>,
) => Call<Req, Res>;

/** A model as the chain holds it. */
export interface ChainedModel {
  readonly model: string;
  readonly spillAfterMs: number;
  readonly contextWindow: number | undefined;
}

export interface ModelChainOptions {
  /** The models, preferred first: every request tries them in this order. At least one. */
  readonly models: ReadonlyArray<ModelDefinition>;
  /**
   * The classified failures that send a request to the next model. `bad-request` and `auth`
   * are the caller's fault and fail the same everywhere: list them only if your models differ
   * there. `context-length` goes only to a model with a larger `contextWindow`; when no model
   * left has one, the refusal goes up as it is. A throttle (`request-rate`, `token-rate`,
   * `burst`) is better left to `retry()` and the limiter.
   * @default ['quota-exhausted', 'context-length']
   */
  readonly fallbackOn?: ReadonlyArray<ErrorKind>;
  /**
   * How long a model that refused a request as out of quota (`quota-exhausted`) is left out of
   * every request of this process; the first one after it is the probe. `0`: never left out.
   * Finite. @default 300_000 (5 minutes)
   */
  readonly probeAfterMs?: number;
  /** Where the limiters built from `quota` keep their windows. @default new MemoryStore({ clock }) */
  readonly store?: Store;
  /** The spill timers, and those of the limiters built from `quota`. @default systemClock */
  readonly clock?: Clock;
  /** Whose error table classifies failures (see `@tollgate/retry`). @default 'generic' */
  readonly provider?: Provider;
  /** A classifier of your own (a retry policy's, say); replaces `provider`. */
  readonly classifier?: Classifier;
}

/** A chain of models; build it with {@link modelChain}. */
export interface ModelChain {
  /** The models, preferred first. */
  readonly models: ReadonlyArray<ChainedModel>;
  /**
   * The limiter of `context.model`, set by `fallback(chain)`: give it to core's `limit()`. A
   * bound function: pass it as it is. Throws `InvalidArgumentError` when the context's model is
   * not one of the chain's.
   */
  readonly limiterFor: (context: CallContext) => Limiter;
  /** The limiter of one model of the chain. */
  limiter(model: string): Limiter;
  /** Subscribes to an event; returns the function that unsubscribes. */
  on<E extends keyof ChainEvents>(
    event: E,
    listener: (payload: ChainEvents[E]) => void,
  ): () => void;
}

/**
 * A chain of models for `fallback(chain)`. Options are validated here; a bad one throws core's
 * `ConfigurationError`.
 *
 * @example
 * const chain = modelChain({
 *   provider: 'dashscope',
 *   models: [
 *     { model: 'qwen3-max', quota: { rpm: 600, tpm: 1_000_000, rps: 10, tps: 16_667 }, spillAfterMs: 2_000 },
 *     { model: 'qwen-plus', quota: { rpm: 15_000, tpm: 5_000_000 } },
 *   ],
 * });
 */
export function modelChain(options: ModelChainOptions): ModelChain {
  return new Chain(options);
}
