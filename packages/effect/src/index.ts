export { effectClock, tollgateClock } from './Clock.js';
export {
  AccountsUnavailable,
  type AdmissionError,
  AuthRejected,
  BadRequest,
  type ClassifyErrorOptions,
  ContextTooLong,
  classifyError,
  fromClassification,
  fromPipelineError,
  fromTollgateError,
  isProviderFailure,
  ModelsUnavailable,
  type PipelineFailure,
  type ProviderFailure,
  ProviderUnavailable,
  QuotaClosed,
  QuotaExhausted,
  QuotaWaitAborted,
  QuotaWaitTimeout,
  RateLimited,
  RequestTooLarge,
  RetryGaveUp,
  StoreFailure,
  StoreUnavailable,
  UnknownFailure,
} from './errors.js';
export { type EffectCallContext, fromTollgate, pipelineEffect } from './Pipeline.js';
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
