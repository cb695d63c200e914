import type { Clock, TimerHandle } from '../clock.js';
import type { Emitter } from '../emitter.js';
import {
  isTollgateError,
  LimiterClosedError,
  StoreError,
  type StoreUnavailableError,
  type TollgateError,
  WaitAbortedError,
  WaitTimeoutError,
} from '../errors.js';
import type { TokenEstimate } from '../estimate.js';
import type { LimiterEvents } from '../events.js';
import type { Permit } from '../permit.js';
import type {
  AdmitDecision,
  AdmitOptions,
  MaybePromise,
  Store,
  StorePlan,
  Ticket,
} from '../store.js';
import { isPromiseLike } from './maybe-promise.js';
import type { Request } from './request.js';
import { WaitQueue } from './wait-queue.js';

/** Bounds on how soon an unavailable store is asked again, whatever it suggests. */
const MIN_STORE_RETRY_MS = 10;
const MAX_STORE_RETRY_MS = 5000;

/** What the scheduler works with; the limiter builds it once. */
export interface SchedulerOptions {
  readonly store: Store;
  readonly key: string;
  readonly plan: StorePlan;
  readonly clock: Clock;
  /** How many waiters one decision considers. */
  readonly lookahead: number;
  /** How late backfilling by the head's own priority may push its start (0: not at all). */
  readonly maxHeadDelayMs: number;
  readonly maxInFlight: number;
  readonly events: Emitter<LimiterEvents>;
  /** What an estimate books now: the learned bias moves between decisions. */
  costOf(estimate: TokenEstimate): number;
  /** Turns an admission into the caller's permit. */
  issue(request: Request, ticket: Ticket, admittedAt: number, waitedMs: number): Permit;
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

/**
 * Who is admitted when: the queue of waiters in priority order, one store decision at a time,
 * one timer for the instant the head (or a backfill) can go, and the permits in flight.
 *
 * A request that nobody waits ahead of, on a store that answers synchronously, is decided at
 * once without a waiter (the fast path). Otherwise it queues; each pass offers the store the
 * head and up to `lookahead` waiters behind it. Within the head's priority, backfilling may
 * delay the head by `maxHeadDelayMs` in all (counted from the start computed when it became
 * the head, never past its deadline); waiters of a lower priority get a pass of their own,
 * after it, in which nothing may delay the head.
 */
export class Scheduler {
  private readonly queue = new WaitQueue<Waiter>();
  private inFlightCount = 0;
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
  /** Set while the store is unavailable: only the retry timer runs passes then. */
  private storeDown = false;
  private closed = false;

  constructor(private readonly options: SchedulerOptions) {}

  get queued(): number {
    return this.queue.size;
  }

  get inFlight(): number {
    return this.inFlightCount;
  }

  /** The store's clock less the limiter's, as of the last queued decision. */
  get clockOffset(): number {
    return this.storeOffset;
  }

