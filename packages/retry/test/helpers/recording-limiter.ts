import type { Call, CallContext } from '@tollgate/core';
import type { PausableLimiter } from '../../src/index.js';

export type LimiterCall =
  | { readonly method: 'pause'; readonly durationMs: number }
  | { readonly method: 'throttle'; readonly factor: number; readonly durationMs: number };

/** A real implementation of the capability the retry layer uses, recording what it is told. */
export class RecordingLimiter implements PausableLimiter {
  readonly calls: LimiterCall[] = [];
  /** Admissions made through {@link admitting}. */
  admissions = 0;
  /** When set, pause/throttle reject with it (a store that is down). */
  failure: Error | undefined;

  constructor(readonly name = 'limiter') {}

  async pause(durationMs: number): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    this.calls.push({ method: 'pause', durationMs });
  }

  async throttle(factor: number, durationMs: number): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    this.calls.push({ method: 'throttle', factor, durationMs });
  }
}

/**
 * What core's `limit()` does to the context, without core's runtime: count an admission and
 * record the limiter on the context object this layer receives.
 */
export function admitting(limiter: RecordingLimiter) {
  return <Req, Res>(next: Call<Req, Res>): Call<Req, Res> =>
    (request, context) => {
      limiter.admissions++;
      // The test double stands in for core's Limiter class, which the context field names.
      context.limiter = limiter as unknown as NonNullable<CallContext['limiter']>;
      return next(request, context);
    };
}
