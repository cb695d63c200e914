export { createFakeClock, type FakeClock } from './testing/fake-clock.js';
export {
  type ConformanceCase,
  type StoreConformanceOptions,
  storeConformanceCases,
} from './testing/store-conformance.js';
