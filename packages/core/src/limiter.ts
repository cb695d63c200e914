import { type Clock, systemClock, type TimerHandle } from './clock.js';
import {
  ConfigurationError,
  InvalidArgumentError,
  LimiterClosedError,
  PermitStateError,
  RequestTooLargeError,
  StoreError,
  TollgateError,
  WaitAbortedError,
  WaitTimeoutError,
} from './errors.js';
import type { TokenEstimate } from './estimate.js';
import { Emitter } from './internal/emitter.js';
import { PromptBias } from './internal/prompt-bias.js';
import { assertKnownKeys, isNonNegativeFinite } from './internal/validate.js';
import { WaitQueue } from './internal/wait-queue.js';
import { MemoryStore } from './memory-store.js';
import type { Permit, PermitState, Usage } from './permit.js';
import {
  defineQuota,
  type Quota,
  type QuotaDefinition,
  type QuotaWindow,
  type WindowUnit,
} from './quota.js';
import type {
  AdmitDecision,
  AdmitOptions,
  MaybePromise,
  Store,
  StorePlan,
  StoreWindow,
  Ticket,
} from './store.js';

/** Windows up to this length are paced; longer ones (hourly, daily budgets) are not. */
const PACED_WINDOW_MAX_MS = 60_000;
const DEFAULT_LOOKAHEAD = 64;
const DEFAULT_MAX_DELAY_MS = 1000;

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
   * @default { lookahead: 64, maxDelayMs: 1000 }
   */
  readonly packing?: boolean | { readonly lookahead?: number; readonly maxDelayMs?: number };
  /**
   * Safety margin on every window: `ms` lengthens each window (covering jitter between the
   * client's admission and the provider's arrival), `ratio` lowers each limit.
   * @default { ms: 20, ratio: 0 }
   */
  readonly margin?: { readonly ms?: number; readonly ratio?: number };
  /** At most this many permits active (admitted, not settled or cancelled). @default Infinity */
  readonly maxInFlight?: number;
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
  /** Permits of this limiter not yet settled or cancelled. */
  readonly inFlight: number;
  /** Learned ratio of reported to estimated prompt tokens (1 until settlements teach it). */
  readonly promptBias: number;
}

/** The events of a limiter; subscribe with {@link Limiter.on}. */
export interface LimiterEvents {
  admitted: { readonly permit: Permit; readonly queued: number };
  /** The head of the queue must wait: how long, and for what. */
  waiting: { readonly waitMs: number; readonly blockedBy: string; readonly queued: number };
  settled: { readonly permit: Permit; readonly usage: Usage | undefined };
  cancelled: { readonly permit: Permit };
  paused: { readonly durationMs: number };
  throttled: { readonly factor: number; readonly durationMs: number };
  /** A waiter was rejected (timeout, abort, closed, store failure). */
  rejected: { readonly error: TollgateError };
  /** A background store operation or a listener failed. */
  error: { readonly error: unknown };
}

interface Request {
  readonly cost: number;
  readonly estimate: TokenEstimate | undefined;
  readonly priority: number;
  readonly signal: AbortSignal | undefined;
  readonly maxWaitMs: number;
}

interface Waiter extends Request {
  /** Recomputed from the estimate at each decision, as the learned bias moves. */
  cost: number;
  readonly enqueuedAt: number;
  readonly resolve: (permit: Permit) => void;
  readonly reject: (error: TollgateError) => void;
  done: boolean;
  expectedWaitMs: number | undefined;
  /** Once it has been the head: how late backfilling may push its start (store clock). */
  latestStart: number | undefined;
  deadline: TimerHandle | undefined;
  onAbort: (() => void) | undefined;
}

