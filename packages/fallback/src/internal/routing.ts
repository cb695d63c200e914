import type { Call, CallContext, TimerHandle } from '@tollgate/core';
import { anySignal } from '@tollgate/core/signals';
import { ModelsUnavailableError } from '../errors.js';
import type { ModelSkip } from '../events.js';
import type { Chain, Member } from './chain.js';

/** What `fallback()` needs of a request: a `model` field it sets. */
export interface ModelRequest {
  readonly model?: string;
}

/** One model's try at the request: a call down the pipeline with the model set. */
interface Attempt {
  readonly member: Member;
  readonly controller: AbortController;
  /** Admitted by its model's limiter: the request is this attempt's to serve. */
  admitted: boolean;
  /** Stopped by the routing: another attempt was admitted first, or the call is over. */
  lost: boolean;
  outputStarted: boolean;
  /** When it spills: starts the next model while it keeps waiting. */
  spill: TimerHandle | undefined;
}

/**
 * One call's way down the chain. Models are tried in chain order; a model whose limiter has
 * not admitted the request within its `spillAfterMs` starts the next one while it keeps
 * waiting, and the first limiter to admit the request serves it — the preferred model too,
 * whenever it gets there first. The others are stopped before anything is sent. When the
 * serving model refuses the request for a reason in `fallbackOn`, that model is left out and
 * the request goes round again, from the preferred model on. All of it is this call's own
 * state: concurrent calls never share a position in the chain.
 */
export class Routing<Req extends ModelRequest, Res> {
  private readonly reasons = new Map<Member, ModelSkip>();
  /** Models this call may not use any more: refused, gave up on, or too small. */
  private readonly excluded = new Set<Member>();
  /** Models started in this round. */
  private readonly started = new Set<Member>();
  private readonly live = new Set<Attempt>();
  private latest: Attempt | undefined;
  private winner: Attempt | undefined;
  /** The model that sent the request on, and why: the next `fallback` event. */
  private moved: { readonly model: string; readonly reason: ModelSkip } | undefined;
  private failed: { readonly error: unknown } | undefined;
  /** The largest context window a model refused the request as too long for. */
  private tooLongFor: number | undefined;
  private refusedTooLong = false;
  private done = false;
  private resolve!: (response: Res) => void;
  private reject!: (error: unknown) => void;

  constructor(
    private readonly chain: Chain,
    /** The call below for each model: the next layer, through the model's own `layer` if any. */
    private readonly callOf: (member: Member) => Call<Req, Res>,
    private readonly order: ReadonlyArray<Member>,
    private readonly request: Req,
    private readonly context: CallContext,
  ) {}

