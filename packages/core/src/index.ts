export { type Clock, systemClock, type TimerHandle } from './clock.js';
export {
  type Call,
  type CallAccount,
  type CallContext,
  type Layer,
  pipeline,
  run,
} from './compose.js';
export {
  ConfigurationError,
  InvalidArgumentError,
  isTollgateError,
  LimiterClosedError,
  PermitStateError,
  RequestTooLargeError,
  StoreError,
  StoreUnavailableError,
  TollgateError,
  type TollgateErrorCode,
  type TollgateErrors,
  WaitAbortedError,
  WaitTimeoutError,
} from './errors.js';
export {
  type ChatContentPartLike,
  type ChatEstimatorOptions,
  type ChatMessageLike,
  type ChatRequestLike,
  chatEstimator,
  defaultChatEstimator,
  estimateTextTokens,
  type TokenEstimate,
  type TokenEstimator,
} from './estimate.js';
export type { LimiterEvents } from './events.js';
export type { Margin, Packing } from './internal/plan.js';
export { mayHaveBeenSent } from './internal/sent.js';
export {
  type CallOutcome,
  type ChatLayer,
  type LimiterFor,
  type LimitOptions,
  limit,
  openAIUsage,
} from './limit.js';
export {
  type AcquireOptions,
  Limiter,
  type LimiterOptions,
  type LimiterSnapshot,
  type WindowSnapshot,
} from './limiter.js';
export { MemoryStore, type MemoryStoreOptions } from './memory-store.js';
export type { Permit, PermitState, QuotaFeedback, Usage } from './permit.js';
export {
  type AccountingMode,
  defineQuota,
  formatDuration,
  type Quota,
  type QuotaDefinition,
  type QuotaWindow,
  type WindowDefinition,
  type WindowUnit,
} from './quota.js';
export type {
  AdmitDecision,
  AdmitOptions,
  MarginWidening,
  MaybePromise,
  Store,
  StorePlan,
  StoreSnapshot,
  StoreWindow,
  StoreWindowUsage,
  Ticket,
} from './store.js';
