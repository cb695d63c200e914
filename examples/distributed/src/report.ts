// The fluid lower bound and the 429 reasons are the batch example's, read the same way here.
export { lowerBoundSeconds } from '../../batch/src/bound.js';
export { formatReasons } from '../../batch/src/report.js';

/** Label-value rows, aligned. */
export function table(rows: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return ['', ...rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`)].join('\n');
}

/** The `fraction` quantile (0–1) of ascending `sorted` values, nearest rank; NaN when empty. */
export function percentile(sorted: ReadonlyArray<number>, fraction: number): number {
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(fraction * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}
