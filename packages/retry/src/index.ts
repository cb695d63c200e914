export {
  type Backoff,
  constant,
  type DecorrelatedJitterOptions,
  decorrelatedJitter,
  type ExponentialBackoffOptions,
  equalJitter,
  exponentialFullJitter,
  type LinearBackoffOptions,
  linear,
} from './backoff.js';
export { type RetryBudget, type RetryBudgetOptions, retryBudget } from './budget.js';
export {
  type Classification,
  type ClassificationRule,
  type Classifier,
  type ClassifierOptions,
  type ClassifyContext,
  type ClassifyOptions,
  classify,
  classifyResponse,
  createClassifier,
  detectProvider,
  type ErrorFacts,
  type ErrorKind,
  isRetryable,
  type Provider,
} from './classify.js';
export {
  type ExhaustedReason,
  isRetryError,
  RetryAbortedError,
  RetryAfterTooLongError,
  RetryBudgetExceededError,
  RetryConfigurationError,
  RetryError,
  type RetryErrorCode,
  RetryExhaustedError,
  type RetryOutcome,
} from './errors.js';
export { type PausableLimiter, type RetryLayer, retry } from './layer.js';
export {
  type BurstThrottle,
  type GiveUpEvent,
  type GiveUpReason,
  isRetryPolicy,
  type LimiterFeedback,
  type RetryEvent,
  type RetryPolicy,
  type RetryPolicyOptions,
  retryPolicy,
} from './policy.js';
export {
  type HeadersLike,
  parseGoDuration,
  parseRateLimitHeaders,
  parseRetryAfter,
  parseRetryAfterMs,
  type RateLimitHeaders,
  type RateLimitWindow,
  type RetryAfterOptions,
  retryAfterFromHeaders,
} from './retry-after.js';
export { type AttemptContext, type RetryingOptions, retrying } from './retrying.js';
