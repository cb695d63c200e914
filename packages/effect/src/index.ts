export { tollgateClock } from './Clock.js';
export {
  type AdmissionError,
  AuthRejected,
  BadRequest,
  type ClassifyErrorOptions,
  ContextTooLong,
  classifyError,
  fromClassification,
  fromTollgateError,
  isProviderFailure,
  type ProviderFailure,
  ProviderUnavailable,
  QuotaClosed,
  QuotaExhausted,
  QuotaWaitAborted,
  QuotaWaitTimeout,
  RateLimited,
  RequestTooLarge,
  StoreFailure,
  StoreUnavailable,
  UnknownFailure,
} from './errors.js';
export {
  makeQuota,
  Quota,
  type QuotaOptions,
  type QuotaService,
  type WithQuotaOptions,
  withQuota,
} from './Quota.js';
export { QuotaStore } from './QuotaStore.js';
export { type RetryDecision, retrying, retrySchedule } from './Retry.js';
