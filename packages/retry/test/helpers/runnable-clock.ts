import type { TimerHandle } from '@tollgate/core';
import { createFakeClock, type FakeClock } from '@tollgate/core/testing';

export type Outcome<T> = { value: T } | { error: unknown };

/** Core's fake clock, plus {@link RunnableClock.run}. */
export interface RunnableClock extends FakeClock {
  /**
   * Advances time from one pending timer's due time to the next until `promise` settles, and
   * returns its outcome; fails if it can never settle (no timer left), which is how a test
   * proves nothing hangs.
   */
  run<T>(promise: Promise<T>): Promise<Outcome<T>>;
}

/**
 * An adapter over core's `createFakeClock`: time and timers are core's; it only notes when
 * each timer set through it is due, so `run` can advance exactly to the next one.
 */
export function runnableClock(start?: number): RunnableClock {
  const clock = createFakeClock(start);
  const dueAt = new Map<TimerHandle, number>();
  return {
    ...clock,
    setTimeout(callback: () => void, ms: number): TimerHandle {
      const handle = clock.setTimeout(() => {
        dueAt.delete(handle);
        callback();
      }, ms);
      dueAt.set(handle, clock.now() + Math.max(0, ms));
      return handle;
    },
    clearTimeout(handle: TimerHandle): void {
      dueAt.delete(handle);
      clock.clearTimeout(handle);
    },
    async run<T>(promise: Promise<T>): Promise<Outcome<T>> {
      let outcome: Outcome<T> | undefined;
      promise.then(
        (value) => {
          outcome = { value };
        },
        (error: unknown) => {
          outcome = { error };
        },
      );
      await clock.flush();
      while (outcome === undefined) {
        if (dueAt.size === 0) throw new Error('promise is stuck: no timer left to fire');
        await clock.advance(Math.max(0, Math.min(...dueAt.values()) - clock.now()));
      }
      return outcome;
    },
  };
}