  /** Admits the request now or when it fits; rejects when its wait is cut or the store fails. */
  submit(request: Request): Promise<Permit> {
    if (this.closed) return Promise.reject(new LimiterClosedError());
    const { store, key, plan } = this.options;
    if (
      this.syncStore &&
      !this.pumping &&
      this.queue.size === 0 &&
      this.inFlightCount < this.options.maxInFlight
    ) {
      let decision: MaybePromise<AdmitDecision> | undefined;
      try {
        decision = store.admit(key, plan, [request.cost]);
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

  /** A permit ended: its in-flight slot is free, and room may have come back. */
  ended(): void {
    this.inFlightCount--;
    this.pump();
  }

  /**
   * A store write (rebook, release) off the caller's path: a remote store's answer triggers a
   * new pass, its failure becomes an `error` event. A synchronous store has already applied it.
   */
  write(result: MaybePromise<void>): void {
    if (!isPromiseLike(result)) return;
    result.then(
      () => this.pump(),
      (error: unknown) => this.options.events.emit('error', { error }),
    );
  }

  /** Rejects every waiter with {@link LimiterClosedError}, and every later request. */
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

  private enqueue(
    request: Request,
    resolve: (permit: Permit) => void,
    reject: (error: TollgateError) => void,
  ): void {
    const { clock } = this.options;
    const { signal, maxWaitMs } = request;
    const waiter: Waiter = {
      ...request,
      enqueuedAt: clock.now(),
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
        const waited = clock.now() - waiter.enqueuedAt;
        this.drop(waiter, new WaitAbortedError(waited, waiter.expectedWaitMs, signal.reason));
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
    }
    if (Number.isFinite(maxWaitMs)) {
      waiter.deadline = clock.setTimeout(() => {
        waiter.deadline = undefined;
        const waited = clock.now() - waiter.enqueuedAt;
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
    // while the store is unavailable, its retry timer drives the next pass
    if (this.storeDown && this.timer !== undefined) return;
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
            this.options.events.emit('error', { error });
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
    const { store, key, plan, lookahead, costOf } = this.options;
    const slots = this.options.maxInFlight - this.inFlightCount;
    if (slots <= 0) {
      this.clearTimer();
      return undefined;
    }
    const waiting = this.queue.peek(Math.min(lookahead, slots));
    const head = waiting[0]!;
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
      if (waiter.estimate !== undefined) waiter.cost = costOf(waiter.estimate);
    }
    const costs = candidates.map((waiter) => waiter.cost);
    const options = lowerPass ? undefined : this.admitOptions(head);
    let decision: MaybePromise<AdmitDecision>;
    try {
      decision = store.admit(key, plan, costs, options);
    } catch (cause) {
      this.failed(candidates, cause);
      return undefined;
    }
    if (isPromiseLike(decision)) {
      this.syncStore = false;
      return decision.then(
        (answer) => this.apply(candidates, answer, lowerLeft),
        (cause: unknown) => this.failed(candidates, cause),
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
    if (this.options.maxHeadDelayMs === 0 || head.latestStart === undefined) return undefined;
    const deadline = head.enqueuedAt + head.maxWaitMs + this.storeOffset;
    return { headLatestStart: Math.min(head.latestStart, deadline) };
  }

  private apply(
    candidates: ReadonlyArray<Waiter>,
    decision: AdmitDecision,
    lowerLeft: boolean,
  ): void {
    const { store, key, plan, clock, events } = this.options;
    this.storeDown = false;
    this.storeOffset = decision.now - clock.now();
    let head: Waiter | undefined;
    for (let i = 0; i < candidates.length; i++) {
      const waiter = candidates[i]!;
      const ticket = decision.tickets[i];
      if (ticket === undefined) head ??= waiter;
      else if (waiter.done) this.write(store.release(key, plan, ticket));
      else this.grant(waiter, ticket, decision.now);
    }
    if (head === undefined || decision.retryAt === undefined || head.done) {
      this.pumpAgain = true;
      return;
    }
    head.latestStart ??= decision.retryAt + this.options.maxHeadDelayMs;
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
    const waited = clock.now() - head.enqueuedAt;
    head.expectedWaitMs = waited + waitMs;
    if (head.expectedWaitMs > head.maxWaitMs) {
      this.drop(head, new WaitTimeoutError(head.maxWaitMs, waited, head.expectedWaitMs));
      return;
    }
    if (events.has('waiting')) {
      events.emit('waiting', {
        waitMs,
        blockedBy: decision.blockedBy ?? '',
        queued: this.queue.size,
      });
    }
    const wakeAt = Math.min(decision.wakeAt ?? decision.retryAt, levelWakeAt ?? decision.retryAt);
    const wakeMs = wakeAt - decision.now;
    this.clearTimer();
    this.timer = clock.setTimeout(
      () => {
        this.timer = undefined;
        this.pump();
      },
      Math.min(waitMs, wakeMs),
    );
  }

  /**
   * `admit` failed. An unavailable store recorded nothing: every waiter keeps waiting (bounded
   * by its own deadline and signal) and the store is asked again when it suggests. Any other
   * failure rejects the candidates with a {@link StoreError}.
   */
  private failed(candidates: ReadonlyArray<Waiter>, cause: unknown): void {
    if (isTollgateError(cause, 'TOLLGATE_STORE_UNAVAILABLE')) {
      this.unavailable(cause);
      return;
    }
    const error = isTollgateError(cause, 'TOLLGATE_STORE')
      ? cause
      : new StoreError('store.admit failed', { cause });
    for (const waiter of candidates) this.drop(waiter, error);
  }

  /** No admissions until the store answers again; an `error` event when that begins. */
  private unavailable(error: StoreUnavailableError): void {
    const { clock, events } = this.options;
    if (!this.storeDown) {
      this.storeDown = true;
      events.emit('error', { error });
    }
    const hint = error.retryInMs;
    const waitMs =
      hint >= MIN_STORE_RETRY_MS ? Math.min(hint, MAX_STORE_RETRY_MS) : MIN_STORE_RETRY_MS;
    if (events.has('waiting')) {
      events.emit('waiting', { waitMs, blockedBy: 'store', queued: this.queue.size });
    }
    this.clearTimer();
    this.timer = clock.setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, waitMs);
  }

  private grant(waiter: Waiter, ticket: Ticket, admittedAt: number): void {
    this.queue.remove(waiter);
    this.cleanup(waiter);
    const waitedMs = this.options.clock.now() - waiter.enqueuedAt;
    waiter.resolve(this.issue(waiter, ticket, admittedAt, waitedMs));
  }

  private issue(request: Request, ticket: Ticket, admittedAt: number, waitedMs: number): Permit {
    this.inFlightCount++;
    return this.options.issue(request, ticket, admittedAt, waitedMs);
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
    const { events } = this.options;
    if (events.has('rejected')) events.emit('rejected', { error });
    waiter.reject(error);
  }

  private cleanup(waiter: Waiter): void {
    waiter.done = true;
    if (waiter.deadline !== undefined) this.options.clock.clearTimeout(waiter.deadline);
    if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort);
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
