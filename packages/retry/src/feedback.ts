import type { CallOutcome, QuotaFeedback } from '@tollgate/core';
import { checkBoolean, checkNumber, checkOptions } from '@tollgate/core/validate';
import type { Classifier, ClassifyOptions } from './classification.js';
import { classifierOption } from './classify.js';
import { parseRateLimitHeaders } from './headers.js';
import { checkClassification } from './internal/check.js';
import { extractFacts, isResponseLike, readResponseBody } from './internal/facts.js';

/** Options of {@link quotaFeedback}. */
export interface QuotaFeedbackOptions extends Pick<ClassifyOptions, 'provider' | 'rules'> {
  /** A classifier of your own (a retry policy's, say); replaces `provider` and `rules`. */
  readonly classifier?: Classifier;
  /**
   * How long to pause after a rate refusal that carries no hint (DashScope sends none). A
   * second refusal pauses again. @default 1_000
   */
  readonly defaultPauseMs?: number;
  /** No pause lasts longer, whatever a hint or header says. @default 60_000 */
  readonly maxPauseMs?: number;
  /**
   * On a burst refusal, lower every limit and pace to `factor` for `durationMs`; `false` to
   * leave the pace alone. @default { factor: 0.5, durationMs: 60_000 } (DashScope: throttling
   * usually lifts within a minute)
   */
  readonly burstThrottle?: { readonly factor?: number; readonly durationMs?: number } | false;
  /**
   * Read OpenAI-style `x-ratelimit-remaining-requests` / `-tokens` on every answer, 2xx or
   * not: at 0, pause until that window's `x-ratelimit-reset-*` (the later of the two when both
   * ran out). Turn off when the headers describe another quota than the limiter's. @default true
   */
  readonly headers?: boolean;
  /**
   * On a request-rate or token-rate refusal, also ask the limiter to widen its margin
   * (`widenMargin: true`; see core's `margin.widen`): the limiter admitted the request, so its
   * windows had room, and the provider counted something earlier or longer than the limiter
   * did — network jitter, a loaded machine. Turn off when other traffic the limiter does not
   * see shares the quota (its refusals say nothing of the margin). @default true
   */
  readonly widenMargin?: boolean;
}

const OPTION_KEYS = [
  'provider',
  'rules',
  'classifier',
  'defaultPauseMs',
  'maxPauseMs',
  'burstThrottle',
  'headers',
  'widenMargin',
];

/**
 * What provider answers say about the quota, for core's `limit(limiter, { feedback })`: a
 * request-rate or token-rate refusal pauses the quota until the provider's hint
 * (`retry-after-ms`, `retry-after`, `x-ratelimit-reset-*`, "try again in 6s") or for
 * `defaultPauseMs`, and widens the limiter's margin; a burst refusal throttles it; a rate-limit header at 0 pauses it until
 * its reset. The limiter applies the verdict for every caller sharing the quota, before the
 * answer goes up to a `retry()` layer — so the retry is admitted under it.
 *
 * @example
 * const send = pipeline(
 *   retry({ provider: 'dashscope' }),
 *   limit(limiter, { feedback: quotaFeedback({ provider: 'dashscope' }) }),
 * )(callModel);
 */
export function quotaFeedback(
  options: QuotaFeedbackOptions = {},
): (outcome: CallOutcome<unknown>) => Promise<QuotaFeedback | undefined> {
  checkOptions(options, 'quotaFeedback', OPTION_KEYS);
  const classifier = classifierOption(options, 'quotaFeedback');
  const defaultPauseMs = checkNumber(
    options.defaultPauseMs ?? 1_000,
    'quotaFeedback.defaultPauseMs',
    {
      min: 0,
    },
  );
  const maxPauseMs = checkNumber(options.maxPauseMs ?? 60_000, 'quotaFeedback.maxPauseMs', {
    min: 0,
    infinity: true,
  });
  const burstThrottle = resolveBurstThrottle(options.burstThrottle);
  const readHeaders = checkBoolean(options.headers ?? true, 'quotaFeedback.headers');
  const widenOnRate = checkBoolean(options.widenMargin ?? true, 'quotaFeedback.widenMargin');

  return async (outcome) => {
    const answer = outcome.ok ? outcome.response : outcome.error;
    let pauseMs = readHeaders ? headerPauseMs(answer) : 0;
    let throttle: QuotaFeedback['throttle'];
    let widenMargin = false;
    if (!outcome.ok) {
      const body = isResponseLike(answer) ? await readResponseBody(answer) : undefined;
      const { kind, retryAfterMs } = checkClassification(
        classifier(answer, body === undefined ? {} : { body }),
        'quotaFeedback.classifier(answer)',
      );
      if (kind === 'request-rate' || kind === 'token-rate') {
        pauseMs = Math.max(pauseMs, retryAfterMs ?? defaultPauseMs);
        widenMargin = widenOnRate;
      } else if (kind === 'burst') {
        throttle = burstThrottle;
      }
    }
    // A hint beyond the ceiling is not trusted for longer than the ceiling.
    pauseMs = Math.ceil(Math.min(pauseMs, maxPauseMs));
    if (pauseMs <= 0 && throttle === undefined && !widenMargin) return undefined;
    return {
      ...(pauseMs > 0 ? { pauseMs } : {}),
      ...(throttle === undefined ? {} : { throttle }),
      ...(widenMargin ? { widenMargin } : {}),
    };
  };
}

/**
 * The rule for `x-ratelimit-*`: a window whose remaining count is 0 refuses everything until
 * its reset. Other values say nothing the limiter's own windows do not: they count what this
 * process sent, and the remaining counts lag behind requests in flight.
 */
function headerPauseMs(answer: unknown): number {
  const parsed = parseRateLimitHeaders(extractFacts(answer, undefined).headers);
  if (parsed === undefined) return 0;
  let pauseMs = 0;
  if (parsed.remainingRequests === 0 && parsed.resetRequestsMs !== undefined) {
    pauseMs = Math.max(pauseMs, parsed.resetRequestsMs);
  }
  if (parsed.remainingTokens === 0 && parsed.resetTokensMs !== undefined) {
    pauseMs = Math.max(pauseMs, parsed.resetTokensMs);
  }
  return pauseMs;
}

function resolveBurstThrottle(
  value: QuotaFeedbackOptions['burstThrottle'],
): QuotaFeedback['throttle'] {
  if (value === false) return undefined;
  const input = checkOptions(value ?? {}, 'quotaFeedback.burstThrottle', ['factor', 'durationMs']);
  return {
    factor: checkNumber(input.factor ?? 0.5, 'quotaFeedback.burstThrottle.factor', {
      above: 0,
      max: 1,
    }),
    durationMs: checkNumber(input.durationMs ?? 60_000, 'quotaFeedback.burstThrottle.durationMs', {
      above: 0,
    }),
  };
}
