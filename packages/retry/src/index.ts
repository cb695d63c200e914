export type { Backoff } from './backoff.js';
export { type RetryBudget, type RetryBudgetOptions, retryBudget } from './budget.js';
export {
  type Classification,
  type ClassificationRule,
  type Classifier,
  type ClassifyOptions,
  type ErrorFacts,
  type ErrorKind,
  PROVIDERS,
  type Provider,
} from './classification.js';
export { classify, classifyResponse, createClassifier, detectProvider } from './classify.js';
export {
  RetryAbortedError,
  RetryAfterTooLongError,
  RetryBudgetExceededError,
  RetryExhaustedError,
  type RetryOutcome,
} from './errors.js';
export { type QuotaFeedbackOptions, quotaFeedback } from './feedback.js';
export { type RetryLayer, retry } from './layer.js';
export {
  type GiveUpEvent,
  isRetryPolicy,
  type RetryEvent,
  type RetryPolicy,
  type RetryPolicyOptions,
  retryPolicy,
} from './policy.js';
export { type AttemptContext, retrying } from './retrying.js';
