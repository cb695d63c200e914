import {
  type Call,
  type CallContext,
  type ChatRequestLike,
  ConfigurationError,
  defaultChatEstimator,
  InvalidArgumentError,
  type Layer,
  type TokenEstimate,
} from '@tollgate/core';
import { anySignal } from '@tollgate/core/signals';
import { checkFunction, checkNumber, checkOptions, mustBe } from '@tollgate/core/validate';
import { AllAccountsUnavailableError } from './errors.js';
import { Pool } from './internal/pool.js';
import type { AccountPool } from './pool.js';

/** What `rotate()` needs of a request: the model it is for (unless `context.model` says). */
export interface ModelRequest {
  readonly model?: string;
}

export interface RotateOptions<Req> {
  /**
   * The request's cost in tokens, by which accounts are ranked (`'most-headroom'`). Give the
   * same estimate as `limit()`'s.
   * @default core's chat estimator: prompt estimate + output cap
   */
  readonly estimate?: (request: Req, context: CallContext) => number | TokenEstimate;
  /**
   * The longest hold worth waiting for. An account held longer, or out, is passed over; when
   * every one is, the call fails with `AllAccountsUnavailableError` instead of waiting. When all
   * are held within it, the call goes to the one back soonest (`limit()` waits out the hold).
   * @default Infinity
   */
  readonly maxWaitMs?: number;
}

/**
 * What `rotate(pool)` returns with the default estimator: a layer for any call whose request is
 * an OpenAI-style chat request with a `model`.
 */
export type RotateLayer = <Req extends ChatRequestLike & ModelRequest, Res>(
  next: Call<Req, Res>,
) => Call<Req, Res>;

/**
 * The pool as a pipeline layer: each call goes to the account the pool's strategy picks, with
 * `context.account` (the credentials the transport sends) and `context.model` set, so that
 * `limit(pool.limiterFor)` below admits it by that account's billing-group quota. A failure
 * that is the account's — a throttle (held), an exhausted quota or a rejected key (retired) —
 * is recorded in the pool, and the call moves on to another account, each account at most
 * once per call; once every candidate was tried, the last error goes up, for a `retry()` above
 * to try again later. Any other failure goes up at once, as does one after output started.
 *
 * @example
 * const send = pipeline(
 *   retry({ provider: 'dashscope' }),
 *   rotate(pool),
 *   limit(pool.limiterFor, { feedback: quotaFeedback({ provider: 'dashscope' }) }),
 * )(callModel);
 */
export function rotate<Req extends ModelRequest, Res>(
  pool: AccountPool,
  options: RotateOptions<Req> & {
    readonly estimate: (request: Req, context: CallContext) => number | TokenEstimate;
  },
): Layer<Req, Res>;
export function rotate(
  pool: AccountPool,
  options?: RotateOptions<ChatRequestLike & ModelRequest>,
): RotateLayer;
export function rotate<Req extends ModelRequest, Res>(
  pool: AccountPool,
  options: RotateOptions<Req> = {},
): Layer<Req, Res> {
  if (!(pool instanceof Pool)) {
    throw new ConfigurationError(mustBe('a pool made by accountPool()', pool), 'rotate.pool');
  }
  checkOptions(options, 'rotate', ['estimate', 'maxWaitMs']);
  const estimate =
    options.estimate === undefined
      ? (request: Req) => defaultChatEstimator.estimate(request as unknown as ChatRequestLike)
      : checkFunction(options.estimate, 'rotate.estimate');
  const maxWaitMs = checkNumber(options.maxWaitMs ?? Number.POSITIVE_INFINITY, 'rotate.maxWaitMs', {
    min: 0,
    infinity: true,
  });

  return (next) => async (request, context) => {
    const model = context.model ?? request.model;
    if (typeof model !== 'string' || model === '') {
      throw new InvalidArgumentError(
        mustBe('a model name', model),
        'context.model ?? request.model',
      );
    }
    const tokens = costOf(estimate(request, context));
    const tried = new Set<string>();
    let failed: { readonly error: unknown } | undefined;
    for (;;) {
      const pick = await pool.pick(model, tokens, maxWaitMs, tried);
      if ('states' in pick) {
        const waitable = pick.states.some(
          (state) => state.status !== 'out' && state.returnsInMs <= maxWaitMs,
        );
        // every account worth waiting for was tried by this call: a retry above waits for one
        if (failed !== undefined && waitable) throw failed.error;
        throw new AllAccountsUnavailableError(
          model,
          pick.states,
          maxWaitMs,
          failed === undefined ? undefined : { cause: failed.error },
        );
      }
      tried.add(pick.account.id);
      let outputStarted = false;
      // stopped while it waits for admission when the account is retired meanwhile
      const own = new AbortController();
      const joined = anySignal([context.signal, own.signal]);
      let unwatch: (() => void) | undefined;
      const admitted = () => {
        unwatch?.();
        unwatch = undefined;
      };
      try {
        const response = await next(request, {
          ...context,
          ...(joined.signal === undefined ? {} : { signal: joined.signal }),
          account: pick.account.credentials,
          model,
          waiting: () => {
            if (!own.signal.aborted) {
              unwatch ??= pool.watch(pick.account, model, () => {
                admitted();
                own.abort(new Error(`account '${pick.account.id}' was retired`));
              });
            }
            context.waiting?.();
          },
          admitted: (permit) => {
            admitted();
            context.admitted?.(permit);
          },
          outputStarted: () => {
            outputStarted = true;
            context.outputStarted?.();
          },
        });
        pool.served(pick.account, model);
        return response;
      } catch (error) {
        if (own.signal.aborted && !context.signal?.aborted) continue; // retired: another account
        const verdict = await pool.report(pick.account, model, error);
        if (verdict === undefined || outputStarted || context.signal?.aborted) throw error;
        failed = { error };
      } finally {
        admitted();
        joined.dispose();
        pick.release();
      }
    }
  };
}

function costOf(estimate: number | TokenEstimate): number {
  const tokens = typeof estimate === 'number' ? estimate : estimate.prompt + estimate.output;
  return checkNumber(tokens, 'rotate.estimate(request)', { min: 0 }, InvalidArgumentError);
}
