/** How an attempt raced against the signals ended. */
export type RaceOutcome<T> =
  | { readonly kind: 'value'; readonly value: T }
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'aborted'; readonly reason: unknown };

/**
 * Settles with the attempt's outcome, or as soon as a signal fires, whichever comes first —
 * an attempt that ignores its signal cannot hold the caller. A late outcome is dropped
 * (its rejection handled, so it is never reported as unhandled).
 */
export function raceSignals<T>(
  attempt: () => Promise<T>,
  signals: ReadonlyArray<AbortSignal>,
): Promise<RaceOutcome<T>> {
  let promise: Promise<T>;
  try {
    promise = attempt();
  } catch (error) {
    return Promise.resolve({ kind: 'error', error });
  }
  const settled = Promise.resolve(promise).then(
    (value): RaceOutcome<T> => ({ kind: 'value', value }),
    (error: unknown): RaceOutcome<T> => ({ kind: 'error', error }),
  );
  if (signals.length === 0) return settled;
  return new Promise((resolve) => {
    const onAbort = (event: Event) =>
      finish({ kind: 'aborted', reason: (event.target as AbortSignal).reason });
    const finish = (outcome: RaceOutcome<T>) => {
      for (const signal of signals) signal.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    for (const signal of signals) signal.addEventListener('abort', onAbort, { once: true });
    void settled.then(finish);
  });
}
