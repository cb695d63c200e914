import type { Limiter } from './limiter.js';
import type { Permit } from './permit.js';

/**
 * What travels with one call through a pipeline. Layers read what outer layers decided
 * (the signal, the attempt) and record what they did (the limiter that admitted the call,
 * its permit), so that an outer layer can act on it when the call fails — `retry` pauses
 * the limiter recorded here when the provider answers 429.
 *
 * Packages add their own fields by declaration merging:
 *
 * @example
 * declare module '@tollgate/core' {
 *   interface CallContext { account?: string }
 * }
 */
export interface CallContext {
  /** Aborts the whole call, waits included. */
  signal?: AbortSignal;
  /** 1 for the first attempt; layers that retry create a new context per attempt. */
  attempt: number;
  /** Set by `limit()`: the limiter that admitted this attempt. */
  limiter?: Limiter;
  /** Set by `limit()`: this attempt's permit. */
  permit?: Permit;
}

/** A call: a request and its context in, a response out. */
export type Call<Req, Res> = (request: Req, context: CallContext) => Promise<Res>;

/** A layer wraps a call in behaviour (limiting, retrying, rotating, falling back). */
export type Layer<Req, Res> = (next: Call<Req, Res>) => Call<Req, Res>;

/**
 * Composes layers, outermost first: `pipeline(a, b)(call)` is `a(b(call))`.
 * The result is itself a layer, so pipelines nest.
 *
 * @example
 * const send = pipeline(retry(policy), limit(limiter))(callModel);
 * const reply = await send(request, { attempt: 1 });
 */
export function pipeline<Req, Res>(...layers: ReadonlyArray<Layer<Req, Res>>): Layer<Req, Res> {
  return (call) => layers.reduceRight((next, layer) => layer(next), call);
}

/** Starts a call with a fresh context: `run(send, request, { signal })`. */
export function run<Req, Res>(
  call: Call<Req, Res>,
  request: Req,
  context: Partial<CallContext> = {},
): Promise<Res> {
  return call(request, { attempt: 1, ...context });
}
