export {
  RedisStore,
  type RedisStoreMode,
  type RedisStoreOptions,
  type UnavailabilityPolicy,
} from './redis-store.js';
