import type {
  AdmitDecision,
  MarginWidening,
  StorePlan,
  StoreSnapshot,
  StoreWindow,
  Ticket,
} from '../store.js';

const INITIAL_CAPACITY = 64;

/**
 * The exact sliding-window engine behind `MemoryStore` (the Redis store runs the same rules
 * in Lua). One log of admissions `(time, tokens, counted)` in admission order serves every
 * window; each window keeps a cursor to its oldest entry still inside it and a running sum,
 * so checking a window is O(1) amortised. Entries are dropped when they leave the longest
 * window, so the log never holds more than the longest window's admissions.
 *
 * An entry admitted at `a` counts in a window of length W at instant t iff `t - W < a`: it
 * stops counting at exactly `a + W`.
 *
 * A widened margin books admissions `extra` ms in the future (they count from now and leave
 * every window that much later). `extra` decays linearly to 0, never faster than time passes,
 * so booking instants stay in admission order and the cursors stay valid.
 */
export class QuotaState {
  readonly plan: StorePlan;
  private readonly windows: ReadonlyArray<StoreWindow>;
  /** Per window: 1 when it counts tokens, 0 when it counts requests. */
  private readonly countsTokens: Uint8Array;
  /** Per window: sequence number of the oldest entry still inside it. */
  private readonly head: Float64Array;
  /** Per window: sum of the entries inside it, in its unit. */
  private readonly sum: Float64Array;
  /** Per window: the pacing schedule (theoretical arrival time of the next admission). */
  private readonly tat: Float64Array;
  private readonly savedTat: Float64Array;

  private at = new Float64Array(INITIAL_CAPACITY);
  private tokens = new Float64Array(INITIAL_CAPACITY);
  private counted = new Uint8Array(INITIAL_CAPACITY);
  private mask = INITIAL_CAPACITY - 1;
  /** Sequence number of the oldest entry kept, and of the next one. */
  private first = 0;
  private next = 0;

  private lastNow = Number.NEGATIVE_INFINITY;
  private pausedUntil = 0;
  private throttleFactor = 1;
  private throttleUntil = 0;
  /** The widened margin: `widenedMs` at `widenedAt`, decaying linearly to 0 at `widenEnd`. */
  private widenedMs = 0;
  private widenedAt = 0;
  private widenEnd = 0;
  private blockedBy = '';

  constructor(plan: StorePlan) {
    this.plan = plan;
    this.windows = plan.windows;
    const n = plan.windows.length;
    this.countsTokens = Uint8Array.from(plan.windows, (w) => (w.unit === 'tokens' ? 1 : 0));
    this.head = new Float64Array(n);
    this.sum = new Float64Array(n);
    this.tat = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
    this.savedTat = new Float64Array(n);
  }

  admit(
    clockNow: number,
    costs: ReadonlyArray<number>,
    headLatestStart = Number.NEGATIVE_INFINITY,
  ): AdmitDecision {
    const now = this.advance(clockNow);
    // filled, not sparse: callers may use indexOf, forEach or for…of alike
    const tickets: Array<Ticket | undefined> = new Array(costs.length).fill(undefined);
    let i = 0;
    let headStart = now;
    for (; i < costs.length; i++) {
      headStart = this.startTime(costs[i]!, now);
      if (headStart > now) break;
      tickets[i] = this.book(costs[i]!, now);
    }
    if (i === costs.length) return { now, tickets };

    let blockedBy = this.blockedBy;
    const headCost = costs[i]!;
    // NaN or earlier than the head's earliest start: backfilling may not delay the head
    // biome-ignore lint/complexity/useMathMinMax: Math.max would let a NaN bound through
    const latest = headLatestStart > headStart ? headLatestStart : headStart;
    let wakeAt = headStart;
    if (this.pausedUntil <= now) {
      // Fitting now is monotone in cost: once one does not fit, no larger one does.
      let smallestMisfit = Number.POSITIVE_INFINITY;
      for (const j of bestFitOrder(costs, i + 1)) {
        const cost = costs[j]!;
        if (cost >= smallestMisfit) continue;
        const start = this.startTime(cost, now);
        if (start > now) {
          smallestMisfit = cost;
          if (start < wakeAt) wakeAt = start;
          continue;
        }
        this.savedTat.set(this.tat);
        const seq = this.book(cost, now);
        const headAfter = this.startTime(headCost, now);
        if (headAfter > latest) {
          this.unbookLast(seq);
          continue;
        }
        tickets[j] = seq;
        if (headAfter > headStart) {
          headStart = headAfter;
          blockedBy = this.blockedBy;
        }
      }
    }
    return wakeAt < headStart
      ? { now, tickets, retryAt: headStart, blockedBy, wakeAt }
      : { now, tickets, retryAt: headStart, blockedBy };
  }

