/**
 * Where a quota's windows live, as a service: in memory for one process, on Redis
 * (`@tollgate/effect/redis`) for many.
 */
import { MemoryStore, type Store } from '@tollgate/core';
import { Context, Effect, Layer } from 'effect';
import { makeTollgateClock } from './internal/clock.js';

/**
 * The core `Store` every `Quota` layer built from it books in. Quotas on one store with one
 * `key` share one quota.
 *
 * @example
 * const layer = Quota.layer({ quota: dashscope('qwen3-max') }).pipe(Layer.provide(QuotaStore.memory));
 */
export class QuotaStore extends Context.Service<QuotaStore, Store>()(
  '@tollgate/effect/QuotaStore',
) {
  /** An in-memory store deciding on Effect's `Clock` (so `TestClock` drives it). */
  static readonly memory: Layer.Layer<QuotaStore> = Layer.effect(
    QuotaStore,
    Effect.map(makeTollgateClock, (clock) => new MemoryStore({ clock })),
  );
}
