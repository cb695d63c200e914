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
