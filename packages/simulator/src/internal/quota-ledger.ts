import { type LogEntry, SlidingWindow, type WindowSpec } from './sliding-window.js';

/** Where the ledger reads (simulated) time. */
export interface NowSource {
  now(): number;
}

export interface LedgerOptions {
  /** Checked in this order; the first window without room decides the rejection. */
  readonly windows: ReadonlyArray<WindowSpec>;
  /** Rejected requests still count against the request windows (as OpenAI documents). */
  readonly countRejected: boolean;
  readonly clock: NowSource;
}

/** An admitted request, kept so actual accounting can correct its cost later. */
export interface Ticket {
  readonly at: number;
  readonly cost: number;
}

export type Decision =
  | { readonly admitted: true; readonly ticket: Ticket }
  | {
      readonly admitted: false;
      /** The first window (in check order) without room. */
      readonly window: WindowSpec;
      /** Units counted in that window before this request. */
      readonly used: number;
      /** Units this request needs in that window (1 or its token cost). */
      readonly requested: number;
      /**
       * How long until the same request would be admitted if nothing else arrived (every
       * window considered); `undefined` when it never can (its cost exceeds a token limit).
       */
      readonly retryAfterMs: number | undefined;
    };

export interface WindowState {
  readonly spec: WindowSpec;
  /** Units counted now (rejected requests included when they count). */
  readonly used: number;
  /** `limit - used`, floored, never below 0. */
  readonly remaining: number;
  /** Milliseconds until the window is empty again. */
  readonly resetMs: number;
  /** The most admitted units the window ever held at once. */
  readonly maxUsed: number;
}

/**
 * The quota of one (account, model): exact sliding windows over requests and tokens, kept as
 * plain logs. Independent of `@tollgate/core` on purpose: the simulator referees the limiter.
 */
export class QuotaLedger {
  private readonly windows: ReadonlyArray<SlidingWindow>;
  private readonly requestWindows: ReadonlyArray<SlidingWindow>;
  private readonly tokenWindows: ReadonlyArray<SlidingWindow>;
  private readonly countRejected: boolean;
  private readonly clock: NowSource;
  private readonly entries = new WeakMap<Ticket, LogEntry>();

  constructor(options: LedgerOptions) {
    this.windows = options.windows.map((spec) => new SlidingWindow(spec));
    this.requestWindows = this.windows.filter((window) => window.spec.unit === 'requests');
    this.tokenWindows = this.windows.filter((window) => window.spec.unit === 'tokens');
    this.countRejected = options.countRejected;
    this.clock = options.clock;
  }

  /** Admits a request costing `cost` tokens now, or tells which window refused it. */
  tryAdmit(cost: number): Decision {
    const now = this.clock.now();
    const amount = (window: SlidingWindow) => (window.spec.unit === 'requests' ? 1 : cost);
    const refusing = this.windows.find((window) => !window.fits(now, amount(window)));

    if (refusing !== undefined) {
      const used = refusing.usedAt(now);
      if (this.countRejected) {
        const entry: LogEntry = { at: now, tokens: 0, admitted: false };
        for (const window of this.requestWindows) window.add(entry, now);
      }
      let retryAfterMs: number | undefined = 0;
      for (const window of this.windows) {
        const wait = window.waitFor(now, amount(window));
        retryAfterMs =
          wait === undefined || retryAfterMs === undefined
            ? undefined
            : Math.max(retryAfterMs, wait);
      }
      return {
        admitted: false,
        window: refusing.spec,
        used,
        requested: amount(refusing),
        retryAfterMs,
      };
    }

    const entry: LogEntry = { at: now, tokens: cost, admitted: true };
    for (const window of this.windows) window.add(entry, now);
    const ticket: Ticket = { at: now, cost };
    this.entries.set(ticket, entry);
    return { admitted: true, ticket };
  }

  /** Books `tokens` instead of the admission cost (actual accounting), where it still counts. */
  settle(ticket: Ticket, tokens: number): void {
    const entry = this.entries.get(ticket);
    if (entry === undefined) return;
    const now = this.clock.now();
    for (const window of this.tokenWindows) window.retoken(entry, tokens, now);
    entry.tokens = tokens;
    this.entries.delete(ticket);
  }

  snapshot(): WindowState[] {
    const now = this.clock.now();
    return this.windows.map((window) => {
      const used = window.usedAt(now);
      return {
        spec: window.spec,
        used,
        remaining: Math.max(0, Math.floor(window.spec.limit - used)),
        resetMs: window.resetIn(now),
        maxUsed: window.maxAdmittedUsed(),
      };
    });
  }

  /** Forgets the recorded maxima (the windows themselves keep counting). */
  resetMaxima(): void {
    const now = this.clock.now();
    for (const window of this.windows) window.resetMax(now);
  }

  /** The windows, in check order. */
  get specs(): ReadonlyArray<WindowSpec> {
    return this.windows.map((window) => window.spec);
  }
}
