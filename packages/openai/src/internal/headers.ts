import type { Limiter } from '@tollgate/core';
import { parseRateLimitHeaders, type RetryPolicy } from '@tollgate/retry';

/**
 * Keeps the limiter in step with OpenAI-style `x-ratelimit-*` headers. The rule: when a
 * response says `x-ratelimit-remaining-requests: 0` or `x-ratelimit-remaining-tokens: 0`, the
 * provider will refuse anything more until that window's `x-ratelimit-reset-*`, so the limiter
 * is paused until then (the longer of the two when both ran out), at most the policy's
 * `maxRetryAfterMs`. Other values leave the limiter alone: its own windows already count what
 * this process sent, and remaining counts lag behind requests in flight.
 *
 * A failing pause (a shared store that is down) is ignored: the response still goes back.
 */
export async function syncRateLimitHeaders(
  limiter: Limiter,
  headers: Headers,
  policy: RetryPolicy,
): Promise<void> {
  const parsed = parseRateLimitHeaders(headers);
  if (parsed === undefined) return;
  let pauseMs = 0;
  if (parsed.remainingRequests === 0 && parsed.resetRequestsMs !== undefined) {
    pauseMs = Math.max(pauseMs, parsed.resetRequestsMs);
  }
  if (parsed.remainingTokens === 0 && parsed.resetTokensMs !== undefined) {
    pauseMs = Math.max(pauseMs, parsed.resetTokensMs);
  }
  if (pauseMs <= 0) return;
  try {
    await limiter.pause(Math.ceil(Math.min(pauseMs, policy.maxRetryAfterMs)));
  } catch {
    // ignored, see above
  }
}
