/**
 * A duration in Go's `time.Duration` notation, as OpenAI writes its `x-ratelimit-reset-*`
 * headers: `0s`, `12ms`, `1.5s`, `6m0s`, `1h2m3.5s`. Rounded up to whole milliseconds, so a
 * client that waits the stated time never comes back early.
 */
export function formatGoDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms));
  if (total === 0) return '0s';
  if (total < 1000) return `${total}ms`;
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor((total % 3_600_000) / 60_000);
  const seconds = (total % 60_000) / 1000;
  const secondsText = `${Number.parseFloat(seconds.toFixed(3))}s`;
  if (hours > 0) return `${hours}h${minutes}m${secondsText}`;
  if (minutes > 0) return `${minutes}m${secondsText}`;
  return secondsText;
}
