import type { Clock, TimerHandle } from '../clock.js';

/** What the lease list keeps on each permit: when its lease runs out, and its neighbours. */
export interface Leased {
  /** When the lease runs out, on the limiter's clock. */
  leaseEnd: number;
  leasePrev: Leased | undefined;
  leaseNext: Leased | undefined;
}

/**
 * The leases of a limiter's permits in flight: one list, in order of admission — which is the
 * order their leases run out, every lease being as long — and one timer for the first.
 *
 * Adding and ending a lease is a few pointer writes on the permit itself. The timer is first
 * set for the next turn (zero delay), not per permit: a run of acquire + settle within one turn
 * — a busy event loop, a hot loop — sets it once. When it fires it ends every lease that has
 * run out and is set again for the first one left; once nothing is in flight it is cleared at
 * once (a zero-delay one is left to fire, and sets nothing more). A lease never ends early: a
 * permit admitted out of clock order (a remote store's clock moving against this one's) ends
 * with the first before it, late by that much at most.
 */
export class Leases<P extends Leased> {
  private first: P | undefined;
  private last: P | undefined;
  private timer: TimerHandle | undefined;
  /** Whether the timer is the zero-delay one: left to fire when nothing is in flight. */
  private timerIsNextTurn = false;
  private sweeping = false;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    readonly leaseMs: number,
    /** Ends a permit whose lease ran out: already off the list; `heldMs` since its admission. */
    private readonly expire: (permit: P, heldMs: number) => void,
  ) {}

  /** Starts the lease of a permit admitted at `admittedAt` (the limiter's clock). */
  add(permit: P, admittedAt: number): void {
    if (this.closed) return;
    permit.leaseEnd = admittedAt + this.leaseMs;
    permit.leasePrev = this.last;
    permit.leaseNext = undefined;
    if (this.last === undefined) this.first = permit;
    else this.last.leaseNext = permit;
    this.last = permit;
    if (this.timer === undefined && !this.sweeping) {
      this.timerIsNextTurn = true;
      this.timer = this.clock.setTimeout(() => this.sweep(), 0);
    }
  }

  /** Ends a permit's lease: it was settled or cancelled. Does nothing for one not on the list. */
  remove(permit: P): void {
    const { leasePrev: prev, leaseNext: next } = permit;
    if (this.closed || (prev === undefined && this.first !== permit)) return;
    if (prev === undefined) this.first = next as P | undefined;
    else prev.leaseNext = next;
    if (next === undefined) this.last = prev as P | undefined;
    else next.leasePrev = prev;
    permit.leasePrev = undefined;
    permit.leaseNext = undefined;
    if (this.first === undefined && !this.timerIsNextTurn) this.clearTimer();
  }

  /** Stops every lease: permits in flight no longer expire, and no timer is left. */
  close(): void {
    this.closed = true;
    this.clearTimer();
    this.first = undefined;
    this.last = undefined;
  }

  /** Ends every lease that has run out, then waits for the first one left. */
  private sweep(): void {
    this.timer = undefined;
    this.timerIsNextTurn = false;
    const now = this.clock.now();
    this.sweeping = true;
    try {
      for (let permit = this.first; permit !== undefined && permit.leaseEnd <= now; ) {
        this.remove(permit);
        this.expire(permit, now - permit.leaseEnd + this.leaseMs);
        permit = this.first;
      }
    } finally {
      this.sweeping = false;
    }
    if (this.first !== undefined && !this.closed) {
      this.timer = this.clock.setTimeout(() => this.sweep(), this.first.leaseEnd - now);
    }
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerIsNextTurn = false;
  }
}
