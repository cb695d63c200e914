import type { Call, CallContext, Layer } from './compose.js';
import {
  ConfigurationError,
  InvalidArgumentError,
  isTollgateError,
  WaitAbortedError,
} from './errors.js';
import { type ChatRequestLike, defaultChatEstimator, type TokenEstimate } from './estimate.js';
import { isPromiseLike } from './internal/maybe-promise.js';
import { checkTokens, isAmount } from './internal/request.js';
import { mayHaveBeenSent } from './internal/sent.js';
import { type Limiter, reportError } from './limiter.js';
import type { Permit, QuotaFeedback, Usage } from './permit.js';
import type { MaybePromise } from './store.js';
import { checkFunction, checkLimiter, checkNumber, checkOptions, mustBe } from './validate.js';

/** How a call below `limit()` ended: what its `feedback` option is asked about. */
export type CallOutcome<Res> =
  | { readonly ok: true; readonly response: Res }
  | { readonly ok: false; readonly error: unknown };

export interface LimitOptions<Req, Res> {
  /**
   * The request's cost. When it throws (an error that is not a Tollgate error) or returns
   * something else than a count or `{ prompt, output }`, the call rejects with
   * `InvalidArgumentError` and nothing is booked.
   * @default the chat estimator (prompt estimate + max output)
   */
  readonly estimate?: (request: Req, context: CallContext) => number | TokenEstimate;
  /**
   * The usage the provider reported. A promise settles the permit when it resolves, without
   * holding the response back: a stream's usage arrives with its last chunk. Usage that cannot
   * be read — the function throws, its promise rejects, a field is not a count — settles the
   * permit without usage (the reservation stays booked) and is the limiter's `error` event.
   * @default reads an OpenAI-style `usage` field (a field that is not a count is reported)
   */
  readonly usage?: (response: Res) => Usage | undefined | Promise<Usage | undefined>;
  /**
   * What the provider's answer — a response or an error — says about the quota: a pause
   * until its reset, a throttle after a burst refusal. The verdict goes to
   * `limiter.heed()` before the answer goes up, so a retry above is admitted under it.
   * `quotaFeedback()` from `@tollgate/retry` reads provider errors and rate-limit headers. A
   * feedback function that throws ends the call with its error.
   * @default none
   */
  readonly feedback?: (outcome: CallOutcome<Res>) => MaybePromise<QuotaFeedback | undefined>;
  /** Queue priority, fixed or per call. @default 0 */
  readonly priority?: number | ((request: Req, context: CallContext) => number);
  /** Longest wait for admission; see `AcquireOptions.maxWaitMs`. @default the limiter's */
  readonly maxWaitMs?: number;
  /**
   * Whether a failed call may have reached the provider. One that certainly did not is
   * cancelled (refunded); one that may have keeps its reservation, as the provider may have
   * counted it; so does one whose `sent` throws (an `error` event). @default true, unless a network error code along the error's `cause` chain
   * proves the request never left (`ECONNREFUSED`, `ENOTFOUND`, `EAI_AGAIN`, a connect
   * timeout…)
   */
  readonly sent?: (error: unknown) => boolean;
}

const LIMIT_KEYS = ['estimate', 'usage', 'feedback', 'priority', 'maxWaitMs', 'sent'];

/** The limiter a call is admitted by: one, or one per account and model of the context. */
export type LimiterFor = Limiter | ((context: CallContext) => Limiter);

/**
 * A layer for any call whose request is an OpenAI-style chat request: what `limit(limiter)`
 * returns with the default estimator. Being generic, it takes the types of the call it wraps,
 * so `pipeline(retry(), limit(limiter))(callModel)` needs no type arguments.
 */
export type ChatLayer = <Req extends ChatRequestLike, Res>(next: Call<Req, Res>) => Call<Req, Res>;

