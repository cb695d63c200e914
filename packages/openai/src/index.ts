export { type WithTollgateOptions, withTollgate } from './client.js';
export { isProviderResponseError, ProviderResponseError } from './errors.js';
export {
  type ChatCompletionBody,
  type FetchLike,
  type TollgateFetchOptions,
  tollgateFetch,
} from './fetch.js';