  run(): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      if (!this.advance()) this.unavailable();
    });
  }

  /** Starts the first model of the round not yet started and usable; false when none is. */
  private advance(): boolean {
    for (const member of this.order) {
      if (this.excluded.has(member) || this.started.has(member)) continue;
      if (!this.fits(member)) {
        this.exclude(member, { kind: 'context-window' });
        continue;
      }
      const out = this.chain.outOf(member);
      if (out !== undefined) {
        this.exclude(member, { kind: 'refused', classification: out });
        this.moved = { model: member.model, reason: { kind: 'refused', classification: out } };
        continue;
      }
      this.start(member);
      return true;
    }
    return false;
  }

  private fits(member: Member): boolean {
    if (!this.refusedTooLong) return true;
    return (
      member.contextWindow !== undefined &&
      this.tooLongFor !== undefined &&
      member.contextWindow > this.tooLongFor
    );
  }

  private start(member: Member): void {
    const { model } = member;
    if (this.moved !== undefined) {
      this.chain.emit('fallback', { from: this.moved.model, to: model, reason: this.moved.reason });
      this.moved = undefined;
    }
    const controller = new AbortController();
    const joined = anySignal([this.context.signal, controller.signal]);
    const attempt: Attempt = {
      member,
      controller,
      admitted: false,
      lost: false,
      outputStarted: false,
      spill: undefined,
    };
    this.started.add(member);
    this.live.add(attempt);
    this.latest = attempt;
    const context: CallContext = {
      ...this.context,
      ...(joined.signal === undefined ? {} : { signal: joined.signal }),
      model,
      waiting: () => this.waiting(attempt),
      admitted: () => this.admitted(attempt),
      outputStarted: () => {
        attempt.outputStarted = true;
        this.context.outputStarted?.();
      },
    };
    Promise.resolve()
      .then(() => this.callOf(member)({ ...this.request, model }, context))
      .then(
        (response) => this.settled(attempt, { ok: true, response }),
        (error: unknown) => this.settled(attempt, { ok: false, error }),
      )
      .finally(joined.dispose);
  }

  /** The attempt waits in its model's limiter: after `spillAfterMs` the next model starts too. */
  private waiting(attempt: Attempt): void {
    const { spillAfterMs, model } = attempt.member;
    if (this.done || attempt.lost || attempt.admitted || attempt.spill !== undefined) return;
    if (!Number.isFinite(spillAfterMs)) return;
    attempt.spill = this.chain.clock.setTimeout(() => {
      attempt.spill = undefined;
      if (this.done || attempt.lost || attempt.admitted || this.winner !== undefined) return;
      const reason: ModelSkip = { kind: 'spilled', afterMs: spillAfterMs };
      this.moved = { model, reason };
      if (this.advance()) this.reasons.set(attempt.member, reason);
      else this.moved = undefined; // nothing further to wait for
    }, spillAfterMs);
  }

  /** The first attempt admitted serves the request; every other one is stopped unsent. */
  private admitted(attempt: Attempt): void {
    this.stopSpill(attempt);
    if (this.winner === undefined && !attempt.lost && !this.done) {
      attempt.admitted = true;
      this.winner = attempt;
      for (const other of this.live) if (other !== attempt) this.lose(other);
    } else if (attempt !== this.winner) {
      this.lose(attempt);
    }
  }

  private settled(
    attempt: Attempt,
    outcome: { ok: true; response: Res } | { ok: false; error: unknown },
  ): void {
    this.stopSpill(attempt);
    this.live.delete(attempt);
    if (this.done || attempt.lost) return;
    if (this.winner === undefined) {
      // it ended unadmitted: its limiter gave up on the request, or nothing below limits it
      const skip = outcome.ok ? undefined : this.chain.skipOf(outcome.error);
      if (unsent(skip) && !this.context.signal?.aborted) {
        this.exclude(attempt.member, skip);
        this.moved = { model: attempt.member.model, reason: skip };
        this.failed = { error: (outcome as { error: unknown }).error };
        if (attempt === this.latest) this.advance();
        if (this.live.size === 0 && !this.advance()) this.unavailable();
        return;
      }
      this.winner = attempt;
      for (const other of this.live) this.lose(other);
    }
    if (attempt !== this.winner) return;
    this.winner = undefined;
    const { member } = attempt;
    if (outcome.ok) {
      const position = this.order.indexOf(member);
      const skipped = this.order.slice(0, position).flatMap((before) => {
        const reason = this.reasons.get(before);
        return reason === undefined ? [] : [{ model: before.model, reason }];
      });
      this.chain.emit('served', { model: member.model, skipped });
      this.finish(() => this.resolve(outcome.response));
      return;
    }
    const { error } = outcome;
    const skip =
      attempt.outputStarted || this.context.signal?.aborted ? undefined : this.chain.skipOf(error);
    if (skip === undefined) {
      this.finish(() => this.reject(error));
      return;
    }
    if (skip.kind === 'refused' && skip.classification.kind === 'context-length') {
      this.refusedTooLong = true;
      this.tooLongFor = larger(this.tooLongFor, member.contextWindow);
      // no model known to hold more: the refusal itself is the answer
      const roomier = this.order.some(
        (other) => other !== member && !this.excluded.has(other) && this.fits(other),
      );
      if (!roomier) {
        this.finish(() => this.reject(error));
        return;
      }
    }
    if (skip.kind === 'refused') this.chain.refused(member, skip.classification);
    this.exclude(member, skip);
    this.moved = { model: member.model, reason: skip };
    this.failed = { error };
    // a new round, from the preferred model on
    this.started.clear();
    if (!this.advance()) this.unavailable();
  }

  private exclude(member: Member, reason: ModelSkip): void {
    this.excluded.add(member);
    this.reasons.set(member, reason);
  }

  private unavailable(): void {
    const models = this.order.flatMap((member) => {
      const reason = this.reasons.get(member);
      return reason === undefined ? [] : [{ model: member.model, reason }];
    });
    const cause = this.failed === undefined ? undefined : { cause: this.failed.error };
    this.finish(() => this.reject(new ModelsUnavailableError(models, cause)));
  }

  private finish(settle: () => void): void {
    this.done = true;
    for (const attempt of this.live) this.lose(attempt);
    settle();
  }

  private lose(attempt: Attempt): void {
    if (attempt.lost) return;
    attempt.lost = true;
    this.stopSpill(attempt);
    attempt.controller.abort(new Error(`the request went to another model of the chain`));
  }

  private stopSpill(attempt: Attempt): void {
    if (attempt.spill === undefined) return;
    this.chain.clock.clearTimeout(attempt.spill);
    attempt.spill = undefined;
  }
}

/** A skip that proves nothing was sent on the attempt, so other waits go on undisturbed. */
function unsent(skip: ModelSkip | undefined): skip is ModelSkip {
  return skip?.kind === 'over-budget' || skip?.kind === 'too-large' || skip?.kind === 'no-account';
}

function larger(known: number | undefined, window: number | undefined): number | undefined {
  return known === undefined || window === undefined ? (window ?? known) : Math.max(known, window);
}