/**
 * The limiter as a pipeline layer — the one admit → call → settle path of Tollgate. Each call
 * waits for admission (with the context's signal), runs with its permit in the context, and
 * then its permit is settled with the response's usage, kept when the call failed after it
 * may have been sent, or cancelled when it certainly was not; what the answer says about the
 * quota (`feedback`) is heeded by the limiter.
 *
 * The limiter may depend on the context — `limit((context) => limiters.get(context.model))` —
 * so that the account and model chosen by the layers above pick the quota.
 *
 * @example
 * const send = pipeline(limit(limiter))(callModel);
 */
export function limit<Req, Res>(
  limiter: LimiterFor,
  options: LimitOptions<Req, Res> & {
    readonly estimate: (request: Req, context: CallContext) => number | TokenEstimate;
  },
): Layer<Req, Res>;
export function limit(
  limiter: LimiterFor,
  options?: LimitOptions<ChatRequestLike, unknown>,
): ChatLayer;
export function limit<Req, Res>(
  limiter: LimiterFor,
  options: LimitOptions<Req, Res> = {},
): Layer<Req, Res> {
  const limiterOf = limiterResolver(limiter);
  checkOptions(options, 'limit', LIMIT_KEYS);
  const estimate =
    options.estimate === undefined
      ? (request: Req) => defaultChatEstimator.estimate(request as ChatRequestLike)
      : checkFunction(options.estimate, 'limit.estimate');
  const readUsage =
    options.usage === undefined
      ? (response: Res) => readOpenAIUsage(response, reportMalformed)
      : checkFunction(options.usage, 'limit.usage');
  const feedback =
    options.feedback === undefined ? undefined : checkFunction(options.feedback, 'limit.feedback');
  const sent =
    options.sent === undefined ? mayHaveBeenSent : checkFunction(options.sent, 'limit.sent');
  const { priority = 0, maxWaitMs } = options;
  if (typeof priority !== 'function') {
    if (typeof priority !== 'number') {
      throw new ConfigurationError(
        mustBe('a finite number or a function', priority),
        'limit.priority',
      );
    }
    checkNumber(priority, 'limit.priority');
  }
  if (maxWaitMs !== undefined)
    checkNumber(maxWaitMs, 'limit.maxWaitMs', { min: 0, infinity: true });

  /** The request's cost by the `estimate` option, or a typed error before anything is booked. */
  const tokensOf = (request: Req, context: CallContext): number | TokenEstimate => {
    let tokens: unknown;
    try {
      tokens = estimate(request, context);
    } catch (error) {
      throw isTollgateError(error) ? error : unestimable(error);
    }
    return checkTokens(tokens, 'limit.estimate(request)');
  };

  /** Whether the failed call may have been sent; `true` when `sent` itself fails. */
  const wasSent = (quota: Limiter, error: unknown): boolean => {
    try {
      return sent(error);
    } catch (problem) {
      quota[reportError]?.(problem);
      return true;
    }
  };

  /** The answer's verdict on the quota, applied before the answer goes up. */
  const heed = async (quota: Limiter, outcome: CallOutcome<Res>): Promise<void> => {
    const verdict = await feedback?.(outcome);
    if (verdict !== undefined) await quota.heed(verdict);
  };

  return (next) => async (request, context) => {
    const quota = limiterOf(context);
    const { signal, admitted } = context;
    const tokens = tokensOf(request, context);
    const rank = typeof priority === 'function' ? priority(request, context) : priority;
    context.waiting?.();
    const permit = await quota.acquire({
      tokens,
      priority: rank,
      ...(signal === undefined ? {} : { signal }),
      ...(maxWaitMs === undefined ? {} : { maxWaitMs }),
    });
    try {
      admitted?.(permit);
    } catch (error) {
      permit.cancel();
      throw error;
    }
    if (signal?.aborted) {
      // admitted in the same turn as the abort, or stopped by `admitted`: nothing was sent
      permit.cancel();
      throw new WaitAbortedError(permit.waitedMs, undefined, signal.reason);
    }
    let response: Res;
    try {
      response = await next(request, { ...withoutHooks(context), permit });
    } catch (error) {
      if (permit.state === 'active') {
        if (wasSent(quota, error)) permit.settle();
        else permit.cancel();
      }
      if (feedback !== undefined) await heed(quota, { ok: false, error });
      throw error;
    }
    settleWith(quota, permit, () => readUsage(response));
    if (feedback !== undefined) await heed(quota, { ok: true, response });
    return response;
  };
}

