import type { CallContext, Clock, Limiter, Quota, QuotaDefinition, Store } from '@tollgate/core';
import type { Classifier, ErrorKind, Provider } from '@tollgate/retry';
import type { ChainEvents } from './events.js';
import { Chain } from './internal/chain.js';

/** One model of the chain: its name, its quota (or limiter), its wait budget and its context. */
export interface ModelDefinition {
  /** The model name the request is sent with, e.g. `qwen3-max`. Unique in the chain. */
  readonly model: string;
  /**
   * Its quota: the chain builds its limiter, keyed `fallback:<model>` in the chain's store, with
   * `maxWaitMs` as the limiter's wait budget. Give exactly one of `quota` and `limiter`.
   */
  readonly quota?: QuotaDefinition | Quota;
  /**
   * A limiter of your own for it (other limiter options, a shared key). Its own `maxWaitMs` is
   * the model's wait budget, so `maxWaitMs` cannot be given with it.
   */
  readonly limiter?: Limiter;
  /**
   * The wait budget: how long a request may wait for this model's admission before it goes
   * down the chain. The limiter rejects at once when it already knows the wait is longer, so
   * the request moves on before anything is sent. Lower it to spill sooner; `Infinity` never
   * spills for a wait.
   * @default 1_000, and Infinity for the last model (there is nowhere further to go)
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

/** A model as the chain holds it. */
export interface ChainedModel {
  readonly model: string;
  readonly contextWindow: number | undefined;
}

export interface ModelChainOptions {
  /** The models, preferred first: every request tries them in this order. At least one. */
  readonly models: ReadonlyArray<ModelDefinition>;
  /**
   * The classified failures that send a request to the next model. `bad-request` and `auth`
   * are the caller's fault and fail the same everywhere: list them only if your models differ
   * there. `context-length` goes only to a model with a larger `contextWindow`. A throttle
   * (`request-rate`, `token-rate`, `burst`) is better left to `retry()` and the limiter.
   * @default ['quota-exhausted']
   */
  readonly fallbackOn?: ReadonlyArray<ErrorKind>;
  /** Where the limiters built from `quota` keep their windows. @default new MemoryStore({ clock }) */
  readonly store?: Store;
  /** Timers of the limiters built from `quota`. @default systemClock */
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
 *     { model: 'qwen3-max', quota: { rpm: 600, tpm: 1_000_000, rps: 10, tps: 16_667 }, maxWaitMs: 2_000 },
 *     { model: 'qwen-plus', quota: { rpm: 15_000, tpm: 5_000_000 } },
 *   ],
 * });
 */
export function modelChain(options: ModelChainOptions): ModelChain {
  return new Chain(options);
}
