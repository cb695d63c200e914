/** What a window counts: requests (each weighs 1) or tokens (each request weighs its cost). */
export type WindowUnit = 'requests' | 'tokens';

/** The windows a model's quota may have, in the order they are checked. */
export type WindowName = 'rpm' | 'rps' | 'burst' | 'tpm' | 'tps';

/** One window of a quota: at most `limit` units within any `windowMs` span. */
export interface WindowSpec {
  readonly name: WindowName;
  readonly unit: WindowUnit;
  readonly limit: number;
  readonly windowMs: number;
}

/**
 * One request in the log. `tokens` may be corrected once (actual accounting); `admitted` is false
 * for a rejected request that still counts against the request windows.
 */
export interface LogEntry {
  readonly at: number;
  tokens: number;
  readonly admitted: boolean;
}

/**
 * An exact sliding window over a log of `(time, weight)` entries: an entry made at `at` counts
 * while `now < at + windowMs`, and stops counting at `at + windowMs` exactly. Entries must be
 * added in time order (time never goes back). Running sums keep every check O(evicted).
 */
export class SlidingWindow {
  readonly spec: WindowSpec;
  private entries: LogEntry[] = [];
  private head = 0;
  /** Everything counted: admitted requests, plus rejected ones when they count. */
  private used = 0;
  /** Admitted requests only: what the provider let through. */
  private admittedUsed = 0;
  private maxAdmitted = 0;

  constructor(spec: WindowSpec) {
    this.spec = spec;
  }

  private weight(entry: LogEntry): number {
    return this.spec.unit === 'requests' ? 1 : entry.tokens;
  }

  /** Drops the entries that left the window by `now`. */
  private evict(now: number): void {
    const horizon = now - this.spec.windowMs;
    const { entries } = this;
    while (this.head < entries.length) {
      const entry = entries[this.head]!;
      if (entry.at > horizon) break;
      const weight = this.weight(entry);
      this.used -= weight;
      if (entry.admitted) this.admittedUsed -= weight;
      this.head++;
    }
    if (this.head === entries.length) {
      this.entries = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > entries.length) {
      this.entries = entries.slice(this.head);
      this.head = 0;
    }
  }

  /** Units counted in the window at `now`. */
  usedAt(now: number): number {
    this.evict(now);
    return this.used;
  }

  /** Whether `amount` more units fit at `now`. */
  fits(now: number, amount: number): boolean {
    this.evict(now);
    return this.used + amount <= this.spec.limit;
  }

  add(entry: LogEntry, now: number): void {
    this.evict(now);
    this.entries.push(entry);
    const weight = this.weight(entry);
    this.used += weight;
    if (entry.admitted) {
      this.admittedUsed += weight;
      if (this.admittedUsed > this.maxAdmitted) this.maxAdmitted = this.admittedUsed;
    }
  }

  /**
   * Changes an entry's tokens (actual accounting). Sums change only while the entry is still in
   * the window; once it left, it no longer counts either way.
   */
  retoken(entry: LogEntry, tokens: number, now: number): void {
    this.evict(now);
    if (this.spec.unit === 'tokens' && entry.at > now - this.spec.windowMs) {
      const delta = tokens - entry.tokens;
      this.used += delta;
      if (entry.admitted) this.admittedUsed += delta;
    }
  }

  /**
   * Milliseconds from `now` until `amount` more units fit, assuming nothing else is added:
   * 0 when they fit now, `undefined` when they never can (`amount` exceeds the limit).
   */
  waitFor(now: number, amount: number): number | undefined {
    if (amount > this.spec.limit) return undefined;
    this.evict(now);
    const excess = this.used + amount - this.spec.limit;
    if (excess <= 0) return 0;
    let freed = 0;
    for (let index = this.head; index < this.entries.length; index++) {
      const entry = this.entries[index]!;
      freed += this.weight(entry);
      if (freed >= excess) return entry.at + this.spec.windowMs - now;
    }
    return undefined;
  }

  /** Milliseconds from `now` until the window is empty again (every entry in it expired). */
  resetIn(now: number): number {
    this.evict(now);
    const last = this.entries[this.entries.length - 1];
    return last === undefined ? 0 : last.at + this.spec.windowMs - now;
  }

  /** The most admitted units ever counted in this window at once (since the last reset). */
  maxAdmittedUsed(): number {
    return this.maxAdmitted;
  }

  resetMax(now: number): void {
    this.evict(now);
    this.maxAdmitted = this.admittedUsed;
  }
}
