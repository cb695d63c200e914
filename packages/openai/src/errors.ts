import { TollgateError } from '@tollgate/core';

declare module '@tollgate/core' {
  interface TollgateErrors {
    TOLLGATE_PROVIDER_RESPONSE: ProviderResponseError;
  }
}

/**
 * A provider's non-2xx answer, as the retry policy sees it. `tollgateFetch` never rejects with
 * it: when retrying stops, the caller gets the provider's `Response` itself, so an SDK raises
 * its own typed error (`OpenAI.RateLimitError`…). It is the `error` your policy's `onRetry` and
 * `onGiveUp` hooks and your layers receive for a refused attempt.
 *
 * @example
 * const policy = retryPolicy({
 *   provider: 'dashscope',
 *   onRetry: ({ error, classification }) => {
 *     if (isTollgateError(error, 'TOLLGATE_PROVIDER_RESPONSE')) console.warn(error.status, classification.kind);
 *   },
 * });
 */
export class ProviderResponseError extends TollgateError {
  readonly code = 'TOLLGATE_PROVIDER_RESPONSE';
  /** The HTTP status, e.g. 429. */
  readonly status: number;
  /** The response headers (`retry-after`, `x-ratelimit-*`…). */
  readonly headers: Headers;
  /** The response body as text (the classifier parses it), or undefined if it could not be read. */
  readonly body: string | undefined;
  /** The provider's response, body unread. */
  readonly response: Response;

  constructor(response: Response, body: string | undefined) {
    super(
      `provider answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`,
    );
    this.status = response.status;
    this.headers = response.headers;
    this.body = body;
    this.response = response;
  }
}
