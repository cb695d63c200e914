export {
  type ChainedModel,
  type ModelChain,
  type ModelChainOptions,
  type ModelDefinition,
  type ModelLayer,
  modelChain,
} from './chain.js';
export { ModelsUnavailableError } from './errors.js';
export type { ChainEvents, ModelSkip } from './events.js';
export {
  type FallbackLayer,
  type FallbackOptions,
  fallback,
  type ModelRequest,
} from './fallback.js';
