/** The first of `signals` that has fired, if any. */
export function firedSignal(signals: ReadonlyArray<AbortSignal>): AbortSignal | undefined {
  return signals.find((signal) => signal.aborted);
}

/**
 * One signal that fires when any of `signals` does (`AbortSignal.any` needs Node 20.3).
 * `dispose` removes the listeners once the work is done, so long-lived signals do not collect
 * one listener per call.
 */
export function anySignal(signals: ReadonlyArray<AbortSignal>): {
  signal: AbortSignal | undefined;
  dispose(): void;
} {
  if (signals.length === 0) return { signal: undefined, dispose: () => {} };
  if (signals.length === 1) return { signal: signals[0], dispose: () => {} };
  const controller = new AbortController();
  const fired = firedSignal(signals);
  if (fired !== undefined) {
    controller.abort(fired.reason);
    return { signal: controller.signal, dispose: () => {} };
  }
  const onAbort = (event: Event) => {
    dispose();
    controller.abort((event.target as AbortSignal).reason);
  };
  const dispose = () => {
    for (const signal of signals) signal.removeEventListener('abort', onAbort);
  };
  for (const signal of signals) signal.addEventListener('abort', onAbort, { once: true });
  return { signal: controller.signal, dispose };
}

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
