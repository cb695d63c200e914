export { type TollgateCallOptions, type TollgateRequestOptions, tollgate } from './call-options.js';
export { type WithTollgateOptions, withTollgate } from './client.js';
export { ProviderResponseError } from './errors.js';
export { tollgateFetch } from './fetch.js';
export type { ChatCompletionBody, FetchLike, TollgateFetchOptions } from './options.js';