  rebook(clockNow: number, ticket: Ticket, tokens: number): void {
    const now = this.advance(clockNow);
    const seq = Number(ticket);
    if (seq < this.first || seq >= this.next) return;
    const slot = seq & this.mask;
    if (this.counted[slot] === 0) return;
    const delta = tokens - this.tokens[slot]!;
    this.tokens[slot] = tokens;
    this.shift(seq, delta, 0, now);
  }

  release(clockNow: number, ticket: Ticket): void {
    const now = this.advance(clockNow);
    const seq = Number(ticket);
    if (seq < this.first || seq >= this.next) return;
    const slot = seq & this.mask;
    if (this.counted[slot] === 0) return;
    const tokens = this.tokens[slot]!;
    this.counted[slot] = 0;
    this.tokens[slot] = 0;
    this.shift(seq, -tokens, -1, now);
  }

  /**
   * Moves an admission to `now`, the instant its request left the process: the entry is
   * released where it still counts and booked again at `now` with `tokens`, without checks
   * and without pace (both were done at admission). An admission that has already left every
   * window is booked again all the same: the provider counts it from now. Later is always
   * safe: the windows only hold it longer. Returns the ticket it is booked under, the same one
   * when it is not earlier than `now`.
   */
  restamp(clockNow: number, ticket: Ticket, tokens: number): Ticket {
    const now = this.advance(clockNow);
    const seq = Number(ticket);
    if (seq >= this.first && seq < this.next && this.counted[seq & this.mask] === 1) {
      const slot = seq & this.mask;
      if (this.at[slot]! >= this.bookingInstant(now)) return seq;
      const booked = this.tokens[slot]!;
      for (let k = 0; k < this.windows.length; k++) {
        const amount = this.countsTokens[k] === 1 ? booked : 1;
        if (this.head[k]! <= seq) this.sum[k] = this.sum[k]! - amount;
      }
      this.counted[slot] = 0;
      this.tokens[slot] = 0;
    }
    return this.book(tokens, now, false);
  }

  pause(clockNow: number, durationMs: number): number {
    const now = this.advance(clockNow);
    this.pausedUntil = Math.max(this.pausedUntil, now + durationMs);
    return this.pausedUntil;
  }

  throttle(clockNow: number, factor: number, durationMs: number): number {
    const now = this.advance(clockNow);
    const active = this.throttleUntil > now;
    this.throttleFactor = active ? Math.min(this.throttleFactor, factor) : factor;
    this.throttleUntil = Math.max(active ? this.throttleUntil : 0, now + durationMs);
    return this.throttleUntil;
  }

  /**
   * Widens the margin from now on — by `stepMs`, or doubles it once it is wider than that (a
   * jitter far beyond the margin is caught in a few refusals, not dozens), up to `maxMs` — so
   * later admissions leave every window that much later. The widening decays linearly to
   * nothing over `decayMs`. Returns the widened margin.
   */
  widen(clockNow: number, widening: MarginWidening): number {
    const now = this.advance(clockNow);
    const current = this.extraAt(now);
    const widened = Math.min(widening.maxMs, current + Math.max(widening.stepMs, current));
    this.widenedMs = widened;
    this.widenedAt = now;
    this.widenEnd = now + widening.decayMs;
    return widened;
  }

