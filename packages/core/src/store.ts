import type { WindowUnit } from './quota.js';

/**
 * A window as the store enforces it: the quota's window with the limiter's safety margin
 * applied. Stores receive the whole plan on every call, so they hold no configuration.
 */
export interface StoreWindow {
  readonly name: string;
  readonly unit: WindowUnit;
  /** Effective limit: the quota's limit less the margin ratio. */
  readonly limit: number;
  /** Effective length: the quota's length plus the margin in milliseconds. */
  readonly windowMs: number;
  /** Whether admissions on this window are spaced at `windowMs / limit` per unit. */
  readonly paced: boolean;
}

/** Everything a store needs to decide for one quota. Built once by the limiter. */
export interface StorePlan {
  /** A stable text form of the windows; a store may use it to detect two plans on one key. */
  readonly id: string;
  readonly windows: ReadonlyArray<StoreWindow>;
}

/** Identifies one admission in the store, for settlement and cancellation. Opaque. */
export type Ticket = string | number;

/** Options of {@link Store.admit}. */
export interface AdmitOptions {
  /**
   * How late backfilling may push the head's start, on the store's clock. Absent (or earlier
   * than the head's earliest start): backfilling never delays the head.
   */
  readonly headLatestStart?: number;
}

/** The answer to {@link Store.admit}. */
export interface AdmitDecision {
  /** The store's clock when it decided, in milliseconds. */
  readonly now: number;
  /** One slot per candidate: its ticket when admitted, `undefined` when not. */
  readonly tickets: ReadonlyArray<Ticket | undefined>;
  /**
   * When the first candidate that was not admitted (the head) can be, on the store's clock.
   * Absent when every candidate was admitted.
   */
  readonly retryAt?: number;
  /**
   * An instant before `retryAt` at which a later candidate could fit (when backfilling): the
   * caller should ask again then.
   */
  readonly wakeAt?: number;
  /** What holds the head back: a window name, `pace:<window>`, `pause` or `throttle`. */
  readonly blockedBy?: string;
}

/** Usage of one window at a store's instant. */
export interface StoreWindowUsage {
  readonly name: string;
  readonly used: number;
  /** The limit in force now: the plan's, or lower while throttled. */
  readonly limit: number;
}

export interface StoreSnapshot {
  readonly now: number;
  readonly windows: ReadonlyArray<StoreWindowUsage>;
  /** Admissions are held until this instant (store clock); 0 when not paused. */
  readonly pausedUntil: number;
  /** The throttle in force, if any. */
  readonly throttle?: { readonly factor: number; readonly until: number };
  /** How far the margin is widened now, in ms (see {@link Store.widen}); absent when it is not. */
  readonly widenedMs?: number;
}

/** How {@link Store.widen} widens a quota's margin. */
export interface MarginWidening {
  /** Added to the widening in force — which doubles instead once it is wider than this. */
  readonly stepMs: number;
  /** The margin is never widened further. At most `decayMs`. */
  readonly maxMs: number;
  /** The widening decays linearly to nothing over this long after the last one. */
  readonly decayMs: number;
}

/** A value, or a promise of it: in-process stores answer synchronously, remote ones later. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * Where the windows of a quota live. A store makes every decision for a quota atomically and
 * on its own clock, so many limiters (in one process or many) can share a quota.
 *
 * Methods may answer synchronously (the memory store does, which keeps the limiter's hot path
 * free of extra promises) or with a promise (a remote store). Implementations must pass the
 * conformance suite in `@tollgate/core/testing`.
 */
export interface Store {
  /**
   * Admits candidates in order while each fits every window, its pace and any pause. When
   * one does not fit, it becomes the head: the store computes its earliest start and, if
   * `costs` holds more, backfills — admits later candidates that fit now, largest first (ties
   * in queue order), each only if the head can still start by its earliest start or by
   * `options.headLatestStart`, whichever is later. `costs[i]` is candidate i's tokens; each
   * costs one request. A store that cannot be reached, and so recorded nothing, throws
   * `StoreUnavailableError`: the limiter keeps its waiters and asks again after `retryInMs`.
   */
  admit(
    key: string,
    plan: StorePlan,
    costs: ReadonlyArray<number>,
    options?: AdmitOptions,
  ): MaybePromise<AdmitDecision>;
  /** Replaces the tokens booked for an admission (actual accounting). */
  rebook(key: string, plan: StorePlan, ticket: Ticket, tokens: number): MaybePromise<void>;
  /** Refunds an admission entirely: a request that was never sent. */
  release(key: string, plan: StorePlan, ticket: Ticket): MaybePromise<void>;
  /**
   * Moves an admission to the store's now — its request has just left the process: released
   * where it still counts, booked again at now with `tokens` (its booking), without checks and
   * without pace. An admission that has left every window is booked again all the same. Answers
   * the ticket it is booked under: the same one when it is not earlier than now. Never called
   * for a released admission.
   */
  restamp(key: string, plan: StorePlan, ticket: Ticket, tokens: number): MaybePromise<Ticket>;
  /** Holds every admission of the quota for `durationMs`; returns the end, store clock. */
  pause(key: string, plan: StorePlan, durationMs: number): MaybePromise<number>;
  /** Scales every limit (and pace) by `factor` for `durationMs`; returns the end. */
  throttle(key: string, plan: StorePlan, factor: number, durationMs: number): MaybePromise<number>;
  /**
   * Widens the quota's margin after the provider refused a request its windows had room for:
   * admissions from now on are booked the widened margin in the future, so they leave every
   * window that much later (what `margin.ms` does, for every limiter sharing the quota). The
   * widening decays linearly to nothing over `decayMs`. Returns the widened margin, in ms.
   */
  widen(key: string, plan: StorePlan, widening: MarginWidening): MaybePromise<number>;
  snapshot(key: string, plan: StorePlan): MaybePromise<StoreSnapshot>;
}
