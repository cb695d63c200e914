import type { TollgateError } from './errors.js';
import type { Permit, Usage } from './permit.js';

/** The events of a limiter; subscribe with `Limiter.on`. */
export interface LimiterEvents {
  admitted: { readonly permit: Permit; readonly queued: number };
  /**
   * The head of the queue must wait: how long, and for what (a window name, `pace:<window>`,
   * `pause`, `throttle`, or `store` while the store is unavailable).
   */
  waiting: { readonly waitMs: number; readonly blockedBy: string; readonly queued: number };
  settled: { readonly permit: Permit; readonly usage: Usage | undefined };
  /**
   * A permit's request left the process and its booking moved there (`permit.departed()`):
   * `lagMs` is how long after its admission, on the limiter's clock.
   */
  departed: { readonly permit: Permit; readonly lagMs: number };
  cancelled: { readonly permit: Permit };
  /**
   * Nobody settled or cancelled a permit within the limiter's `leaseMs`: it ended as if settled
   * without usage (its booking stays) and its in-flight slot is free. `heldMs`: since its
   * admission, on the limiter's clock. A permit that expires is one the caller lost track of —
   * a crashed handler, a stream nobody read to its end — or a call longer than the lease.
   */
  expired: { readonly permit: Permit; readonly heldMs: number };
  paused: { readonly durationMs: number };
  throttled: { readonly factor: number; readonly durationMs: number };
  /** A refusal the windows did not expect widened the quota's margin to `widenedMs` over `margin.ms`. */
  widened: { readonly widenedMs: number };
  /** A waiter was rejected (timeout, abort, closed, store failure). */
  rejected: { readonly error: TollgateError };
  /** A background store operation or a listener failed. */
  error: { readonly error: unknown };
}
