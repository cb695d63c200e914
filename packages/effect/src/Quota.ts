/**
 * A Tollgate limiter as an Effect service: exact sliding windows over requests and tokens,
 * pacing, priorities and settlement, built in a scope and closed with it.
 */
import type { Effect as Eff, Layer as L, Scope } from 'effect';
import { Context, Layer } from 'effect';
import type { AdmissionError } from './errors.js';
import {
  checkWithQuotaOptions,
  makeQuotaIn,
  type QuotaOptions,
  type QuotaService,
  type WithQuotaOptions,
} from './internal/quota.js';
import { QuotaStore } from './QuotaStore.js';

export type { QuotaOptions, QuotaService, WithQuotaOptions } from './internal/quota.js';

/**
 * A limiter built in a scope on the `QuotaStore`'s store, timed by Effect's `Clock`, and closed
 * (`limiter.close()`: its waiters fail with `QuotaClosed`) when the scope closes. Give it a tag
 * of your own when a program has several quotas:
 *
 * @example
 * class Turbo extends Context.Service<Turbo, QuotaService>()('app/Turbo') {}
 * const TurboLive = Layer.effect(Turbo, makeQuota({ quota: dashscope('qwen-turbo'), key: 'turbo' }));
 * const reply = yield* Turbo.use((quota) => quota.withQuota(call, { tokens: 3000 }));
 */
export const makeQuota = (
  options: QuotaOptions,
): Eff.Effect<QuotaService, never, Scope.Scope | QuotaStore> =>
  QuotaStore.use((store) => makeQuotaIn(store, options));

/**
 * The default quota of a program, for `withQuota`. `Quota.layer(options)` builds it.
 *
 * @example
 * const program = withQuota(callModel, { tokens: { prompt: 1200, output: 2000 } });
 * Effect.runPromise(program.pipe(Effect.provide(Quota.layer({ quota: dashscope('qwen3-max') }).pipe(
 *   Layer.provide(QuotaStore.memory),
 * ))));
 */
export class Quota extends Context.Service<Quota, QuotaService>()('@tollgate/effect/Quota') {
  /** The quota as a layer: the limiter lives as long as the layer does. */
  static layer(options: QuotaOptions): L.Layer<Quota, never, QuotaStore> {
    return Layer.effect(Quota, makeQuota(options));
  }
}

/**
 * Runs `self` under the program's `Quota`: waits for admission, runs it, and settles the permit
 * with the usage `self` reports.
 *
 * - Interrupted **while waiting**: the wait is aborted; nothing booked, nothing held.
 * - Failed or interrupted **while running**: the permit is settled without usage — the booking
 *   stays, as the request may have reached the provider (which counts refused requests too),
 *   and the in-flight slot is freed. Only a failure whose `cause` chain proves the request never
 *   left (or that `sent` says was not sent) is cancelled and refunded.
 * - Admission failures are typed: `QuotaWaitTimeout`, `RequestTooLarge`, `StoreFailure`…
 * - Options are checked at the call: an unknown one, or a `usage` / `sent` / `feedback` that
 *   is not a function, throws core's `InvalidArgumentError`.
 *
 * @example
 * const reply = yield* withQuota(callModel(request), {
 *   tokens: { prompt: 1200, output: request.max_tokens },
 *   usage: (reply) => ({ promptTokens: reply.usage.prompt_tokens, completionTokens: reply.usage.completion_tokens }),
 * }).pipe(Effect.catchTag('QuotaWaitTimeout', () => Effect.succeed(cached)));
 */
export const withQuota = <A, E, R>(
  self: Eff.Effect<A, E, R>,
  options: WithQuotaOptions<A, E>,
): Eff.Effect<A, E | AdmissionError, R | Quota> => {
  checkWithQuotaOptions(options);
  return Quota.use((quota) => quota.withQuota(self, options));
};
