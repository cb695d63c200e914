import type { TokenEstimate } from './estimate.js';

/** What the provider reported for a request. Any field may be missing. */
export interface Usage {
  readonly promptTokens?: number;
  readonly completionTokens?: number;
  readonly totalTokens?: number;
}

/**
 * What a provider's answer says about the quota, for `Limiter.heed`: hold it, slow it,
 * or both.
 */
export interface QuotaFeedback {
  /** Hold every admission this long: until the provider's reset after a 429. */
  readonly pauseMs?: number;
  /** Lower every limit (and pace) to `factor` of itself for `durationMs`: after a burst refusal. */
  readonly throttle?: { readonly factor: number; readonly durationMs: number };
  /**
   * The provider refused for rate a request the limiter admitted (its windows had room): widen
   * the quota's margin (see the limiter's `margin.widen`).
   */
  readonly widenMargin?: boolean;
}

/**
 * `active` until its holder settles or cancels it, or until its lease runs out (`expired`: see
 * the limiter's `leaseMs`).
 */
export type PermitState = 'active' | 'settled' | 'cancelled' | 'expired';

/**
 * An admission. Settle it with the provider's usage when the response arrives, or cancel it
 * when the request was never sent. A permit that is neither keeps its reservation booked
 * (the safe choice: the provider may have counted it) and occupies an in-flight slot until
 * its lease runs out (the limiter's `leaseMs`): then it ends as if settled without usage — the
 * booking stays — its slot is freed, and the limiter emits `expired`.
 */
export interface Permit {
  /** Tokens booked in the windows at admission. */
  readonly tokens: number;
  /** The estimate the booking was made from, when the caller gave one. */
  readonly estimate: TokenEstimate | undefined;
  /** The limiter's clock at admission. */
  readonly admittedAt: number;
  /** How long the request waited for admission, in milliseconds. */
  readonly waitedMs: number;
  readonly state: PermitState;
  /**
   * Records what the provider reported. Under `actual` accounting the booking becomes the
   * reported total (`totalTokens`, or prompt + completion); under `reserved` it stays, and the
   * reported prompt tokens teach the limiter the estimator's bias. Without usage the booking
   * stays as it is. Throws {@link PermitStateError} when already settled or cancelled.
   *
   * After the lease ran out it never throws for that (a slow call is no error): the first
   * `settle` still teaches the bias and, under `actual`, rebooks — which changes nothing once
   * the booking has left every window — but frees nothing, emits no `settled` and leaves the
   * state `expired`; anything later does nothing.
   */
  settle(usage?: Usage): void;
  /**
   * Refunds the whole reservation: the request was never sent. Throws when already settled or
   * cancelled; does nothing once the lease ran out, as the booking was kept then.
   */
  cancel(): void;
  /**
   * Says the request has just left the process — its bytes are on the wire. Its booking moves
   * to this instant (later only, which is always safe), so the limiter's windows count it from
   * when the provider sees it, however long it waited between admission and sending: a new
   * connection's handshake, a busy event loop. Does nothing once the permit has ended; call it
   * again for a request sent again. `@tollgate/openai` calls it for every request it sends.
   */
  departed(): void;
}
