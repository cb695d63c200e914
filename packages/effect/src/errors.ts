/**
 * Tollgate's failures as tagged errors, so `Effect.catchTag` works: the limiter's own (a wait
 * that timed out, a request too large for a window, a store that failed) and a provider's, as
 * `@tollgate/retry` classifies them. Each carries `cause`: the original error.
 */
import { isTollgateError } from '@tollgate/core';
import { type Classification, classify, type Provider } from '@tollgate/retry';
import { Data, Duration } from 'effect';

/** The message of `cause` when it is an error with one, else `fallback`. */
const messageOf = (cause: unknown, fallback: string): string =>
  cause instanceof Error && cause.message !== '' ? cause.message : fallback;

// ---------------------------------------------------------------------------------------------
// The limiter's errors

/** Admission would take (or took) longer than `maxWaitMs`: core's `WaitTimeoutError`. */
export class QuotaWaitTimeout extends Data.TaggedError('QuotaWaitTimeout')<{
  readonly maxWaitMs: number;
  /** How long the request had waited when it was rejected. */
  readonly waitedMs: number;
  /** The whole wait the limiter computed, when it knew it. */
  readonly expectedWaitMs: number | undefined;
  readonly cause?: unknown;
}> {
  override get message(): string {
    return messageOf(this.cause, `not admitted within maxWaitMs=${this.maxWaitMs}`);
  }
}

/**
 * An `AbortSignal` of your own stopped the wait: core's `WaitAbortedError`. Interrupting the
 * fiber is no error: it interrupts.
 */
export class QuotaWaitAborted extends Data.TaggedError('QuotaWaitAborted')<{
  readonly waitedMs: number;
  readonly cause?: unknown;
}> {
  override get message(): string {
    return messageOf(this.cause, `wait aborted after ${Math.round(this.waitedMs)} ms`);
  }
}

/** The request can never be admitted: a window never holds that much. Core's `RequestTooLargeError`. */
export class RequestTooLarge extends Data.TaggedError('RequestTooLarge')<{
  /** The window, e.g. `tokens/1s`. */
  readonly window: string;
  /** What the window holds at most (after the margin). */
  readonly limit: number;
  readonly requested: number;
  readonly cause?: unknown;
}> {
  override get message(): string {
    return messageOf(
      this.cause,
      `request needs ${this.requested} in window ${this.window}, which never holds more than ${this.limit}`,
    );
  }
}

/** The store cannot be reached now and recorded nothing: core's `StoreUnavailableError`. */
export class StoreUnavailable extends Data.TaggedError('StoreUnavailable')<{
  /** When the store suggests being asked again. */
  readonly retryInMs: number;
  readonly cause?: unknown;
}> {
  override get message(): string {
    return messageOf(this.cause, `the store is unavailable; ask again in ${this.retryInMs} ms`);
  }
}

/** The store failed (answered nonsense, a script error): core's `StoreError`. */
export class StoreFailure extends Data.TaggedError('StoreFailure')<{
  readonly cause?: unknown;
}> {
  override get message(): string {
    return messageOf(this.cause, 'the store failed');
  }
}

/** The limiter was closed (its layer released) while the request waited: `LimiterClosedError`. */
export class QuotaClosed extends Data.TaggedError('QuotaClosed')<{
  readonly cause?: unknown;
}> {
  override get message(): string {
    return messageOf(this.cause, 'limiter is closed');
  }
}

/** What waiting for admission can fail with. */
export type AdmissionError =
  | QuotaWaitTimeout
  | QuotaWaitAborted
  | RequestTooLarge
  | StoreUnavailable
  | StoreFailure
  | QuotaClosed;

/**
 * Core's error, by its code, as a tagged error; `undefined` for anything else — a
 * `ConfigurationError`, `InvalidArgumentError` or `PermitStateError` is a bug in the caller's
 * code, which the layers of this package turn into a defect (`Effect.die`), not a typed failure.
 *
 * @example
 * Effect.tryPromise({ try: () => limiter.acquire(), catch: (e) => fromTollgateError(e) ?? e });
 */
