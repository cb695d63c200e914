import type { Classification } from '@tollgate/retry';

/**
 * Why a model did not serve a request:
 *
 * - `spilled`: its limiter had not admitted the request within the model's `spillAfterMs`, so
 *   the next model was tried too (the request kept waiting for this one as well).
 * - `over-budget`: its limiter gave up on the request: not admitted within its `maxWaitMs`
 *   (nothing was sent). `expectedWaitMs` is the wait the limiter computed, when it knew it at
 *   once.
 * - `too-large`: the request needs more than one of the model's windows ever holds
 *   (`RequestTooLargeError`: nothing was sent); another model's quota may hold it.
 * - `no-account`: `rotate(pool)` below found no account of its pool that can take the request
 *   (`AllAccountsUnavailableError`); `returnsInMs` is when the first one returns.
 * - `refused`: the call failed with a classification listed in `fallbackOn` (reactive).
 * - `context-window`: a model found the request too long, and this one's `contextWindow` is
 *   not larger (not tried).
 */
export type ModelSkip =
  | { readonly kind: 'spilled'; readonly afterMs: number }
  | {
      readonly kind: 'over-budget';
      readonly maxWaitMs: number;
      readonly expectedWaitMs: number | undefined;
    }
  | {
      readonly kind: 'too-large';
      readonly window: string;
      readonly limit: number;
      readonly requested: number;
    }
  | { readonly kind: 'no-account'; readonly returnsInMs: number }
  | { readonly kind: 'refused'; readonly classification: Classification }
  | { readonly kind: 'context-window' };

/** What `chain.on(event, listener)` hands each listener. */
export interface ChainEvents {
  /**
   * A request went on from `from` to `to` for `reason`: it spilled (and still waits for `from`
   * too), `from` gave up on it, or `from` refused it.
   */
  fallback: { readonly from: string; readonly to: string; readonly reason: ModelSkip };
  /** A model served a request (its response is going up); `skipped` are the models before it. */
  served: {
    readonly model: string;
    readonly skipped: ReadonlyArray<{ readonly model: string; readonly reason: ModelSkip }>;
  };
  /**
   * A model refused a request as out of quota (`quota-exhausted`): this process sends it nothing
   * for `forMs` (the chain's `probeAfterMs`); the first request after that is the probe.
   */
  out: { readonly model: string; readonly forMs: number; readonly classification: Classification };
  /** A listener threw. */
  error: { readonly error: unknown };
}