const isPromiseLike = <T>(value: MaybePromise<T>): value is Promise<T> =>
  typeof (value as { then?: unknown } | undefined)?.then === 'function';

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
  private readonly tokenLimits: ReadonlyArray<StoreWindow>;
  /** The smallest token limit: no booking may exceed it (Infinity without token windows). */
  private readonly maxTokens: number;
  private readonly lookahead: number;
  private readonly maxHeadDelayMs: number;
  private readonly maxInFlight: number;
  private readonly defaultMaxWaitMs: number;
  private readonly events = new Emitter<LimiterEvents>();
  private readonly queue = new WaitQueue<Waiter>();
  private inFlight = 0;
  private readonly promptBias = new PromptBias();
  /** Whether the store answered synchronously last time; enables the fast path. */
  private syncStore = false;
  /** The store's clock less this limiter's, at the last decision (0 for a store on this clock). */
  private storeOffset = 0;
  private pumping = false;
  private pumpAgain = false;
  /**
   * Set when the head of the queue waits and lower-priority waiters were left out of the
   * decision: the next pass offers them, each only if it does not delay the head at all.
   */
  private lowerPass = false;
  /** The `wakeAt` of the head's own priority, kept across that lower-priority pass. */
  private levelWakeAt: number | undefined;
  private timer: TimerHandle | undefined;
  private closed = false;
  private readonly owner: PermitOwner = {
    settle: (permit, usage) => this.settlePermit(permit, usage),
    cancel: (permit) => this.cancelPermit(permit),
  };

  constructor(options: LimiterOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new ConfigurationError('must be an object', 'Limiter options');
    }
    assertKnownKeys(
      options,
      ['quota', 'store', 'key', 'clock', 'pacing', 'packing', 'margin', 'maxInFlight', 'maxWaitMs'],
      'Limiter',
      ConfigurationError,
    );
    this.quota = defineQuota(options.quota);
    this.key = options.key ?? 'default';
    if (typeof this.key !== 'string' || this.key === '') {
      throw new ConfigurationError('must be a non-empty string', 'Limiter.key');
    }
    this.clock = options.clock ?? systemClock;
    this.store = options.store ?? new MemoryStore({ clock: this.clock });
    this.plan = buildPlan(this.quota, options.margin ?? {}, options.pacing ?? true);
    this.tokenLimits = this.plan.windows.filter((window) => window.unit === 'tokens');
    this.maxTokens = Math.min(...this.tokenLimits.map((window) => window.limit));
    ({ lookahead: this.lookahead, maxDelayMs: this.maxHeadDelayMs } = parsePacking(
      options.packing ?? true,
    ));
    this.maxInFlight = options.maxInFlight ?? Number.POSITIVE_INFINITY;
    if (
      !(this.maxInFlight >= 1) ||
      (Number.isFinite(this.maxInFlight) && !Number.isInteger(this.maxInFlight))
    ) {
      throw new ConfigurationError('must be an integer >= 1 or Infinity', 'Limiter.maxInFlight');
    }
    this.defaultMaxWaitMs = options.maxWaitMs ?? Number.POSITIVE_INFINITY;
    if (!(this.defaultMaxWaitMs >= 0)) {
      throw new ConfigurationError('must be a number >= 0 or Infinity', 'Limiter.maxWaitMs');
    }
  }

  /**
   * Waits until the request fits every window (and its pace, and any pause), then books it
   * and returns its permit. Rejects at once with {@link RequestTooLargeError} when it can
   * never fit; with {@link WaitTimeoutError} or {@link WaitAbortedError} when the wait is cut.
   */
  acquire(options: AcquireOptions = {}): Promise<Permit> {
    if (this.closed) return Promise.reject(new LimiterClosedError());
    const request = this.parseRequest(options);
    if (request instanceof TollgateError) return Promise.reject(request);
    // Fast path: nobody waits and the store answers synchronously — one decision, no waiter.
    if (
      this.syncStore &&
      !this.pumping &&
      this.queue.size === 0 &&
      this.inFlight < this.maxInFlight
    ) {
      let decision: MaybePromise<AdmitDecision> | undefined;
      try {
        decision = this.store.admit(this.key, this.plan, [request.cost]);
      } catch {
        // the queued path below asks again and reports the failure to this caller
      }
      if (!isPromiseLike(decision)) return this.afterFastDecision(request, decision);
      this.syncStore = false;
      return decision.then(
        (answer) => this.afterFastDecision(request, answer),
        () => this.afterFastDecision(request, undefined),
      );
    }
    return new Promise<Permit>((resolve, reject) => this.enqueue(request, resolve, reject));
  }

  /**
   * Holds every admission of this quota — for every limiter sharing its store and key — for
   * `durationMs`, as after a provider's 429 with a reset time.
   */
  async pause(durationMs: number): Promise<void> {
    if (!isNonNegativeFinite(durationMs)) {
      throw new InvalidArgumentError('must be a finite number >= 0', 'durationMs');
    }
    await this.store.pause(this.key, this.plan, durationMs);
    this.emit('paused', { durationMs });
  }

  /**
   * Lowers every window's limit, and its pace, to `factor` of itself for `durationMs`, for
   * every limiter sharing the quota — as after a burst-guard rejection.
   */
  async throttle(factor: number, durationMs: number): Promise<void> {
    if (typeof factor !== 'number' || !(factor > 0 && factor <= 1)) {
      throw new InvalidArgumentError('must be a number in (0, 1]', 'factor');
    }
    if (!isNonNegativeFinite(durationMs)) {
      throw new InvalidArgumentError('must be a finite number >= 0', 'durationMs');
    }
    await this.store.throttle(this.key, this.plan, factor, durationMs);
    this.emit('throttled', { factor, durationMs });
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
      queued: this.queue.size,
      inFlight: this.inFlight,
      promptBias: this.promptBias.value,
    };
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<E extends keyof LimiterEvents>(
    event: E,
    listener: (payload: LimiterEvents[E]) => void,
  ): () => void {
    return this.events.on(event, listener);
  }

  /**
   * Rejects every waiter with {@link LimiterClosedError}, and every later `acquire`. Active
   * permits can still be settled or cancelled.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearTimer();
    const error = new LimiterClosedError();
    for (const waiter of this.queue.drain()) this.finish(waiter, error);
  }

  /** Admitted at once, or queued like any other request (the store may have failed). */
  private afterFastDecision(
    request: Request,
    decision: AdmitDecision | undefined,
  ): Promise<Permit> {
    const ticket = decision?.tickets[0];
    if (decision !== undefined && ticket !== undefined) {
      return Promise.resolve(this.issue(request, ticket, decision.now, 0));
    }
    return new Promise<Permit>((resolve, reject) => this.enqueue(request, resolve, reject));
  }

  /** An estimate's booking at the prompt bias learned so far, within what a window holds. */
  private estimatedCost(estimate: TokenEstimate): number {
    const cost = Math.ceil(estimate.prompt * this.promptBias.value) + Math.ceil(estimate.output);
    return Math.min(cost, this.maxTokens);
  }

  private parseRequest(options: AcquireOptions): Request | TollgateError {
    if (typeof options !== 'object' || options === null) {
      return new InvalidArgumentError('must be an object', 'acquire options');
    }
    for (const key in options) {
      if (key !== 'tokens' && key !== 'priority' && key !== 'signal' && key !== 'maxWaitMs') {
        return new InvalidArgumentError('unknown option', `acquire.${key}`);
      }
    }
    const { tokens = 0, priority = 0, signal, maxWaitMs = this.defaultMaxWaitMs } = options;
    let cost: number;
    let estimate: TokenEstimate | undefined;
    if (typeof tokens === 'number') {
      if (!isNonNegativeFinite(tokens)) {
        return new InvalidArgumentError(`must be a finite number >= 0, got ${tokens}`, 'tokens');
      }
      cost = Math.ceil(tokens);
    } else {
      if (
        typeof tokens !== 'object' ||
        tokens === null ||
        !isNonNegativeFinite(tokens.prompt) ||
        !isNonNegativeFinite(tokens.output)
      ) {
        return new InvalidArgumentError(
          'must be { prompt, output } of finite numbers >= 0',
          'tokens',
        );
      }
      estimate = tokens;
      // a bias learned above 1 never makes a request that fits unbiased too large
      const unbiased = Math.ceil(tokens.prompt) + Math.ceil(tokens.output);
      cost = unbiased <= this.maxTokens ? this.estimatedCost(tokens) : unbiased;
    }
    if (typeof priority !== 'number' || !Number.isFinite(priority)) {
      return new InvalidArgumentError('must be a finite number', 'priority');
    }
    if (typeof maxWaitMs !== 'number' || !(maxWaitMs >= 0)) {
      return new InvalidArgumentError('must be a number >= 0 or Infinity', 'maxWaitMs');
    }
    for (const window of this.tokenLimits) {
      if (cost > window.limit) return new RequestTooLargeError(window.name, window.limit, cost);
    }
    if (signal?.aborted) return new WaitAbortedError(0, undefined, signal.reason);
    return { cost, estimate, priority, signal, maxWaitMs };
  }

  private enqueue(
    request: Request,
    resolve: (permit: Permit) => void,
    reject: (error: TollgateError) => void,
  ): void {
    const { signal, maxWaitMs } = request;
    const waiter: Waiter = {
      ...request,
      enqueuedAt: this.clock.now(),
      resolve,
      reject,
      done: false,
      expectedWaitMs: undefined,
      latestStart: undefined,
      deadline: undefined,
      onAbort: undefined,
    };
    if (signal !== undefined) {
      waiter.onAbort = () => {
        const waited = this.clock.now() - waiter.enqueuedAt;
        this.drop(waiter, new WaitAbortedError(waited, waiter.expectedWaitMs, signal.reason));
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
    }
    if (Number.isFinite(maxWaitMs)) {
      waiter.deadline = this.clock.setTimeout(() => {
        waiter.deadline = undefined;
        const waited = this.clock.now() - waiter.enqueuedAt;
        this.drop(waiter, new WaitTimeoutError(maxWaitMs, waited, waiter.expectedWaitMs));
      }, maxWaitMs);
    }
    this.queue.push(waiter);
    this.pump();
  }

  /** Runs admission passes until nothing changes, one at a time. */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    if (this.queue.size === 0 || this.closed) {
      this.clearTimer();
      return;
    }
    this.pumping = true;
    this.pumpAgain = true;
    this.drive();
  }

  /** Passes run synchronously while the store answers synchronously. */
  private drive(): void {
    while (this.pumpAgain && this.queue.size > 0 && !this.closed) {
      this.pumpAgain = false;
      const pending = this.pass();
      if (pending !== undefined) {
        pending.then(
          () => this.drive(),
          (error: unknown) => {
            this.emit('error', { error });
            this.drive();
          },
        );
        return;
      }
    }
    this.pumping = false;
    if (this.queue.size === 0) this.clearTimer();
  }

  /** One admission decision over the head of the queue; a promise when the store is remote. */
  private pass(): Promise<void> | undefined {
    const slots = this.maxInFlight - this.inFlight;
    if (slots <= 0) {
      this.clearTimer();
      return undefined;
    }
    const waiting = this.queue.peek(Math.min(this.lookahead, slots));
    const head = waiting[0]!;
    // Backfilling within the head's priority may delay it (by maxDelayMs at most); waiters of a
    // lower priority get a pass of their own, after it, in which nothing may delay the head.
    const lowerPass = this.lowerPass;
    this.lowerPass = false;
    // `peek` is in priority order: when the last shares the head's priority, they all do
    const onePriority = waiting.at(-1)!.priority === head.priority;
    const candidates =
      lowerPass || onePriority
        ? waiting
        : waiting.filter((waiter) => waiter.priority === head.priority);
    const lowerLeft = !lowerPass && !onePriority;
    // Estimates are booked at the bias learned by now, not the one when they queued.
    for (const waiter of candidates) {
      if (waiter.estimate !== undefined) waiter.cost = this.estimatedCost(waiter.estimate);
    }
    const costs = candidates.map((waiter) => waiter.cost);
    const options = lowerPass ? undefined : this.admitOptions(head);
    let decision: MaybePromise<AdmitDecision>;
    try {
      decision = this.store.admit(this.key, this.plan, costs, options);
    } catch (cause) {
      this.failAll(candidates, cause);
      return undefined;
    }
    if (isPromiseLike(decision)) {
      this.syncStore = false;
      return decision.then(
        (answer) => this.apply(candidates, answer, lowerLeft),
        (cause: unknown) => this.failAll(candidates, cause),
      );
    }
    this.syncStore = true;
    this.apply(candidates, decision, lowerLeft);
    return undefined;
  }

  /**
   * How late backfilling by waiters of its own priority may push the head's start: `maxDelayMs`
   * past the start computed when it became the head (not at all in that first decision), and
   * never past its deadline.
   */
  private admitOptions(head: Waiter): AdmitOptions | undefined {
    if (this.maxHeadDelayMs === 0 || head.latestStart === undefined) return undefined;
    const deadline = head.enqueuedAt + head.maxWaitMs + this.storeOffset;
    return { headLatestStart: Math.min(head.latestStart, deadline) };
  }

  private apply(
    candidates: ReadonlyArray<Waiter>,
    decision: AdmitDecision,
    lowerLeft: boolean,
  ): void {
    this.storeOffset = decision.now - this.clock.now();
    let head: Waiter | undefined;
    for (let i = 0; i < candidates.length; i++) {
      const waiter = candidates[i]!;
      const ticket = decision.tickets[i];
      if (ticket === undefined) head ??= waiter;
      else if (waiter.done) this.afterWrite(this.store.release(this.key, this.plan, ticket));
      else this.grant(waiter, ticket, decision.now);
    }
    if (head === undefined || decision.retryAt === undefined || head.done) {
      this.pumpAgain = true;
      return;
    }
    head.latestStart ??= decision.retryAt + this.maxHeadDelayMs;
    if (lowerLeft) {
      this.lowerPass = true;
      this.levelWakeAt = decision.wakeAt;
      this.pumpAgain = true;
      return;
    }
    const levelWakeAt = this.levelWakeAt;
    this.levelWakeAt = undefined;
    const waitMs = decision.retryAt - decision.now;
    if (!Number.isFinite(waitMs)) {
      this.drop(head, new StoreError(`store gave no finite retry time (${decision.blockedBy})`));
      return;
    }
    const waited = this.clock.now() - head.enqueuedAt;
    head.expectedWaitMs = waited + waitMs;
    if (head.expectedWaitMs > head.maxWaitMs) {
      this.drop(head, new WaitTimeoutError(head.maxWaitMs, waited, head.expectedWaitMs));
      return;
    }
    if (this.events.has('waiting')) {
      this.emit('waiting', {
        waitMs,
        blockedBy: decision.blockedBy ?? '',
        queued: this.queue.size,
      });
    }
    const wakeAt = Math.min(decision.wakeAt ?? decision.retryAt, levelWakeAt ?? decision.retryAt);
    const wakeMs = wakeAt - decision.now;
    this.clearTimer();
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = undefined;
        this.pump();
      },
      Math.min(waitMs, wakeMs),
    );
  }

  private failAll(candidates: ReadonlyArray<Waiter>, cause: unknown): void {
    const error =
      cause instanceof StoreError ? cause : new StoreError('store.admit failed', { cause });
    for (const waiter of candidates) this.drop(waiter, error);
  }

  private grant(waiter: Waiter, ticket: Ticket, admittedAt: number): void {
    this.queue.remove(waiter);
    this.cleanup(waiter);
    waiter.resolve(this.issue(waiter, ticket, admittedAt, this.clock.now() - waiter.enqueuedAt));
  }

  private issue(request: Request, ticket: Ticket, admittedAt: number, waitedMs: number): Permit {
    this.inFlight++;
    const permit = new ActivePermit(
      this.owner,
      ticket,
      request.cost,
      request.estimate,
      admittedAt,
      waitedMs,
    );
    if (this.events.has('admitted')) this.emit('admitted', { permit, queued: this.queue.size });
    return permit;
  }

  /** Rejects a waiter that is still waiting and takes it out of the queue. */
  private drop(waiter: Waiter, error: TollgateError): void {
    if (waiter.done) return;
    this.queue.remove(waiter);
    this.finish(waiter, error);
    this.pump();
  }

  private finish(waiter: Waiter, error: TollgateError): void {
    this.cleanup(waiter);
    if (this.events.has('rejected')) this.emit('rejected', { error });
    waiter.reject(error);
  }

  private cleanup(waiter: Waiter): void {
    waiter.done = true;
    if (waiter.deadline !== undefined) this.clock.clearTimeout(waiter.deadline);
    if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort);
  }

  private settlePermit(permit: ActivePermit, usage: Usage | undefined): void {
    if (usage !== undefined) validateUsage(usage);
    this.endPermit(permit, 'settled');
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
      this.afterWrite(this.store.rebook(this.key, this.plan, permit.ticket, actual));
    }
    if (this.events.has('settled')) this.emit('settled', { permit, usage });
    this.pump();
  }

  private cancelPermit(permit: ActivePermit): void {
    this.endPermit(permit, 'cancelled');
    this.afterWrite(this.store.release(this.key, this.plan, permit.ticket));
    if (this.events.has('cancelled')) this.emit('cancelled', { permit });
    this.pump();
  }

  private endPermit(permit: ActivePermit, state: 'settled' | 'cancelled'): void {
    if (permit.state !== 'active') {
      throw new PermitStateError(permit.state, state === 'settled' ? 'settle' : 'cancel');
    }
    permit.state = state;
    this.inFlight--;
  }

  /**
   * A store write (rebook, release) off the caller's path: a remote store's answer triggers a
   * new pass, its failure becomes an `error` event. A synchronous store has already applied it.
   */
  private afterWrite(result: MaybePromise<void>): void {
    if (!isPromiseLike(result)) return;
    result.then(
      () => this.pump(),
      (error: unknown) => this.emit('error', { error }),
    );
  }

  private emit<E extends keyof LimiterEvents>(event: E, payload: LimiterEvents[E]): void {
    this.events.emit(event, payload, (error) => {
      if (event !== 'error') this.emit('error', { error });
    });
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}

