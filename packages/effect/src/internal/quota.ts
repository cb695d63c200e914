import {
  type AcquireOptions,
  type CallOutcome,
  ConfigurationError,
  InvalidArgumentError,
  Limiter,
  type LimiterOptions,
  type LimiterSnapshot,
  mayHaveBeenSent,
  type Permit,
  type QuotaFeedback,
  type Store,
  type TokenEstimate,
  type Usage,
} from '@tollgate/core';
import { checkFunction, checkOptions } from '@tollgate/core/validate';
import { Cause, Effect, Exit, type Scope } from 'effect';
import { type AdmissionError, fromTollgateError, isProviderFailure } from '../errors.js';
import { makeTollgateClock } from './clock.js';

/** Options of `withQuota`. */
export interface WithQuotaOptions<A, E> {
  /** What to reserve: a token count, or `{ prompt, output }` (corrected by the learned bias). */
  readonly tokens: number | TokenEstimate;
  /** Higher is admitted first; FIFO within a priority. @default 0 */
  readonly priority?: number;
  /** Fail with `QuotaWaitTimeout` instead of waiting longer. @default the limiter's */
  readonly maxWaitMs?: number;
  /** The usage the provider reported, read from the effect's value. @default none: the booking stays */
  readonly usage?: (value: A) => Usage | undefined;
  /**
   * Whether a failed effect may have reached the provider. Only one that certainly did not is
   * cancelled (refunded). @default true unless a network error code along the error's `cause`
   * chain proves the request never left (`ECONNREFUSED`, `ENOTFOUND`, a connect timeout…)
   */
  readonly sent?: (error: E) => boolean;
  /**
   * What the answer says about the quota — `quotaFeedback({ provider })` of `@tollgate/retry`:
   * a rate refusal pauses the quota for every caller sharing it, a burst refusal throttles it.
   * Heeded before the answer goes up, so a retry above is admitted under it. A classified
   * failure (`RateLimited`…) is passed as its `cause`, the provider's own error.
   * @default none
   */
  readonly feedback?: (
    outcome: CallOutcome<A>,
  ) => QuotaFeedback | undefined | PromiseLike<QuotaFeedback | undefined>;
}

/** What a `Quota` service holds. */
export interface QuotaService {
  /** The core limiter, for what this module does not wrap (`on`, `throttle`, `widenMargin`). */
  readonly limiter: Limiter;
  /** Runs `self` under this quota; see the module-level `withQuota`. */
  readonly withQuota: <A, E, R>(
    self: Effect.Effect<A, E, R>,
    options: WithQuotaOptions<A, E>,
  ) => Effect.Effect<A, E | AdmissionError, R>;
  /** Waits for a permit you settle or cancel yourself; interruption while waiting books nothing. */
  readonly acquire: (
    options?: Omit<AcquireOptions, 'signal'>,
  ) => Effect.Effect<Permit, AdmissionError>;
  /** The quota's windows, queue and in-flight permits. */
  readonly snapshot: Effect.Effect<LimiterSnapshot, AdmissionError>;
  /** Tells the quota what a provider's answer said: a pause, a throttle. Never fails. */
  readonly heed: (feedback: QuotaFeedback) => Effect.Effect<void>;
}

/** Options of a quota built in a layer: the limiter's, less the clock (Effect's) and the store (`QuotaStore`'s). */
export type QuotaOptions = Omit<LimiterOptions, 'clock' | 'store'>;

/** A rejection of the limiter as a typed failure, or a defect for a bug (a bad argument). */
const admissionFailure = (error: unknown): Effect.Effect<never, AdmissionError> => {
  const typed = fromTollgateError(error);
  return typed === undefined ? Effect.die(error) : Effect.fail(typed);
};

const tryLimiter = <A>(run: () => Promise<A>): Effect.Effect<A, AdmissionError> =>
  Effect.flatMap(
    Effect.promise(() =>
      run().then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
    ),
    (result) => (result.ok ? Effect.succeed(result.value) : admissionFailure(result.error)),
  );

/**
 * Waits for admission. Interrupting the fiber aborts the wait through an `AbortSignal`, and a
 * permit admitted in the same instant is cancelled: nothing booked, nothing held.
 */
const acquirePermit = (
  limiter: Limiter,
  options: Omit<AcquireOptions, 'signal'>,
  delivered: { permit?: Permit },
): Effect.Effect<Permit, AdmissionError> =>
  Effect.callback<Permit, AdmissionError>((resume, signal) => {
    limiter.acquire({ ...options, signal }).then(
      (permit) => {
        delivered.permit = permit;
        if (signal.aborted) permit.cancel();
        else resume(Effect.succeed(permit));
      },
      (error: unknown) => {
        if (!signal.aborted) resume(admissionFailure(error));
      },
    );
  });

const settleSafely = (permit: Permit, usage: Usage | undefined): void => {
  if (permit.state !== 'active') return;
  try {
    permit.settle(usage);
  } catch {
    // malformed usage: the permit is still active; keep the booking
    if (permit.state === 'active') permit.settle();
  }
};

