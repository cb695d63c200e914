/**
 * Abort-signal helpers for authors of layers: what `retry()`, `rotate()` and `fallback()` use to
 * join a caller's signal with one of their own. (`AbortSignal.any` needs Node 20.3 and keeps a
 * composite alive as long as its longest-lived source.)
 */

/** The first of `signals` that has fired, if any. */
export function firedSignal(signals: ReadonlyArray<AbortSignal>): AbortSignal | undefined {
  return signals.find((signal) => signal.aborted);
}

/**
 * One signal that fires when any of `signals` does, with the reason of the first to fire.
 * `dispose` removes the listeners once the work is done, so long-lived signals do not collect
 * one listener per call. `undefined` entries are left out; with none left, `signal` is
 * `undefined`.
 *
 * @example
 * const own = new AbortController();
 * const joined = anySignal([context.signal, own.signal]);
 * try {
 *   return await next(request, { ...context, signal: joined.signal });
 * } finally {
 *   joined.dispose();
 * }
 */
export function anySignal(signals: ReadonlyArray<AbortSignal | undefined>): {
  readonly signal: AbortSignal | undefined;
  dispose(): void;
} {
  const sources = signals.filter((signal): signal is AbortSignal => signal !== undefined);
  if (sources.length === 0) return { signal: undefined, dispose: () => {} };
  if (sources.length === 1) return { signal: sources[0], dispose: () => {} };
  const controller = new AbortController();
  const fired = firedSignal(sources);
  if (fired !== undefined) {
    controller.abort(fired.reason);
    return { signal: controller.signal, dispose: () => {} };
  }
  const onAbort = (event: Event) => {
    dispose();
    controller.abort((event.target as AbortSignal).reason);
  };
  const dispose = () => {
    for (const signal of sources) signal.removeEventListener('abort', onAbort);
  };
  for (const signal of sources) signal.addEventListener('abort', onAbort, { once: true });
  return { signal: controller.signal, dispose };
}