interface PermitOwner {
  settle(permit: ActivePermit, usage: Usage | undefined): void;
  cancel(permit: ActivePermit): void;
}

class ActivePermit implements Permit {
  state: PermitState = 'active';

  constructor(
    private readonly owner: PermitOwner,
    readonly ticket: Ticket,
    readonly tokens: number,
    readonly estimate: TokenEstimate | undefined,
    readonly admittedAt: number,
    readonly waitedMs: number,
  ) {}

  settle(usage?: Usage): void {
    this.owner.settle(this, usage);
  }

  cancel(): void {
    this.owner.cancel(this);
  }
}

function validateUsage(usage: Usage): void {
  if (typeof usage !== 'object' || usage === null) {
    throw new InvalidArgumentError('must be an object', 'usage');
  }
  for (const key in usage) {
    if (key !== 'promptTokens' && key !== 'completionTokens' && key !== 'totalTokens') {
      throw new InvalidArgumentError('unknown field', `usage.${key}`);
    }
    const value = usage[key];
    if (value !== undefined && !isNonNegativeFinite(value)) {
      throw new InvalidArgumentError(`must be a finite number >= 0, got ${value}`, `usage.${key}`);
    }
  }
}

function buildPlan(
  quota: Quota,
  margin: NonNullable<LimiterOptions['margin']>,
  pacing: boolean,
): StorePlan {
  assertKnownKeys(margin, ['ms', 'ratio'], 'Limiter.margin', ConfigurationError);
  const { ms = 20, ratio = 0 } = margin;
  if (!isNonNegativeFinite(ms))
    throw new ConfigurationError('must be a finite number >= 0', 'Limiter.margin.ms');
  if (!isNonNegativeFinite(ratio) || ratio >= 1) {
    throw new ConfigurationError('must be a number in [0, 1)', 'Limiter.margin.ratio');
  }
  if (typeof pacing !== 'boolean')
    throw new ConfigurationError('must be a boolean', 'Limiter.pacing');
  const pacedWindows = slowestPerUnit(quota.windows);
  const windows = quota.windows.map((window): StoreWindow => {
    const scaled = window.limit * (1 - ratio);
    const limit = window.unit === 'requests' ? Math.floor(scaled) : scaled;
    if (limit < 1) {
      throw new ConfigurationError(`leaves ${window.name} a limit below 1`, 'Limiter.margin.ratio');
    }
    return {
      name: window.name,
      unit: window.unit,
      limit,
      windowMs: window.windowMs + ms,
      paced: pacing && pacedWindows.has(window),
    };
  });
  const id = windows
    .map((w) => `${w.name}:${w.limit}/${w.windowMs}${w.paced ? 'p' : ''}`)
    .join(',');
  return { id, windows };
}

