import { type ConfigurationError, InvalidArgumentError } from './errors.js';
import type { Permit } from './permit.js';
import { checkFunction } from './validate.js';

/**
 * An account a call is made on: which quota it draws from (`id`) and what the transport sends
 * with it.
 */
export interface CallAccount {
  /** Stable and unique in the pool, e.g. `acct-1`; names the account's quotas and events. */
  readonly id: string;
  readonly apiKey?: string;
  readonly baseURL?: string;
  readonly organization?: string;
  /** Extra request headers for this account. */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * What travels with one call down a pipeline. Each field is set by a layer for the layers and
 * the call below it, and read only below: a layer that changes something passes a new context
 * (`next(request, { ...context, attempt: 2 })`), so what a call sees is exactly what the
 * layers around it decided, in the order they nest.
 *
 * | field | set by | read by |
 * |---|---|---|
 * | `signal` | the caller, `retry()` (its own signal joined) | every wait, the transport |
 * | `attempt` | `run()`, `retry()` | hooks, logs |
 * | `account` | `rotate()` | `limit()` (which quota), the transport (which credentials) |
 * | `model` | `fallback()` | `limit()` (which quota), the transport (which model) |
 * | `permit` | `limit()` | the call (settles a stream itself, for instance) |
 * | `waiting`, `admitted` | layers that watch or race admissions (`fallback()`, `rotate()`) | `limit()` |
 * | `outputStarted` | layers that retry or fall back | the call |
 */
export interface CallContext {
  /** Aborts the whole call, waits included. */
  readonly signal?: AbortSignal;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** The account the call is made on. Absent: the transport's own credentials. */
  readonly account?: CallAccount;
  /** The model to call instead of the request's own. */
  readonly model?: string;
  /** This attempt's admission, from the `limit()` layer above the call. */
  readonly permit?: Permit;
  /**
   * `limit()` calls it as the call starts to wait for admission, before anything is sent (the
   * wait may end at once), and does not pass it further down.
   */
  readonly waiting?: () => void;
  /**
   * `limit()` calls it once the call is admitted, before anything is sent, and does not pass it
   * further down. A layer above that waits for several quotas at once for one request learns
   * here which one admitted it; aborting the call's signal inside it stops the call there: the
   * permit is cancelled and the call rejects with `WaitAbortedError`, nothing sent.
   */
  readonly admitted?: (permit: Permit) => void;
  /**
   * Call it once part of the response has been handed on (a stream's first chunk): the layers
   * above then no longer retry the call or send it elsewhere, since that would replay output.
   */
  readonly outputStarted?: () => void;
}

/** A call: a request and its context in, a response out. */
export type Call<Req, Res> = (request: Req, context: CallContext) => Promise<Res>;

/** A layer wraps a call in behaviour (limiting, retrying, rotating, falling back). */
export type Layer<Req, Res> = (next: Call<Req, Res>) => Call<Req, Res>;

/**
 * Composes layers, outermost first: `pipeline(a, b)(call)` is `a(b(call))`.
 * The result is itself a layer, so pipelines nest. Throws {@link ConfigurationError} when a
 * layer, the call, or what a layer makes of the call below it is not a function.
 *
 * @example
 * const send = pipeline(retry(policy), limit(limiter))(callModel);
 * const reply = await send(request, { attempt: 1 });
 */
export function pipeline<Req, Res>(...layers: ReadonlyArray<Layer<Req, Res>>): Layer<Req, Res> {
  for (const [index, layer] of layers.entries()) checkFunction(layer, `pipeline.layers[${index}]`);
  return (call) => {
    checkFunction(call, 'pipeline.call');
    return layers.reduceRight(
      (next, layer, index) => checkFunction(layer(next), `pipeline.layers[${index}](next)`),
      call,
    );
  };
}

/**
 * Starts a call with a fresh context: `run(send, request, { signal })`. Rejects with
 * {@link InvalidArgumentError} when `call` is not a function.
 */
export async function run<Req, Res>(
  call: Call<Req, Res>,
  request: Req,
  context: Omit<CallContext, 'attempt'> & { readonly attempt?: number } = {},
): Promise<Res> {
  checkFunction(call, 'run.call', InvalidArgumentError);
  return call(request, { attempt: 1, ...context });
}
