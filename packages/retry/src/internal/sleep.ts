import type { Clock } from '@tollgate/core';

/** How a sleep ended: its time passed, or a signal fired first (with the signal's reason). */
export type SleepOutcome =
  | { readonly aborted: false }
  | { readonly aborted: true; readonly reason: unknown };

// setTimeout fires at once for delays above 2^31 − 1 ms; longer sleeps are taken in pieces.
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Sleeps `ms` on `clock`. If any signal fires, resolves at once with its reason and clears
 * the timer, so nothing is left pending. Never rejects.
 */
export function sleep(
  ms: number,
  clock: Clock,
  signals: ReadonlyArray<AbortSignal>,
): Promise<SleepOutcome> {
  const already = signals.find((signal) => signal.aborted);
  if (already !== undefined) return Promise.resolve({ aborted: true, reason: already.reason });
  if (!(ms > 0)) return Promise.resolve({ aborted: false });

  return new Promise((resolve) => {
    let remaining = ms;
    let handle: unknown;
    const finish = (outcome: SleepOutcome) => {
      for (const signal of signals) signal.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    function onAbort(this: AbortSignal) {
      clock.clearTimeout(handle);
      finish({ aborted: true, reason: this.reason });
    }
    const arm = () => {
      const step = Math.min(remaining, MAX_TIMER_MS);
      remaining -= step;
      handle = clock.setTimeout(() => (remaining > 0 ? arm() : finish({ aborted: false })), step);
    };
    for (const signal of signals) signal.addEventListener('abort', onAbort, { once: true });
    arm();
  });
}
