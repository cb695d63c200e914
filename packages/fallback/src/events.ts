import type { Classification } from '@tollgate/retry';

/**
 * Why a model did not serve a request:
 *
 * - `over-budget`: its limiter could not admit the request within the model's wait budget
 *   (proactive: nothing was sent). `expectedWaitMs` is the wait the limiter computed, when it
 *   knew it at once.
 * - `refused`: the call failed with a classification listed in `fallbackOn` (reactive).
 * - `context-window`: a model found the request too long, and this one's `contextWindow` is
 *   not larger (not tried).
 */
export type ModelSkip =
  | {
      readonly kind: 'over-budget';
      readonly maxWaitMs: number;
      readonly expectedWaitMs: number | undefined;
    }
  | { readonly kind: 'refused'; readonly classification: Classification }
  | { readonly kind: 'context-window' };

/** What `chain.on(event, listener)` hands each listener. */
export interface ChainEvents {
  /** A request left `from` for `to`, further down the chain, for `reason`. */
  fallback: { readonly from: string; readonly to: string; readonly reason: ModelSkip };
  /** A model served a request (its response is going up); `skipped` are the models before it. */
  served: {
    readonly model: string;
    readonly skipped: ReadonlyArray<{ readonly model: string; readonly reason: ModelSkip }>;
  };
  /** A listener threw. */
  error: { readonly error: unknown };
}
