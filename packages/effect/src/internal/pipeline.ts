import {
  type Call,
  type CallContext,
  ConfigurationError,
  type Layer,
  pipeline,
  run,
} from '@tollgate/core';
import { checkFunction, mustBe } from '@tollgate/core/validate';
import { Cause, Effect, Exit } from 'effect';
import {
  type ClassifyErrorOptions,
  fromPipelineError,
  isProviderFailure,
  type PipelineFailure,
} from '../errors.js';

/** The context a caller may give a call; `attempt` and `signal` are the bridge's. */
export type EffectCallContext = Omit<CallContext, 'attempt' | 'signal'>;

/** A failure of the Effect below, carried through the promise layers and restored above. */
class Carried {
  constructor(readonly cause: Cause.Cause<unknown>) {}
}

/**
 * Runs a promise-returning Tollgate call as an Effect: interrupting the fiber aborts the
 * call's `AbortSignal` (a wait ends booking nothing; a call in flight is aborted and, as it
 * may have been sent, keeps its booking); a rejection becomes a typed failure.
 */
export function fromTollgatePromise<A, E = never>(
  evaluate: (signal: AbortSignal) => Promise<A>,
  options: ClassifyErrorOptions & { readonly carried?: WeakMap<object, Carried> } = {},
): Effect.Effect<A, E | PipelineFailure> {
  return Effect.callback<A, E | PipelineFailure>((resume, signal) => {
    evaluate(signal).then(
      (value) => resume(Effect.succeed(value)),
      (error: unknown) => {
        if (signal.aborted) return;
        if (error instanceof Carried)
          return resume(Effect.failCause(error.cause as Cause.Cause<E>));
        const own =
          typeof error === 'object' && error !== null ? options.carried?.get(error) : undefined;
        if (own !== undefined) return resume(Effect.failCause(own.cause as Cause.Cause<E>));
        const typed = fromPipelineError(error, options);
        resume(typed === undefined ? Effect.die(error) : Effect.fail(typed));
      },
    );
  });
}

/**
 * Tollgate's promise layers around an Effect-returning call. The call's failure goes down to the
 * layers as the provider's own error (a `ProviderFailure`'s `cause`), so `retry()`, `rotate()`
 * and `fallback()` classify it as they always do, and comes back up as the failure it was.
 */
export function pipelineEffect<Req, Res, E, R>(
  layers: ReadonlyArray<Layer<Req, Res>>,
  call: (request: Req, context: CallContext) => Effect.Effect<Res, E, R>,
  options: ClassifyErrorOptions = {},
): (request: Req, context?: EffectCallContext) => Effect.Effect<Res, E | PipelineFailure, R> {
  // composed now, so that a layer that is not a function throws here (ConfigurationError)
  if (!Array.isArray(layers)) {
    throw new ConfigurationError(mustBe('an array', layers), 'pipelineEffect.layers');
  }
  const compose = pipeline<Req, Res>(...layers);
  checkFunction(call, 'pipelineEffect.call');
  return (request, context = {}) =>
    Effect.flatMap(Effect.context<R>(), (services) => {
      const carried = new WeakMap<object, Carried>();
      const runExit = Effect.runPromiseExitWith(services);
      const promiseCall: Call<Req, Res> = async (req, ctx) => {
        const exit = await runExit(
          call(req, ctx),
          ctx.signal === undefined ? undefined : { signal: ctx.signal },
        );
        if (Exit.isSuccess(exit)) return exit.value;
        const failure = exit.cause.reasons.find(Cause.isFailReason);
        if (failure === undefined) {
          // interrupted (its signal fired) or a defect: the layers see the abort reason or a carrier
          if (ctx.signal?.aborted) throw ctx.signal.reason;
          throw new Carried(exit.cause);
        }
        const error: unknown = failure.error;
        const raw = isProviderFailure(error) ? error.cause : error;
        if (typeof raw === 'object' && raw !== null) {
          carried.set(raw, new Carried(exit.cause));
          throw raw;
        }
        throw new Carried(exit.cause);
      };
      const composed = compose(promiseCall);
      return fromTollgatePromise<Res, E>(
        (signal) => run(composed, request, { ...context, signal }),
        { ...options, carried },
      );
    });
}
