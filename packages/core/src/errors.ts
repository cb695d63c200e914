const BRAND = Symbol.for('@tollgate/error');

/**
 * Every Tollgate error, by its stable `code`: the one registry of the family. Packages add
 * their errors by declaration merging, so {@link isTollgateError} narrows to their classes too:
 *
 * @example
 * declare module '@tollgate/core' {
 *   interface TollgateErrors {
 *     TOLLGATE_RETRY_EXHAUSTED: RetryExhaustedError;
 *   }
 * }
 */
export interface TollgateErrors {
  TOLLGATE_CONFIGURATION: ConfigurationError;
  TOLLGATE_INVALID_ARGUMENT: InvalidArgumentError;
  TOLLGATE_REQUEST_TOO_LARGE: RequestTooLargeError;
  TOLLGATE_WAIT_TIMEOUT: WaitTimeoutError;
  TOLLGATE_WAIT_ABORTED: WaitAbortedError;
  TOLLGATE_PERMIT_STATE: PermitStateError;
  TOLLGATE_LIMITER_CLOSED: LimiterClosedError;
  TOLLGATE_STORE: StoreError;
  TOLLGATE_STORE_UNAVAILABLE: StoreUnavailableError;
}

/** The code of every error Tollgate throws; match on it, not on messages. */
export type TollgateErrorCode = keyof TollgateErrors;

/**
 * Base class of every error of every Tollgate package. Errors are branded with a global
 * symbol, so {@link isTollgateError} recognises them even when two copies of a package are
 * bundled.
 */
export abstract class TollgateError extends Error {
  abstract readonly code: TollgateErrorCode;
  readonly [BRAND] = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A quota or an options object is invalid. Thrown at construction, never later. */
export class ConfigurationError extends TollgateError {
  readonly code = 'TOLLGATE_CONFIGURATION';
  constructor(
    message: string,
    /** The option path at fault, e.g. `windows[1].limit`. */
    readonly option: string,
  ) {
    super(`${option}: ${message}`);
  }
}

/** An argument passed to a call (tokens, priority, maxWaitMs, usage…) is invalid. */
export class InvalidArgumentError extends TollgateError {
  readonly code = 'TOLLGATE_INVALID_ARGUMENT';
  constructor(
    message: string,
    readonly argument: string,
    options?: { cause?: unknown },
  ) {
    super(`${argument}: ${message}`, options);
  }
}

/** The request can never be admitted: its cost exceeds what one window can ever hold. */
export class RequestTooLargeError extends TollgateError {
  readonly code = 'TOLLGATE_REQUEST_TOO_LARGE';
  constructor(
    /** The window's name, e.g. `tokens/1s`. */
    readonly window: string,
    /** The window's effective limit (after the safety margin). */
    readonly limit: number,
    /** What the request asked for in that window's unit. */
    readonly requested: number,
  ) {
    super(`request needs ${requested} in window ${window}, which never holds more than ${limit}`);
  }
}

/** The wait for admission would exceed (or exceeded) `maxWaitMs`. */
export class WaitTimeoutError extends TollgateError {
  readonly code = 'TOLLGATE_WAIT_TIMEOUT';
  constructor(
    readonly maxWaitMs: number,
    /** How long the request had waited when it was rejected. */
    readonly waitedMs: number,
    /** The total wait the limiter computed for this request, when it knew it. */
    readonly expectedWaitMs: number | undefined,
  ) {
    super(
      expectedWaitMs === undefined
        ? `not admitted within maxWaitMs=${maxWaitMs}`
        : `admission needs ${Math.ceil(expectedWaitMs)} ms, more than maxWaitMs=${maxWaitMs}`,
    );
  }
}

/** The caller's `AbortSignal` fired while the request waited. `cause` is the signal's reason. */
export class WaitAbortedError extends TollgateError {
  readonly code = 'TOLLGATE_WAIT_ABORTED';
  constructor(
    readonly waitedMs: number,
    readonly expectedWaitMs: number | undefined,
    cause: unknown,
  ) {
    super(`wait aborted after ${Math.round(waitedMs)} ms`, { cause });
  }
}

/** A permit was settled twice, or settled after it was cancelled (or the reverse). */
export class PermitStateError extends TollgateError {
  readonly code = 'TOLLGATE_PERMIT_STATE';
  constructor(
    readonly state: 'settled' | 'cancelled',
    attempted: 'settle' | 'cancel',
  ) {
    super(`cannot ${attempted} a permit that is already ${state}`);
  }
}

/** The limiter was closed; pending and future acquisitions reject with this. */
export class LimiterClosedError extends TollgateError {
  readonly code = 'TOLLGATE_LIMITER_CLOSED';
  constructor() {
    super('limiter is closed');
  }
}

/** The store failed (unreachable, timed out, answered nonsense). `cause` has the original. */
export class StoreError extends TollgateError {
  readonly code = 'TOLLGATE_STORE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The store cannot be reached now and recorded nothing (connection refused or lost, no answer
 * in time): a passing condition, unlike {@link StoreError}. The limiter keeps its waiters
 * waiting — each bounded by its own `maxWaitMs` and `signal` — and asks the store again after
 * `retryInMs`; no one is admitted meanwhile. Stores throw it from `admit`; `cause` has the
 * original.
 */
export class StoreUnavailableError extends TollgateError {
  readonly code = 'TOLLGATE_STORE_UNAVAILABLE';
  /** When the store suggests being asked again, in milliseconds. */
  readonly retryInMs: number;
  constructor(message: string, options: { cause?: unknown; retryInMs: number }) {
    super(message, options);
    this.retryInMs = options.retryInMs;
  }
}

/**
 * True when `error` is a Tollgate error of any package (optionally of one code). Works across
 * bundled copies.
 *
 * @example
 * if (isTollgateError(error, 'TOLLGATE_WAIT_TIMEOUT')) console.log(error.expectedWaitMs);
 */
export function isTollgateError(error: unknown): error is TollgateError;
export function isTollgateError<C extends TollgateErrorCode>(
  error: unknown,
  code: C,
): error is TollgateErrors[C];
export function isTollgateError(error: unknown, code?: TollgateErrorCode): boolean {
  if (typeof error !== 'object' || error === null || !(BRAND in error)) return false;
  return code === undefined || (error as { code?: unknown }).code === code;
}
