import type { Layer, LimiterFor, TokenEstimate } from '@tollgate/core';
import type {
  Provider,
  QuotaFeedbackOptions,
  RetryPolicy,
  RetryPolicyOptions,
} from '@tollgate/retry';
import type { ChatCompletionBody } from './internal/request.js';

export type { ChatCompletionBody } from './internal/request.js';

/** A `fetch`: what `tollgateFetch` takes as its transport and what it returns. */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Options of `tollgateFetch`. */
export interface TollgateFetchOptions {
  /**
   * The quota every chat completion is admitted by: one limiter per account and model, or a
   * function of the call's context choosing one (by `context.account`, `context.model`).
   */
  readonly limiter: LimiterFor;
  /**
   * How refused attempts are retried: a policy, its options, or `false` for one attempt only.
   * Each retry is a new admission by the limiter.
   * @default retryPolicy({ provider }) — 5 attempts, full-jitter backoff, server hints honoured
   */
  readonly retry?: RetryPolicy | RetryPolicyOptions | false;
  /**
   * Whose error table classifies refusals (`insufficient_quota` is a TPM throttle on DashScope
   * and an empty balance on OpenAI). @default detectProvider(request URL) — `generic` for hosts
   * it does not know, such as a local gateway in front of DashScope
   */
  readonly provider?: Provider;
  /** The transport the requests go out through. @default globalThis.fetch */
  readonly fetch?: FetchLike;
  /**
   * A request's cost, from its parsed JSON body: a token count, or `{ prompt, output }` (the
   * limiter then corrects the prompt part by the bias it learns from reported usage).
   * @default core's defaultChatEstimator: prompt estimate + (max_completion_tokens ?? max_tokens ?? 1024) × n
   */
  readonly estimate?: (request: ChatCompletionBody) => number | TokenEstimate;
  /**
   * Queue priority of these calls; higher goes first. A call's own `tollgate({ priority })`
   * takes its place. @default the limiter's (0)
   */
  readonly priority?: number;
  /**
   * Longest wait for each admission; the call then fails with core's `WaitTimeoutError`. A
   * call's own `tollgate({ maxWaitMs })` takes its place. @default the limiter's maxWaitMs
   */
  readonly maxWaitMs?: number;
  /**
   * What the provider's answers tell the limiter (retry's `quotaFeedback`, classified like the
   * retries): a rate refusal pauses the quota until its reset, a burst refusal throttles it,
   * an `x-ratelimit-remaining-*: 0` header pauses it until that window resets. `false` leaves
   * the quota to the limiter's own windows.
   * @default {} — defaultPauseMs 1 s, at most the retry policy's maxRetryAfterMs, burst throttle 0.5 for 60 s, headers read
   */
  readonly feedback?: Omit<QuotaFeedbackOptions, 'provider' | 'rules' | 'classifier'> | false;
  /**
   * Your layers around each chat completion, outermost first, outside the retries: where
   * rotation and fallback go. They see the parsed body and the provider's `Response`, and
   * set `context.account` (whose `apiKey`, `baseURL`, `organization` and `headers` the
   * request is sent with) or `context.model` (sent instead of the body's).
   * @default []
   */
  readonly layers?: ReadonlyArray<Layer<ChatCompletionBody, Response>>;
}