  snapshot(clockNow: number): StoreSnapshot {
    const now = this.advance(clockNow);
    const throttled = this.throttleUntil > now;
    const widenedMs = this.extraAt(now);
    return {
      now,
      windows: this.windows.map((w, k) => ({
        name: w.name,
        used: this.sum[k]!,
        limit: this.limitOf(k, throttled),
      })),
      pausedUntil: this.pausedUntil > now ? this.pausedUntil : 0,
      ...(throttled
        ? { throttle: { factor: this.throttleFactor, until: this.throttleUntil } }
        : {}),
      ...(widenedMs > 0 ? { widenedMs } : {}),
    };
  }

  /** The widened margin in force at `now`. */
  private extraAt(now: number): number {
    if (now >= this.widenEnd) return 0;
    return (this.widenedMs * (this.widenEnd - now)) / (this.widenEnd - this.widenedAt);
  }

  /**
   * The instant an admission made at `now` is booked at: `now`, or later by the widened margin
   * — and never before the last booking (the decay cannot make rounding reorder them).
   */
  private bookingInstant(now: number): number {
    if (now >= this.widenEnd) return now;
    const at = now + this.extraAt(now);
    const last = this.next - 1;
    if (last >= this.first) {
      const previous = this.at[last & this.mask]!;
      if (previous > at) return previous;
    }
    return at;
  }

  /** Moves every window's cursor past the entries that have left it; returns the clamped now. */
  private advance(clockNow: number): number {
    // A clock that steps back (an injected one, a failover) must not resurrect old entries.
    const now = Math.max(clockNow, this.lastNow);
    this.lastNow = now;
    let oldest = this.next;
    for (let k = 0; k < this.windows.length; k++) {
      const windowMs = this.windows[k]!.windowMs;
      let seq = this.head[k]!;
      let sum = this.sum[k]!;
      let left = 0;
      // `at + windowMs <= now`, the same sum `fitTime` computes, so rounding cannot split them
      while (seq < this.next && this.at[seq & this.mask]! + windowMs <= now) {
        const c = this.contribution(k, seq & this.mask);
        sum -= c;
        left += c;
        seq++;
      }
      // Pacing limits how fast a window fills; what leaves it is room it may refill at once.
      if (left > 0 && this.windows[k]!.paced) this.tat[k] = this.tat[k]! - left * this.paceUnit(k);
      this.head[k] = seq;
      this.sum[k] = sum;
      if (seq < oldest) oldest = seq;
    }
    this.first = oldest;
    return now;
  }

  private contribution(k: number, slot: number): number {
    return this.countsTokens[k] === 1 ? this.tokens[slot]! : this.counted[slot]!;
  }

  private limitOf(k: number, throttled: boolean): number {
    const window = this.windows[k]!;
    if (!throttled) return window.limit;
    const scaled = window.limit * this.throttleFactor;
    return window.unit === 'requests' ? Math.max(1, Math.floor(scaled)) : scaled;
  }

  /** The earliest instant >= now at which a request of `cost` tokens may be admitted. */
  private startTime(cost: number, now: number): number {
    let start = now;
    this.blockedBy = '';
    if (this.pausedUntil > now) {
      start = this.pausedUntil;
      this.blockedBy = 'pause';
    }
    const throttled = this.throttleUntil > now;
    for (let k = 0; k < this.windows.length; k++) {
      const amount = this.countsTokens[k] === 1 ? cost : 1;
      let fit = this.fitTime(k, amount, this.limitOf(k, throttled), now);
      if (throttled) {
        const afterThrottle = Math.max(
          this.throttleUntil,
          this.fitTime(k, amount, this.windows[k]!.limit, now),
        );
        if (afterThrottle < fit) fit = afterThrottle;
      }
      if (fit > start) {
        start = fit;
        this.blockedBy = this.windows[k]!.name;
      }
      if (this.windows[k]!.paced && this.tat[k]! > start) {
        const paced = this.paceTime(k);
        if (paced > start) {
          start = paced;
          this.blockedBy = `pace:${this.windows[k]!.name}`;
        }
      }
    }
    return start;
  }

  /** Milliseconds of pace one unit of window k costs (and earns back when it leaves). */
  private paceUnit(k: number): number {
    return this.windows[k]!.windowMs / this.windows[k]!.limit;
  }

