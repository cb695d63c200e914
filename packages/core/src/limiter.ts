import { type Clock, systemClock } from './clock.js';
import { Emitter } from './emitter.js';
import { InvalidArgumentError, PermitStateError } from './errors.js';
import type { TokenEstimate } from './estimate.js';
import type { LimiterEvents } from './events.js';
import { type Leased, Leases } from './internal/leases.js';
import { afterMaybe, isPromiseLike } from './internal/maybe-promise.js';
import {
  buildPlan,
  type Margin,
  type Packing,
  parsePacking,
  parseWidening,
} from './internal/plan.js';
import { PromptBias } from './internal/prompt-bias.js';
import {
  checkFeedback,
  checkUsage,
  parseRequest,
  type Request,
  type RequestRules,
} from './internal/request.js';
import { Scheduler } from './internal/scheduler.js';
import { MemoryStore } from './memory-store.js';
import type { Permit, PermitState, QuotaFeedback, Usage } from './permit.js';
import { defineQuota, type Quota, type QuotaDefinition, type WindowUnit } from './quota.js';
import type { MarginWidening, Store, StorePlan, Ticket } from './store.js';
import { checkClock, checkName, checkNumber, checkOptions, checkStore } from './validate.js';

export interface LimiterOptions {
  /** The quota to enforce: a {@link defineQuota} result or a definition. */
  readonly quota: Quota | QuotaDefinition;
  /** Where window state lives. Share one store and key to share one quota. @default new MemoryStore({ clock }) */
  readonly store?: Store;
  /** The quota's key in the store, e.g. `dashscope:acct-1:qwen3-max`. @default 'default' */
  readonly key?: string;
  /** Timers and wait measurements. Decisions use the store's clock. @default systemClock */
  readonly clock?: Clock;
  /**
   * Spread admissions so no window of a minute or less is consumed faster than its average
   * rate (10 RPS admits one request every 100 ms). Keeps provider burst guards quiet; turn
   * off only for a provider without one. @default true
   */
  readonly pacing?: boolean;
  /**
   * Backfilling: while the head of the queue waits, admit later waiters of its priority that
   * fit now, largest first, when that delays the head's start by at most `maxDelayMs` in all
   * (past the start computed when it became the head, never past its `maxWaitMs`); then
   * lower-priority waiters, largest first, only where they do not delay it at all.
   * `lookahead` bounds how many waiters each decision considers. `false`: strict order.
   * The delay buys throughput when the queue is full (on qwen3-max's per-second token window,
   * 1 s of it schedules a long-context batch within 4.5% of the fluid bound, 5 s within 3.1%:
   * `pnpm bench:core`); it never fails a waiter's `maxWaitMs` and never touches a higher
   * priority, so a caller that needs its answer sooner says so with `priority`, or sets
   * `maxDelayMs: 0`.
   * @default { lookahead: 64, maxDelayMs: 5000 }
   */
  readonly packing?: Packing;
  /**
   * Safety margin on every window: `ms` lengthens each window (covering jitter between the
   * request leaving the process and the provider counting it), `ratio` lowers each limit.
   * `widen`: when the provider refuses for rate a request the windows had room for
   * (`heed({ widenMargin: true })`, which `quotaFeedback` of `@tollgate/retry` asks for), the
   * margin grows by `stepMs` — doubling its growth once that is above `stepMs` — up to `maxMs`,
   * for every limiter sharing the quota, and the growth decays linearly over `decayMs`:
   * self-correcting on a slow network or a loaded machine, back to `ms` once refusals stop.
   * `false`: never widen.
   * @default { ms: 10, ratio: 0, widen: { stepMs: 20, maxMs: 500, decayMs: 60_000 } }
   */
  readonly margin?: Margin;
  /**
   * At most this many permits active (admitted, not yet settled, cancelled or expired).
   * @default Infinity
   */
  readonly maxInFlight?: number;
  /**
   * How long a permit may stay active: one that nobody settles or cancels within it — a
   * crashed handler, a stream nobody reads to its end — then ends as if settled without usage
   * (its booking stays: the request may have been sent), frees its in-flight slot and is the
   * `expired` event, so `maxInFlight` cannot leak away. It is a bound on forgetting, not a
   * timeout: the default is above the 10 minutes the `openai` SDK waits for an answer by
   * default, and above most long streams (30,000 output tokens at 40 per second take 12.5
   * minutes). Raise it for calls longer than that — one lease for every call of the limiter,
   * the longest it admits — lower it to recover leaked slots sooner; `Infinity`: no lease.
   * @default 900_000 (15 minutes)
   */
  readonly leaseMs?: number;
  /** Default `maxWaitMs` of `acquire`. @default Infinity */
  readonly maxWaitMs?: number;
}

