/** A quota as rates: limits per window. */
export interface QuotaRates {
  readonly rpm: number;
  readonly tpm: number;
  readonly rps: number;
  readonly tps: number;
}

/** qwen3-max on Model Studio (design.md): 600 RPM, 1,000,000 TPM, applied per second too. */
export const QWEN3_MAX: QuotaRates = { rpm: 600, tpm: 1_000_000, rps: 10, tps: 16_667 };

/**
 * The fluid lower bound of a batch's makespan under a quota, in seconds: for each window, the
 * time the batch's total cost needs at that window's rate, less one window (the first window
 * can be filled at once); the largest of them. `costs` are what the provider books per request
 * (prompt tokens + max_tokens under reserved accounting).
 */
export function lowerBoundSeconds(costs: ReadonlyArray<number>, quota: QuotaRates): number {
  const tokens = costs.reduce((sum, cost) => sum + cost, 0);
  return Math.max(
    0,
    costs.length / quota.rps - 1,
    (costs.length / quota.rpm) * 60 - 60,
    tokens / quota.tps - 1,
    (tokens / quota.tpm) * 60 - 60,
  );
}

/**
 * The bound of a batch drained through `quotas` copies of `quota` (accounts or models): `quotas`
 * times one quota's throughput, i.e. the single-quota bound divided by `quotas`. It is what
 * "N × one quota" promises; the fluid bound of the pooled windows, which fill once each at the
 * start, is lower by up to (N − 1)/N of a window, so a ratio against this one is the stricter.
 */
export const multipliedBoundSeconds = (
  costs: ReadonlyArray<number>,
  quota: QuotaRates,
  quotas: number,
): number => lowerBoundSeconds(costs, quota) / quotas;