  /**
   * When window k's pace next allows an admission, counting the pace that entries give back
   * as they leave the window before then.
   */
  private paceTime(k: number): number {
    let tat = this.tat[k]!;
    const windowMs = this.windows[k]!.windowMs;
    const unit = this.paceUnit(k);
    for (let seq = this.head[k]!; seq < this.next; seq++) {
      const slot = seq & this.mask;
      const leaves = this.at[slot]! + windowMs;
      if (tat <= leaves) return tat;
      tat -= this.contribution(k, slot) * unit;
      if (tat <= leaves) return leaves;
    }
    return tat;
  }

  /** When window k will have room for `amount`, given only the entries already in it. */
  private fitTime(k: number, amount: number, limit: number, now: number): number {
    let sum = this.sum[k]!;
    if (sum + amount <= limit) return now;
    if (amount > limit) return Number.POSITIVE_INFINITY;
    const windowMs = this.windows[k]!.windowMs;
    for (let seq = this.head[k]!; seq < this.next; seq++) {
      const slot = seq & this.mask;
      sum -= this.contribution(k, slot);
      if (sum + amount <= limit) return this.at[slot]! + windowMs;
    }
    return now;
  }

  /** Appends an admission at `now`; `charge: false` books it without pace (a move). */
  private book(cost: number, now: number, charge = true): number {
    if (this.next - this.first > this.mask) this.grow();
    const at = this.bookingInstant(now);
    const seq = this.next++;
    const slot = seq & this.mask;
    this.at[slot] = at;
    this.tokens[slot] = cost;
    this.counted[slot] = 1;
    const throttled = this.throttleUntil > now;
    for (let k = 0; k < this.windows.length; k++) {
      const amount = this.countsTokens[k] === 1 ? cost : 1;
      this.sum[k] = this.sum[k]! + amount;
      const window = this.windows[k]!;
      if (charge && window.paced) {
        const from = Math.max(this.tat[k]!, now);
        this.tat[k] = from + (amount * window.windowMs) / this.limitOf(k, throttled);
      }
    }
    return seq;
  }

  /** Undoes the last `book` (a backfill that would have delayed the head). */
  private unbookLast(seq: number): void {
    const slot = seq & this.mask;
    for (let k = 0; k < this.windows.length; k++)
      this.sum[k] = this.sum[k]! - this.contribution(k, slot);
    this.tat.set(this.savedTat);
    this.next = seq;
  }

  /** Applies a change of `tokens` and `requests` to entry `seq` in every window still holding it. */
  private shift(seq: number, tokens: number, requests: number, now: number): void {
    const throttled = this.throttleUntil > now;
    for (let k = 0; k < this.windows.length; k++) {
      const amount = this.countsTokens[k] === 1 ? tokens : requests;
      if (amount === 0) continue;
      if (this.head[k]! <= seq) this.sum[k] = this.sum[k]! + amount;
      const window = this.windows[k]!;
      if (window.paced)
        this.tat[k] = this.tat[k]! + (amount * window.windowMs) / this.limitOf(k, throttled);
    }
  }

  private grow(): void {
    const capacity = (this.mask + 1) * 2;
    const at = new Float64Array(capacity);
    const tokens = new Float64Array(capacity);
    const counted = new Uint8Array(capacity);
    const mask = capacity - 1;
    for (let seq = this.first; seq < this.next; seq++) {
      at[seq & mask] = this.at[seq & this.mask]!;
      tokens[seq & mask] = this.tokens[seq & this.mask]!;
      counted[seq & mask] = this.counted[seq & this.mask]!;
    }
    this.at = at;
    this.tokens = tokens;
    this.counted = counted;
    this.mask = mask;
  }
}

/**
 * Backfilling candidates from `from` on, largest first (best fit: the largest that fits leaves
 * the least room unused), ties in queue order.
 */
function bestFitOrder(costs: ReadonlyArray<number>, from: number): number[] {
  const order: number[] = [];
  for (let j = from; j < costs.length; j++) order.push(j);
  return order.sort((a, b) => costs[b]! - costs[a]! || a - b);
}