/** Options of {@link Limiter.acquire}. */
export interface AcquireOptions {
  /**
   * What to reserve: a token count booked as given, or an estimate whose prompt part is
   * corrected by the bias the limiter learned from settlements. @default 0
   */
  readonly tokens?: number | TokenEstimate;
  /** Higher is admitted first; equal priorities are FIFO. @default 0 */
  readonly priority?: number;
  /** Abandons the wait; the promise rejects with {@link WaitAbortedError}. */
  readonly signal?: AbortSignal;
  /**
   * Rejects with {@link WaitTimeoutError} instead of waiting longer — at once when the
   * limiter already knows the wait would be longer. @default the limiter's maxWaitMs
   */
  readonly maxWaitMs?: number;
}

export interface WindowSnapshot {
  readonly name: string;
  readonly unit: WindowUnit;
  readonly windowMs: number;
  /** The limit in force: the quota's less the margin, lower while throttled. */
  readonly limit: number;
  readonly used: number;
  readonly remaining: number;
}

export interface LimiterSnapshot {
  readonly key: string;
  readonly windows: ReadonlyArray<WindowSnapshot>;
  /** Admissions are held for this much longer (0 when not paused). */
  readonly pausedForMs: number;
  readonly throttle?: { readonly factor: number; readonly remainingMs: number };
  /** Waiters in this limiter's queue. */
  readonly queued: number;
  /** Permits of this limiter not yet settled, cancelled or expired. */
  readonly inFlight: number;
  /** Permits of this limiter ended by their lease so far: a count that grows means leaks. */
  readonly expired: number;
  /** Learned ratio of reported to estimated prompt tokens (1 until settlements teach it). */
  readonly promptBias: number;
  /** How far refusals have widened the margin now, in ms, on top of `margin.ms` (0: not). */
  readonly widenedMs: number;
}

/**
 * How the `limit()` layer reports a problem it finds off the caller's path — usage that arrives
 * malformed after the response went up — as the limiter's `error` event. Not public.
 */
export const reportError: unique symbol = Symbol.for('@tollgate/core/limiter.reportError');

/**
 * Admits requests against a quota: exact sliding windows over requests and tokens, paced,
 * with reservations settled the way the provider counts them, and waiting in priority order
 * with deadlines.
 *
 * @example
 * const limiter = new Limiter({ quota: { rpm: 600, tpm: 1_000_000, rps: 10, tps: 16_667 } });
 * const permit = await limiter.acquire({ tokens: { prompt: 1200, output: 2000 } });
 * try {
 *   const reply = await callModel();
 *   permit.settle({ promptTokens: reply.usage.prompt_tokens, completionTokens: reply.usage.completion_tokens });
 * } catch (error) {
 *   permit.settle(); // sent, outcome unknown: keep the reservation
 *   throw error;
 * }
 */
export class Limiter {
  readonly quota: Quota;
  readonly key: string;
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly plan: StorePlan;
  private readonly widening: MarginWidening | undefined;
  private readonly rules: RequestRules;
  private readonly events = new Emitter<LimiterEvents>(LIMITER_EVENTS, (error, event) => {
    if (event !== 'error') this.events.emit('error', { error });
  });
  private readonly scheduler: Scheduler;
  /** Undefined when `leaseMs` is `Infinity`. */
  private readonly leases: Leases<ActivePermit> | undefined;
  private expiredCount = 0;
  private readonly promptBias = new PromptBias();
  private readonly owner: PermitOwner = {
    settle: (permit, usage) => this.settlePermit(permit, usage),
    cancel: (permit) => this.cancelPermit(permit),
    depart: (permit) => this.departPermit(permit),
  };

