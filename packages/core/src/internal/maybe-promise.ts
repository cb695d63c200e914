import type { MaybePromise } from '../store.js';

/** Whether a store answered later (a remote store) rather than at once (the memory store). */
export const isPromiseLike = <T>(value: MaybePromise<T>): value is Promise<T> =>
  typeof (value as { then?: unknown } | undefined)?.then === 'function';

/** Runs `next` after `value` settles when it is a promise, at once otherwise. */
export const afterMaybe = <T, R>(
  value: MaybePromise<T> | undefined,
  next: () => MaybePromise<R>,
): MaybePromise<R> => (isPromiseLike(value) ? value.then(next) : next());
