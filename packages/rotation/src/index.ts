export { AllAccountsUnavailableError } from './errors.js';
export type { PoolEvents } from './events.js';
export {
  type AccountDefinition,
  type AccountPool,
  type AccountPoolOptions,
  type AccountQuota,
  type AccountState,
  type AccountStatus,
  accountPool,
  type Candidate,
  type Chooser,
  type LimiterFactory,
  type LimiterFactoryOptions,
  type PickRequest,
  type PooledAccount,
  type Strategy,
} from './pool.js';
export { type RotateLayer, type RotateOptions, rotate } from './rotate.js';
