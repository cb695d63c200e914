import { AsyncLocalStorage } from 'node:async_hooks';
import { defaultChatEstimator, type Limiter, type TokenEstimate } from '@tollgate/core';
import type { ChatCompletionBody } from '@tollgate/openai';

/** Who made a request: the agent's turns, or the background batch (everything else). */
export type Caller = 'agent' | 'batch';

/** One admission, with where it stands in the log's sequence of asks and admissions. */
export interface Admission {
  readonly caller: Caller;
  /** When `limit()` queued the request: its place in the log's sequence. */
  readonly askedAt: number;
  /** When the limiter admitted it, in the same sequence (always after `askedAt`). */
  readonly admittedAt: number;
  /** The limiter's own measure of the wait (`permit.waitedMs`), in its clock's ms. */
  readonly waitedMs: number;
  /** What the limiter booked for it (`permit.tokens`): the estimate at the learned prompt bias. */
  readonly tokens: number;
}

/**
 * Who the limiter admitted, and in what order, from its `admitted` events. The `admitted`
 * event carries the permit, and the permit carries the estimate it was booked from — the very
 * object the client's `estimate` option returned. So the log's `estimate` (core's default
 * estimator, unchanged) notes who is asking, from the async context of the call
 * (`asAgent(() => client.chat.completions.create(…))`), and the moment it is asked: `limit()`
 * calls it right before it queues the request. Both go into one sequence with the
 * admissions, which is what ordering is judged by — not timestamps.
 */
export class AdmissionLog {
  readonly admissions: Admission[] = [];
  private readonly caller = new AsyncLocalStorage<Caller>();
  private readonly asked = new WeakMap<TokenEstimate, { caller: Caller; askedAt: number }>();
  private sequence = 0;

  /** The `estimate` option for `withTollgate`: core's default, noting who asks and when. */
  readonly estimate = (body: ChatCompletionBody): TokenEstimate => {
    const estimate = defaultChatEstimator.estimate(body);
    this.asked.set(estimate, {
      caller: this.caller.getStore() ?? 'batch',
      askedAt: this.sequence++,
    });
    return estimate;
  };

  /** Runs `call`, whose requests are logged as the agent's. */
  asAgent<T>(call: () => Promise<T>): Promise<T> {
    return this.caller.run('agent', call);
  }

  /** Logs the limiter's admissions of requests estimated by this log; returns unsubscribe. */
  watch(limiter: Limiter): () => void {
    return limiter.on('admitted', ({ permit }) => {
      const asked = permit.estimate === undefined ? undefined : this.asked.get(permit.estimate);
      if (asked === undefined) return;
      this.admissions.push({
        ...asked,
        admittedAt: this.sequence++,
        waitedMs: permit.waitedMs,
        tokens: permit.tokens,
      });
    });
  }

  /** Admission waits of `caller`'s requests, in the limiter's clock's ms. */
  waits(caller: Caller): number[] {
    return this.admissions.filter((a) => a.caller === caller).map((a) => a.waitedMs);
  }

  /** Tokens the limiter booked for `caller`'s requests. */
  booked(caller: Caller): number {
    return this.admissions.filter((a) => a.caller === caller).reduce((sum, a) => sum + a.tokens, 0);
  }

  /**
   * For each agent turn, the batch requests already queued when it was asked (`queuedAhead`)
   * and how many of them the limiter admitted before it (`admittedFirst`). With the agent's
   * priority above the batch's, `admittedFirst` is 0 for every turn. At the batch's priority
   * the turn waits its turn, and only packing lets it past the requests it fits beside.
   */
  agentTurnsVersusBatch(): Array<{ readonly queuedAhead: number; readonly admittedFirst: number }> {
    const batch = this.admissions.filter((a) => a.caller === 'batch');
    return this.admissions
      .filter((a) => a.caller === 'agent')
      .map((turn) => {
        const queuedAhead = batch.filter(
          (b) => b.askedAt < turn.askedAt && b.admittedAt > turn.askedAt,
        );
        return {
          queuedAhead: queuedAhead.length,
          admittedFirst: queuedAhead.filter((b) => b.admittedAt < turn.admittedAt).length,
        };
      });
  }
}