const usageOf = <A>(read: ((value: A) => Usage | undefined) | undefined, value: A) => {
  if (read === undefined) return undefined;
  try {
    return read(value);
  } catch {
    return undefined;
  }
};

const wasSent = <E>(sent: ((error: E) => boolean) | undefined, cause: Cause.Cause<E>): boolean => {
  const failure = cause.reasons.find(Cause.isFailReason);
  if (failure === undefined) return true; // a defect or an interruption: it may have been sent
  try {
    return (sent ?? mayHaveBeenSent)(failure.error);
  } catch {
    return true;
  }
};

/** Asks `feedback` what the outcome says and tells the limiter; a failing `feedback` is ignored. */
const heedOutcome = <A, E>(
  limiter: Limiter,
  feedback: WithQuotaOptions<A, E>['feedback'],
  outcome: Exit.Exit<A, E>,
): Effect.Effect<void> => {
  if (feedback === undefined) return Effect.void;
  let answer: CallOutcome<A>;
  if (Exit.isSuccess(outcome)) answer = { ok: true, response: outcome.value };
  else {
    const failure = outcome.cause.reasons.find(Cause.isFailReason);
    if (failure === undefined) return Effect.void; // interrupted or a defect: no answer
    const error: unknown = failure.error;
    answer = { ok: false, error: isProviderFailure(error) ? error.cause : error };
  }
  return Effect.promise(async () => {
    try {
      const verdict = await feedback(answer);
      if (verdict !== undefined) await limiter.heed(verdict);
    } catch {
      // a broken feedback function must not change the call's outcome
    }
  });
};

const WITH_QUOTA_KEYS = ['tokens', 'priority', 'maxWaitMs', 'usage', 'sent', 'feedback'];

/**
 * Checks `withQuota`'s options where they enter (an `InvalidArgumentError`, thrown): unknown
 * keys, and functions that are not. `tokens`, `priority` and `maxWaitMs` are the limiter's to
 * check: a bad one is a defect of the effect.
 */
export function checkWithQuotaOptions(options: unknown): void {
  const record = checkOptions(options, 'withQuota', WITH_QUOTA_KEYS, InvalidArgumentError);
  for (const name of ['usage', 'sent', 'feedback']) {
    if (record[name] !== undefined) {
      checkFunction(record[name], `withQuota.${name}`, InvalidArgumentError);
    }
  }
}

/** The service of one limiter. */
export function makeQuotaService(limiter: Limiter): QuotaService {
  const withQuota = <A, E, R>(
    self: Effect.Effect<A, E, R>,
    options: WithQuotaOptions<A, E>,
  ): Effect.Effect<A, E | AdmissionError, R> => {
    checkWithQuotaOptions(options);
    return Effect.uninterruptibleMask((restore) =>
      Effect.gen(function* () {
        const delivered: { permit?: Permit } = {};
        const admission = yield* Effect.exit(
          restore(
            acquirePermit(
              limiter,
              {
                tokens: options.tokens,
                ...(options.priority === undefined ? {} : { priority: options.priority }),
                ...(options.maxWaitMs === undefined ? {} : { maxWaitMs: options.maxWaitMs }),
              },
              delivered,
            ),
          ),
        );
        if (Exit.isFailure(admission)) {
          // interrupted as the permit arrived: it was never used
          if (delivered.permit?.state === 'active') delivered.permit.cancel();
          return yield* Effect.failCause(admission.cause);
        }
        const permit = admission.value;
        let started = false;
        const outcome = yield* Effect.exit(
          restore(
            Effect.suspend(() => {
              started = true;
              return self;
            }),
          ),
        );
        if (Exit.isSuccess(outcome)) {
          settleSafely(permit, usageOf(options.usage, outcome.value));
        } else if (!started || !wasSent(options.sent, outcome.cause)) {
          if (permit.state === 'active') permit.cancel();
        } else {
          // it may have reached the provider, which counts refused requests too: keep the
          // booking, end the permit
          settleSafely(permit, undefined);
        }
        yield* heedOutcome(limiter, options.feedback, outcome);
        return yield* outcome;
      }),
    );
  };

  return {
    limiter,
    withQuota,
    acquire: (options = {}) => acquirePermit(limiter, options, {}),
    snapshot: tryLimiter(() => limiter.snapshot()),
    heed: (feedback) => Effect.promise(() => limiter.heed(feedback)),
  };
}

/** A limiter on `store`, timed by Effect's `Clock`, closed when the scope closes. */
export function makeQuotaIn(
  store: Store,
  options: QuotaOptions,
): Effect.Effect<QuotaService, never, Scope.Scope> {
  return Effect.map(
    Effect.acquireRelease(
      Effect.flatMap(makeTollgateClock, (clock) =>
        Effect.sync(() => {
          for (const name of ['clock', 'store'] as const) {
            if (typeof options === 'object' && options !== null && name in options) {
              throw new ConfigurationError(
                `not an option here: the ${name === 'clock' ? "clock is Effect's Clock" : "store is QuotaStore's"}`,
                `Quota.${name}`,
              );
            }
          }
          return new Limiter({ ...options, store, clock });
        }),
      ),
      (limiter) => Effect.sync(() => limiter.close()),
    ),
    makeQuotaService,
  );
}