/**
 * Per unit, the window of a minute or less with the lowest average rate — the shortest of those
 * within 1% of it, since a short window gives its pace back sooner (600 RPM and 10 RPS pace on
 * the second; 1,000,000 TPM and 16,667 TPS too). Pacing at that rate keeps every such window
 * at its average rate or below; one paced window per unit is enough. Longer windows (hourly,
 * daily budgets) are enforced but not paced.
 */
function slowestPerUnit(windows: ReadonlyArray<QuotaWindow>): ReadonlySet<QuotaWindow> {
  const paced = new Set<QuotaWindow>();
  const rate = (window: QuotaWindow) => window.limit / window.windowMs;
  for (const unit of ['requests', 'tokens'] as const) {
    const candidates = windows.filter((w) => w.unit === unit && w.windowMs <= PACED_WINDOW_MAX_MS);
    if (candidates.length === 0) continue;
    const lowest = Math.min(...candidates.map(rate));
    // windows are sorted shortest first
    paced.add(candidates.find((window) => rate(window) <= lowest * 1.01)!);
  }
  return paced;
}

function parsePacking(packing: NonNullable<LimiterOptions['packing']>): {
  lookahead: number;
  maxDelayMs: number;
} {
  if (packing === true) return { lookahead: DEFAULT_LOOKAHEAD, maxDelayMs: DEFAULT_MAX_DELAY_MS };
  if (packing === false) return { lookahead: 1, maxDelayMs: 0 };
  if (typeof packing !== 'object' || packing === null) {
    throw new ConfigurationError(
      'must be a boolean or { lookahead?, maxDelayMs? }',
      'Limiter.packing',
    );
  }
  assertKnownKeys(packing, ['lookahead', 'maxDelayMs'], 'Limiter.packing', ConfigurationError);
  const { lookahead = DEFAULT_LOOKAHEAD, maxDelayMs = DEFAULT_MAX_DELAY_MS } = packing;
  if (!(Number.isInteger(lookahead) && lookahead >= 1)) {
    throw new ConfigurationError('must be an integer >= 1', 'Limiter.packing.lookahead');
  }
  if (!isNonNegativeFinite(maxDelayMs)) {
    throw new ConfigurationError('must be a finite number >= 0', 'Limiter.packing.maxDelayMs');
  }
  return { lookahead, maxDelayMs };
}
