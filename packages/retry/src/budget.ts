import { checkFunction, checkNumber, checkOptions } from '@tollgate/core/validate';

/**
 * A retry budget shared by every caller that should back off together (one per process, or
 * one per provider account). Each call deposits; each retry withdraws. When a fleet is in
 * trouble, most calls fail, and a budget keeps retries to a fraction of the traffic instead
 * of multiplying it by `maxAttempts`.
 */
export interface RetryBudget {
  /** Counts one call (its first attempt). */
  recordCall(): void;
  /** Takes one retry from the budget; `false` when the budget is spent (then do not retry). */
  tryAcquireRetry(): boolean;
  /** Retries the budget would allow now. */
  available(): number;
}

export interface RetryBudgetOptions {
  /**
   * Retries allowed per call over the window: 0.2 lets retries add at most 20% to the load.
   * Raise it when failures are rare and isolated; lower it for large fleets. @default 0.2
   */
  readonly ratio?: number;
  /** The sliding window calls and retries are counted over. @default 10_000 */
  readonly windowMs?: number;
  /**
   * Retries always allowed per second of window, however few the calls, so a quiet process
   * can still retry its occasional failure. @default 10
   */
  readonly minRetriesPerSecond?: number;
  /** Where time comes from; inject a fake clock in tests. @default Date */
  readonly clock?: { now(): number };
}

const BUCKETS = 10;

/**
 * Creates a retry budget (the scheme of Finagle's `RetryBudget` and gRPC's retry throttling):
 * over the last `windowMs`, retries may not exceed
 * `minRetriesPerSecond × windowMs / 1000 + ratio × calls`.
 * Counts are kept in ten buckets, so the window slides in steps of `windowMs / 10` and memory
 * stays constant whatever the traffic.
 *
 * @example
 * const budget = retryBudget({ ratio: 0.1 });
 * const policy = retryPolicy({ provider: 'openai', budget });
 */
export function retryBudget(options: RetryBudgetOptions = {}): RetryBudget {
  checkOptions(options, 'retryBudget', ['ratio', 'windowMs', 'minRetriesPerSecond', 'clock']);
  const ratio = checkNumber(options.ratio ?? 0.2, 'retryBudget.ratio', { min: 0 });
  const windowMs = checkNumber(options.windowMs ?? 10_000, 'retryBudget.windowMs', { above: 0 });
  const minPerSecond = checkNumber(
    options.minRetriesPerSecond ?? 10,
    'retryBudget.minRetriesPerSecond',
    { min: 0 },
  );
  const clock = options.clock ?? Date;
  checkFunction((clock as Partial<typeof clock> | null)?.now, 'retryBudget.clock.now');
  checkNumber(clock.now(), 'retryBudget.clock.now()');

  const bucketMs = windowMs / BUCKETS;
  const floor = (minPerSecond * windowMs) / 1000;
  const calls = new Array<number>(BUCKETS).fill(0);
  const retries = new Array<number>(BUCKETS).fill(0);
  let current = Math.floor(clock.now() / bucketMs);

  /** Moves to the present bucket, emptying the ones that fell out of the window. */
  const advance = (): number => {
    const bucket = Math.floor(clock.now() / bucketMs);
    if (bucket > current) {
      const steps = Math.min(bucket - current, BUCKETS);
      for (let step = 1; step <= steps; step++) {
        const index = (current + step) % BUCKETS;
        calls[index] = 0;
        retries[index] = 0;
      }
      current = bucket;
    }
    return current % BUCKETS;
  };
  const sum = (counts: ReadonlyArray<number>) => counts.reduce((total, count) => total + count, 0);
  const allowance = () => floor + ratio * sum(calls) - sum(retries);

  return {
    recordCall() {
      const index = advance();
      calls[index] = (calls[index] ?? 0) + 1;
    },
    tryAcquireRetry() {
      const index = advance();
      if (allowance() < 1) return false;
      retries[index] = (retries[index] ?? 0) + 1;
      return true;
    },
    available() {
      advance();
      return Math.max(0, Math.floor(allowance()));
    },
  };
}