  constructor(options: LimiterOptions) {
    const checked = checkOptions(options, 'Limiter', LIMITER_KEYS);
    this.quota = defineQuota(options.quota);
    this.key = checkName(options.key ?? 'default', 'Limiter.key');
    this.clock = checkClock(options.clock ?? systemClock, 'Limiter.clock');
    this.store =
      options.store === undefined
        ? new MemoryStore({ clock: this.clock })
        : checkStore(options.store, 'Limiter.store');
    this.plan = buildPlan(this.quota, options.margin ?? {}, options.pacing ?? true);
    this.widening = parseWidening(options.margin ?? {});
    const tokenWindows = this.plan.windows.filter((window) => window.unit === 'tokens');
    const maxTokens = Math.min(...tokenWindows.map((window) => window.limit));
    const costOf = (estimate: TokenEstimate) =>
      Math.min(
        Math.ceil(estimate.prompt * this.promptBias.value) + Math.ceil(estimate.output),
        maxTokens,
      );
    this.rules = {
      tokenWindows,
      maxTokens,
      defaultMaxWaitMs: checkNumber(
        checked.maxWaitMs ?? Number.POSITIVE_INFINITY,
        'Limiter.maxWaitMs',
        {
          min: 0,
          infinity: true,
        },
      ),
      costOf,
    };
    const { lookahead, maxDelayMs } = parsePacking(options.packing ?? true);
    this.scheduler = new Scheduler({
      store: this.store,
      key: this.key,
      plan: this.plan,
      clock: this.clock,
      lookahead,
      maxHeadDelayMs: maxDelayMs,
      maxInFlight: checkNumber(
        checked.maxInFlight ?? Number.POSITIVE_INFINITY,
        'Limiter.maxInFlight',
        { min: 1, integer: true, infinity: true },
      ),
      events: this.events,
      costOf,
      issue: (request, ticket, admittedAt, waitedMs) =>
        this.issue(request, ticket, admittedAt, waitedMs),
    });
    const leaseMs = checkNumber(checked.leaseMs ?? DEFAULT_LEASE_MS, 'Limiter.leaseMs', {
      above: 0,
      infinity: true,
    });
    this.leases =
      leaseMs === Number.POSITIVE_INFINITY
        ? undefined
        : new Leases(this.clock, leaseMs, (permit, heldMs) => this.expirePermit(permit, heldMs));
  }

