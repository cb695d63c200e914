/** Redis did not answer within `commandTimeoutMs`. The cause of the `StoreError` it leads to. */
export class CommandTimeoutError extends Error {
  override name = 'CommandTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`Redis did not answer within ${timeoutMs} ms`);
  }
}

/**
 * Settles like `promise`, or rejects with {@link CommandTimeoutError} after `ms`. The timer is
 * cleared either way, and `promise` keeps a handler, so a late rejection is never unhandled.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new CommandTimeoutError(ms)), ms);
    // a pending command must not keep the process alive on its own
    (timer as { unref?: () => void }).unref?.();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
