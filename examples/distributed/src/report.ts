import type { QuotaRates } from './shared.js';

/**
 * The fluid lower bound of a batch's makespan under a quota, in seconds: per window, the time
 * the batch's total cost needs at its rate, less one window (the first fills at once); the
 * largest. `costs`: what the provider booked per request (prompt tokens + max_tokens).
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

/** `{ burst: 1, 'token-rate': 0 }` → `burst 1`; `none` when every count is zero. */
export function formatReasons(counts: Readonly<Record<string, number>>): string {
  const parts = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${reason} ${n}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

/** Label-value rows, aligned. */
export function table(rows: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return ['', ...rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`)].join('\n');
}