  /**
   * Waits until the request fits every window (and its pace, and any pause), then books it
   * and returns its permit. Rejects at once with {@link RequestTooLargeError} when it can
   * never fit; with {@link WaitTimeoutError} or {@link WaitAbortedError} when the wait is cut.
   */
  acquire(options: AcquireOptions = {}): Promise<Permit> {
    let request: Request;
    try {
      request = parseRequest(options, this.rules);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.scheduler.submit(request);
  }

  /**
   * Holds every admission of this quota — for every limiter sharing its store and key — for
   * `durationMs`, as after a provider's 429 with a reset time.
   */
  async pause(durationMs: number): Promise<void> {
    checkNumber(durationMs, 'durationMs', { min: 0 }, InvalidArgumentError);
    await this.store.pause(this.key, this.plan, durationMs);
    this.events.emit('paused', { durationMs });
  }

  /**
   * Lowers every window's limit, and its pace, to `factor` of itself for `durationMs`, for
   * every limiter sharing the quota — as after a burst-guard rejection.
   */
  async throttle(factor: number, durationMs: number): Promise<void> {
    checkNumber(factor, 'factor', { above: 0, max: 1 }, InvalidArgumentError);
    checkNumber(durationMs, 'durationMs', { min: 0 }, InvalidArgumentError);
    await this.store.throttle(this.key, this.plan, factor, durationMs);
    this.events.emit('throttled', { factor, durationMs });
  }

  /**
   * Widens the quota's margin by `margin.widen.stepMs`, for every limiter sharing it: the
   * provider refused for rate a request this limiter's windows had room for. Resolves to the
   * widened margin in ms on top of `margin.ms` (0 when `margin.widen` is `false`).
   */
  async widenMargin(): Promise<number> {
    if (this.widening === undefined) return 0;
    const widenedMs = await this.store.widen(this.key, this.plan, this.widening);
    this.events.emit('widened', { widenedMs });
    return widenedMs;
  }

  /**
   * Applies what a provider's answer said about the quota — a pause, a throttle, a wider
   * margin — for every limiter sharing it; the `limit()` layer calls it with its `feedback`
   * option's verdict. Rejects only on invalid feedback: when the store fails to record it, that
   * becomes an `error` event, since the answer that carried the feedback is what the caller
   * needs.
   */
  async heed(feedback: QuotaFeedback): Promise<void> {
    const { pauseMs, throttle, widenMargin } = checkFeedback(feedback);
    const report = (error: unknown) => this.events.emit('error', { error });
    if (widenMargin === true) await this.widenMargin().catch(report);
    if (pauseMs !== undefined && pauseMs > 0) await this.pause(pauseMs).catch(report);
    if (throttle !== undefined) {
      await this.throttle(throttle.factor, throttle.durationMs).catch(report);
    }
  }

  /** Usage and headroom per window, queue length, pause and throttle, as of now. */
  async snapshot(): Promise<LimiterSnapshot> {
    const snapshot = await this.store.snapshot(this.key, this.plan);
    const windows = this.plan.windows.map((window, index): WindowSnapshot => {
      const usage = snapshot.windows[index];
      const limit = usage?.limit ?? window.limit;
      const used = usage?.used ?? 0;
      return {
        name: window.name,
        unit: window.unit,
        windowMs: this.quota.windows[index]!.windowMs,
        limit,
        used,
        remaining: Math.max(0, limit - used),
      };
    });
    return {
      key: this.key,
      windows,
      pausedForMs: Math.max(0, snapshot.pausedUntil - snapshot.now),
      ...(snapshot.throttle === undefined
        ? {}
        : {
            throttle: {
              factor: snapshot.throttle.factor,
              remainingMs: Math.max(0, snapshot.throttle.until - snapshot.now),
            },
          }),
      queued: this.scheduler.queued,
      inFlight: this.scheduler.inFlight,
      expired: this.expiredCount,
      promptBias: this.promptBias.value,
      widenedMs: snapshot.widenedMs ?? 0,
    };
  }

  /**
   * Subscribes to an event; returns the function that unsubscribes. Throws
   * {@link InvalidArgumentError} for an unknown event or a listener that is not a function.
   */
  on<E extends keyof LimiterEvents>(
    event: E,
    listener: (payload: LimiterEvents[E]) => void,
  ): () => void {
    return this.events.on(event, listener);
  }

  /**
   * Rejects every waiter with {@link LimiterClosedError}, and every later `acquire`. Active
   * permits can still be settled or cancelled, but no longer expire: with nobody left to wait
   * for their slots, the limiter keeps no timer for them.
   */
  close(): void {
    this.scheduler.close();
    this.leases?.close();
  }

  /** See {@link reportError}. */
  [reportError](error: unknown): void {
    this.events.emit('error', { error });
  }

  private issue(request: Request, ticket: Ticket, admittedAt: number, waitedMs: number): Permit {
    const permit = new ActivePermit(
      this.owner,
      ticket,
      request.cost,
      request.estimate,
      admittedAt,
      waitedMs,
    );
    // the admission instant on this limiter's clock, without a clock read per acquire
    this.leases?.add(permit, admittedAt - this.scheduler.clockOffset);
    if (this.events.has('admitted')) {
      this.events.emit('admitted', { permit, queued: this.scheduler.queued });
    }
    return permit;
  }

  private settlePermit(permit: ActivePermit, usage: Usage | undefined): void {
    if (usage !== undefined) checkUsage(usage);
    if (this.endPermit(permit, 'settled')) {
      this.recordUsage(permit, usage);
      if (this.events.has('settled')) this.events.emit('settled', { permit, usage });
      this.scheduler.ended();
    } else if (!permit.endedLate) {
      // expired: what the request cost is still worth knowing; its slot was freed then
      permit.endedLate = true;
      this.recordUsage(permit, usage);
    }
  }

  /** Teaches the prompt bias; under `actual` accounting, books the reported total. */
  private recordUsage(permit: ActivePermit, usage: Usage | undefined): void {
    const estimate = permit.estimate;
    if (usage?.promptTokens !== undefined && estimate !== undefined && estimate.prompt > 0) {
      this.promptBias.learn(estimate.prompt, usage.promptTokens);
    }
    const actual =
      usage?.totalTokens ??
      (usage?.promptTokens !== undefined && usage.completionTokens !== undefined
        ? usage.promptTokens + usage.completionTokens
        : undefined);
    if (this.quota.accounting === 'actual' && actual !== undefined && actual !== permit.tokens) {
      this.scheduler.write(
        afterMaybe(permit.moving, () =>
          this.store.rebook(this.key, this.plan, permit.ticket, actual),
        ),
      );
    }
  }

  private cancelPermit(permit: ActivePermit): void {
    if (!this.endPermit(permit, 'cancelled')) {
      // expired: its booking was kept then, and stays
      permit.endedLate = true;
      return;
    }
    this.scheduler.write(
      afterMaybe(permit.moving, () => this.store.release(this.key, this.plan, permit.ticket)),
    );
    if (this.events.has('cancelled')) this.events.emit('cancelled', { permit });
    this.scheduler.ended();
  }

  /** Moves the permit's booking to the store's now; a later settlement follows the move. */
  private departPermit(permit: ActivePermit): void {
    if (permit.state !== 'active') return;
    // the admission instant on this limiter's clock, without a clock read per acquire
    const lagMs = this.clock.now() - (permit.admittedAt - this.scheduler.clockOffset);
    const moved = (ticket: Ticket) => {
      permit.ticket = ticket;
      if (this.events.has('departed')) this.events.emit('departed', { permit, lagMs });
    };
    const write = afterMaybe(permit.moving, () =>
      this.store.restamp(this.key, this.plan, permit.ticket, permit.tokens),
    );
    if (!isPromiseLike(write)) {
      moved(write);
      return;
    }
    permit.moving = write.then(moved, (error: unknown) => {
      this.events.emit('error', { error });
    });
  }

  /** Ends an active permit by its holder; `false` when its lease already ended it. */
  private endPermit(permit: ActivePermit, state: 'settled' | 'cancelled'): boolean {
    if (permit.state === 'expired') return false;
    if (permit.state !== 'active') {
      throw new PermitStateError(permit.state, state === 'settled' ? 'settle' : 'cancel');
    }
    permit.state = state;
    this.leases?.remove(permit);
    return true;
  }

  /** Its lease ran out: ended as if settled without usage, the booking kept. */
  private expirePermit(permit: ActivePermit, heldMs: number): void {
    permit.state = 'expired';
    this.expiredCount++;
    if (this.events.has('expired')) this.events.emit('expired', { permit, heldMs });
    this.scheduler.ended();
  }
}

/** See {@link LimiterOptions.leaseMs}. */
const DEFAULT_LEASE_MS = 15 * 60_000;

/** Every event of {@link LimiterEvents}: typed so that an event added there is added here. */
const LIMITER_EVENTS = Object.keys({
  admitted: true,
  waiting: true,
  settled: true,
  departed: true,
  cancelled: true,
  expired: true,
  paused: true,
  throttled: true,
  widened: true,
  rejected: true,
  error: true,
} satisfies Record<keyof LimiterEvents, true>) as ReadonlyArray<keyof LimiterEvents>;

const LIMITER_KEYS = [
  'quota',
  'store',
  'key',
  'clock',
  'pacing',
  'packing',
  'margin',
  'maxInFlight',
  'maxWaitMs',
  'leaseMs',
];

interface PermitOwner {
  settle(permit: ActivePermit, usage: Usage | undefined): void;
  cancel(permit: ActivePermit): void;
  depart(permit: ActivePermit): void;
}

class ActivePermit implements Permit, Leased {
  state: PermitState = 'active';
  /** A move of the booking still on its way to a remote store: settle after it. */
  moving: Promise<void> | undefined;
  /** Expired, then settled or cancelled by its holder: anything later does nothing. */
  endedLate = false;
  leaseEnd = 0;
  leasePrev: Leased | undefined;
  leaseNext: Leased | undefined;

  constructor(
    private readonly owner: PermitOwner,
    /** Where the booking is now: `departed()` may move it. */
    public ticket: Ticket,
    readonly tokens: number,
    readonly estimate: TokenEstimate | undefined,
    readonly admittedAt: number,
    readonly waitedMs: number,
  ) {}

  departed(): void {
    this.owner.depart(this);
  }

  settle(usage?: Usage): void {
    this.owner.settle(this, usage);
  }

  cancel(): void {
    this.owner.cancel(this);
  }
}