export function fromTollgateError(error: unknown): AdmissionError | undefined {
  if (!isTollgateError(error)) return undefined;
  switch (error.code) {
    case 'TOLLGATE_WAIT_TIMEOUT': {
      const e = error as unknown as {
        maxWaitMs: number;
        waitedMs: number;
        expectedWaitMs: number | undefined;
      };
      return new QuotaWaitTimeout({
        maxWaitMs: e.maxWaitMs,
        waitedMs: e.waitedMs,
        expectedWaitMs: e.expectedWaitMs,
        cause: error,
      });
    }
    case 'TOLLGATE_WAIT_ABORTED':
      return new QuotaWaitAborted({
        waitedMs: (error as unknown as { waitedMs: number }).waitedMs,
        cause: error,
      });
    case 'TOLLGATE_REQUEST_TOO_LARGE': {
      const e = error as unknown as { window: string; limit: number; requested: number };
      return new RequestTooLarge({
        window: e.window,
        limit: e.limit,
        requested: e.requested,
        cause: error,
      });
    }
    case 'TOLLGATE_STORE_UNAVAILABLE':
      return new StoreUnavailable({
        retryInMs: (error as unknown as { retryInMs: number }).retryInMs,
        cause: error,
      });
    case 'TOLLGATE_STORE':
      return new StoreFailure({ cause: error });
    case 'TOLLGATE_LIMITER_CLOSED':
      return new QuotaClosed({ cause: error });
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// A provider's failures, classified by @tollgate/retry

/** What every provider failure carries besides its own fields. */
interface ProviderFailureFields {
  /** `@tollgate/retry`'s verdict: `kind`, `retryable`, `retryAfterMs`, `status`, `code`… */
  readonly classification: Classification;
  /** The error the call failed with (an `openai` SDK `APIError`, a fetch `Response`…). */
  readonly cause: unknown;
}

/** `kind (status code): message`, from the classification, else the cause's message. */
const describe = (classification: Classification, cause: unknown): string => {
  const where = [classification.status, classification.code].filter((part) => part !== undefined);
  const what = classification.message ?? messageOf(cause, 'no message');
  return `${classification.kind}${where.length > 0 ? ` (${where.join(' ')})` : ''}: ${what}`;
};

const hint = (classification: Classification): Duration.Duration | undefined =>
  classification.retryAfterMs === undefined
    ? undefined
    : Duration.millis(classification.retryAfterMs);

/** A 429 for rate: requests or tokens per window, or the burst guard. Retry after `retryAfter`. */
export class RateLimited extends Data.TaggedError('RateLimited')<
  ProviderFailureFields & {
    readonly kind: 'request-rate' | 'token-rate' | 'burst';
    /** How long the provider asked to wait, when it said. */
    readonly retryAfter: Duration.Duration | undefined;
  }
> {
  override get message(): string {
    return describe(this.classification, this.cause);
  }
}

/** The account or model is out of quota (free tier used up, billing): rotate or fall back. */
export class QuotaExhausted extends Data.TaggedError('QuotaExhausted')<ProviderFailureFields> {
  override get message(): string {
    return describe(this.classification, this.cause);
  }
}

/** The key was rejected (401, 403). */
export class AuthRejected extends Data.TaggedError('AuthRejected')<ProviderFailureFields> {
  override get message(): string {
    return describe(this.classification, this.cause);
  }
}

/** The request exceeds the model's context window: a larger model may take it. */
export class ContextTooLong extends Data.TaggedError('ContextTooLong')<ProviderFailureFields> {
  override get message(): string {
    return describe(this.classification, this.cause);
  }
}

/** Any other 4xx: the request itself is wrong. */
export class BadRequest extends Data.TaggedError('BadRequest')<ProviderFailureFields> {
  override get message(): string {
    return describe(this.classification, this.cause);
  }
}

/** A 5xx, a timeout or a network failure: passing, retried with backoff. */
export class ProviderUnavailable extends Data.TaggedError('ProviderUnavailable')<
  ProviderFailureFields & {
    readonly kind: 'server' | 'timeout' | 'network';
    readonly retryAfter: Duration.Duration | undefined;
  }
> {
  override get message(): string {
    return describe(this.classification, this.cause);
  }
}

/** Nothing Tollgate recognises (a `TypeError` of your own code, say): not retried. */
export class UnknownFailure extends Data.TaggedError('UnknownFailure')<ProviderFailureFields> {
  override get message(): string {
    return describe(this.classification, this.cause);
  }
}

/** A provider failure, by what to do about it. */
export type ProviderFailure =
  | RateLimited
  | QuotaExhausted
  | AuthRejected
  | ContextTooLong
  | BadRequest
  | ProviderUnavailable
  | UnknownFailure;

const PROVIDER_FAILURE_TAGS: ReadonlySet<string> = new Set([
  'RateLimited',
  'QuotaExhausted',
  'AuthRejected',
  'ContextTooLong',
  'BadRequest',
  'ProviderUnavailable',
  'UnknownFailure',
]);

/** True for a failure {@link classifyError} made. */
export function isProviderFailure(error: unknown): error is ProviderFailure {
  return (
    typeof error === 'object' &&
    error !== null &&
    '_tag' in error &&
    typeof error._tag === 'string' &&
    PROVIDER_FAILURE_TAGS.has(error._tag) &&
    'classification' in error
  );
}

/** Options of {@link classifyError}. */
export interface ClassifyErrorOptions {
  /** Whose error table applies (`insufficient_quota` differs). @default 'generic' */
  readonly provider?: Provider;
  /** A classifier of your own (a retry policy's `classifier`), instead of `provider`. */
  readonly classifier?: (error: unknown) => Classification;
}

/**
 * Classification as a typed function: what a provider's error (an `openai` SDK error, a fetch
 * `Response`, a Node network error) means, as a tagged error to `catchTag` on. A failure it
 * made already is returned as it is.
 *
 * @example
 * const call = Effect.tryPromise({
 *   try: (signal) => client.chat.completions.create(request, { signal }),
 *   catch: (error) => classifyError(error, { provider: 'dashscope' }),
 * });
 * call.pipe(Effect.catchTag('QuotaExhausted', () => callOtherModel));
 */
export function classifyError(error: unknown, options: ClassifyErrorOptions = {}): ProviderFailure {
  if (isProviderFailure(error)) return error;
  const classification =
    options.classifier === undefined
      ? classify(error, options.provider ?? 'generic')
      : options.classifier(error);
  return fromClassification(classification, error);
}

/** The tagged error of a `@tollgate/retry` classification. */
export function fromClassification(
  classification: Classification,
  cause: unknown,
): ProviderFailure {
  const fields = { classification, cause };
  switch (classification.kind) {
    case 'request-rate':
    case 'token-rate':
    case 'burst':
      return new RateLimited({
        ...fields,
        kind: classification.kind,
        retryAfter: hint(classification),
      });
    case 'quota-exhausted':
      return new QuotaExhausted(fields);
    case 'auth':
      return new AuthRejected(fields);
    case 'context-length':
      return new ContextTooLong(fields);
    case 'bad-request':
      return new BadRequest(fields);
    case 'server':
    case 'timeout':
    case 'network':
      return new ProviderUnavailable({
        ...fields,
        kind: classification.kind,
        retryAfter: hint(classification),
      });
    default:
      return new UnknownFailure(fields);
  }
}

// ---------------------------------------------------------------------------------------------
// What the promise-based layers give up with

/** `@tollgate/retry` stopped retrying: attempts or time budget spent, a hint too long, the budget out. */
export class RetryGaveUp extends Data.TaggedError('RetryGaveUp')<{
  readonly reason: 'max-attempts' | 'max-elapsed' | 'retry-after-too-long' | 'budget';
  readonly attempts: number;
  /** The last attempt's failure, classified. */
  readonly last: ProviderFailure;
  readonly cause: unknown;
}> {
  override get message(): string {
    return messageOf(
      this.cause,
      `retrying stopped (${this.reason}) after ${this.attempts} attempts: ${this.last.message}`,
    );
  }
}

/** `@tollgate/fallback`: no model of the chain could take the request. */
export class ModelsUnavailable extends Data.TaggedError('ModelsUnavailable')<{
  readonly models: ReadonlyArray<{ readonly model: string; readonly reason: unknown }>;
  readonly cause: unknown;
}> {
  override get message(): string {
    return messageOf(
      this.cause,
      `no model could take the request (${this.models.map((m) => m.model).join(', ')})`,
    );
  }
}

/** `@tollgate/rotation`: every account of the pool is held or out. */
export class AccountsUnavailable extends Data.TaggedError('AccountsUnavailable')<{
  /** When the first held account returns, in ms (Infinity when none will). */
  readonly returnsInMs: number;
  readonly cause: unknown;
}> {
  override get message(): string {
    return messageOf(this.cause, 'every account is held or out');
  }
}

/** What a call through Tollgate's layers can fail with besides its own errors. */
export type PipelineFailure =
  | AdmissionError
  | ProviderFailure
  | RetryGaveUp
  | ModelsUnavailable
  | AccountsUnavailable;

const RETRY_REASONS = {
  TOLLGATE_RETRY_AFTER_TOO_LONG: 'retry-after-too-long',
  TOLLGATE_RETRY_BUDGET_EXCEEDED: 'budget',
} as const;

/**
 * Any error a Tollgate layer or a provider rejects with, as a tagged error: core's (see
 * {@link fromTollgateError}), retry's give-ups, fallback's and rotation's "nothing can take it",
 * and else the provider's failure, classified. `undefined` for a bug in the caller's code
 * (core's `ConfigurationError`, `InvalidArgumentError`, `PermitStateError`): make it a defect.
 */
export function fromPipelineError(
  error: unknown,
  options: ClassifyErrorOptions = {},
): PipelineFailure | undefined {
  if (!isTollgateError(error)) return classifyError(error, options);
  const admission = fromTollgateError(error);
  if (admission !== undefined) return admission;
  const code: string = error.code;
  const fields = error as unknown as Record<string, unknown>;
  switch (code) {
    case 'TOLLGATE_RETRY_EXHAUSTED':
    case 'TOLLGATE_RETRY_AFTER_TOO_LONG':
    case 'TOLLGATE_RETRY_BUDGET_EXCEEDED':
      return new RetryGaveUp({
        reason:
          code === 'TOLLGATE_RETRY_EXHAUSTED'
            ? (fields.reason as 'max-attempts' | 'max-elapsed')
            : RETRY_REASONS[code],
        attempts: fields.attempts as number,
        last: classifyError(fields.lastError, options),
        cause: error,
      });
    case 'TOLLGATE_MODELS_UNAVAILABLE':
      return new ModelsUnavailable({
        models: fields.models as ReadonlyArray<{ model: string; reason: unknown }>,
        cause: error,
      });
    case 'TOLLGATE_ALL_ACCOUNTS_UNAVAILABLE':
      return new AccountsUnavailable({ returnsInMs: fields.returnsInMs as number, cause: error });
    case 'TOLLGATE_CONFIGURATION':
    case 'TOLLGATE_INVALID_ARGUMENT':
    case 'TOLLGATE_PERMIT_STATE':
      return undefined;
    default:
      return classifyError(error, options);
  }
}