/**
 * Reads `usage.{prompt_tokens, completion_tokens, total_tokens}` from an OpenAI-style response,
 * leaving out a field that is missing, `null` or not a count. (`limit()`'s default reader
 * reports such a field instead.)
 */
export function openAIUsage(response: unknown): Usage | undefined {
  return readOpenAIUsage(response, () => undefined);
}

/** What a usage reader does with a value of the wrong form: leave it out, or throw. */
type Malformed = (expected: string, value: unknown, path: string) => undefined;

const reportMalformed: Malformed = (expected, value, path) => {
  throw new InvalidArgumentError(mustBe(expected, value), path);
};

function readOpenAIUsage(response: unknown, malformed: Malformed): Usage | undefined {
  if (typeof response !== 'object' || response === null || !('usage' in response)) return undefined;
  const usage = response.usage;
  if (usage === undefined || usage === null) return undefined;
  if (typeof usage !== 'object') return malformed('an object', usage, 'response.usage');
  const field = (name: string): number | undefined => {
    const value = (usage as Record<string, unknown>)[name];
    if (value === undefined || value === null || isAmount(value)) return value ?? undefined;
    return malformed('a finite number >= 0', value, `response.usage.${name}`);
  };
  const promptTokens = field('prompt_tokens');
  const completionTokens = field('completion_tokens');
  const totalTokens = field('total_tokens');
  return {
    ...(promptTokens === undefined ? {} : { promptTokens }),
    ...(completionTokens === undefined ? {} : { completionTokens }),
    ...(totalTokens === undefined ? {} : { totalTokens }),
  };
}

/** The context without the hooks meant for this `limit()` alone; itself when it has none. */
function withoutHooks(context: CallContext): CallContext {
  if (context.waiting === undefined && context.admitted === undefined) return context;
  const { waiting: _waiting, admitted: _admitted, ...below } = context;
  return below;
}

function limiterResolver(limiter: LimiterFor): (context: CallContext) => Limiter {
  checkLimiter(limiter, 'limit.limiter');
  return typeof limiter === 'function' ? limiter : () => limiter;
}

/**
 * Settles the permit with the usage read from the response, now or when it arrives (a call
 * below may have settled it already). Usage that cannot be read — the reader throws, its
 * promise rejects, a field is not a count — settles it without usage, so the reservation stays
 * booked (the provider counted the request), and is reported as the limiter's `error` event:
 * the response has gone up, or is going up, and is what the caller needs.
 */
function settleWith(
  quota: Limiter,
  permit: Permit,
  read: () => MaybePromise<Usage | undefined>,
): void {
  const unreadable = (error: unknown) => {
    if (permit.state === 'active') permit.settle();
    quota[reportError]?.(error);
  };
  const settle = (usage: Usage | undefined) => {
    // an expired permit still learns from its usage (a stream longer than the lease)
    if (permit.state === 'settled' || permit.state === 'cancelled') return;
    try {
      permit.settle(usage);
    } catch (error) {
      unreadable(error);
    }
  };
  let usage: MaybePromise<Usage | undefined>;
  try {
    usage = read();
  } catch (error) {
    unreadable(error);
    return;
  }
  if (isPromiseLike(usage)) usage.then(settle, unreadable);
  else settle(usage);
}

/** The error of an `estimate` that threw: the request could not be costed. */
function unestimable(cause: unknown): InvalidArgumentError {
  const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  return new InvalidArgumentError(`could not be estimated (${reason})`, 'request', { cause });
}
