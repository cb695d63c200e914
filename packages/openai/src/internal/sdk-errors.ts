import { AsyncLocalStorage } from 'node:async_hooks';
import { isTollgateError, type TollgateError } from '@tollgate/core';

/**
 * openai-node turns every rejection of its `fetch` into an error of its own: `APIConnectionError`
 * ("Connection error.", the rejection as `cause`), or `APIConnectionTimeoutError` ("Request timed
 * out.", no cause at all) when the rejection's text mentions a timeout — as `WaitTimeoutError`'s
 * code does. A Tollgate error is not a connection error: nothing was sent, and the caller needs
 * its `code` and fields to decide what next.
 *
 * So a client made by `withTollgate` runs each of its requests (the SDK's `makeRequest`: one per
 * attempt, streaming or not) in an async context of its own, where `tollgateFetch` records the
 * Tollgate error it rejects with; the request then throws that error in place of the SDK's
 * wrapper. Keyed by the request's context, concurrent requests never see each other's errors; a
 * fetch that rejects with anything else (a network error, the abort of the SDK's signal or
 * timeout) leaves the SDK's own error as it is.
 */
interface SdkRequest {
  failure: TollgateError | undefined;
}

const requests = new AsyncLocalStorage<SdkRequest>();

/**
 * Records what a fetch made by `tollgateFetch` rejects with, for the SDK request it serves (if a
 * client made by `withTollgate` sent it). Call it in the fetch's own async context.
 */
export function recordRejection(error: unknown): void {
  const request = requests.getStore();
  if (request !== undefined && isTollgateError(error)) request.failure = error;
}

/** The SDK's request path, a private method of the client (openai >= 4). */
type MakeRequest = (this: unknown, ...args: unknown[]) => Promise<unknown>;

interface ClientInternals {
  makeRequest?: unknown;
  withOptions(options: never): unknown;
}

const KEEPS_TOLLGATE_ERRORS = Symbol('@tollgate/openai/keeps-tollgate-errors');

/**
 * Makes `client`'s requests throw the Tollgate error their fetch rejected with, instead of the
 * SDK's connection error; so do the clients its `withOptions()` returns. Returns `client` itself.
 * A client whose SDK has no `makeRequest` (a future major) keeps the SDK's wrappers, where the
 * Tollgate error is the `cause` unless the SDK took it for a timeout.
 */
export function keepingTollgateErrors<C extends object>(client: C): C {
  const internals = client as unknown as ClientInternals;
  if (Object.hasOwn(client, KEEPS_TOLLGATE_ERRORS) || typeof internals.makeRequest !== 'function') {
    return client;
  }
  const makeRequest = internals.makeRequest as MakeRequest;
  const withOptions = internals.withOptions;
  Object.defineProperties(client, {
    [KEEPS_TOLLGATE_ERRORS]: { value: true },
    makeRequest: {
      configurable: true,
      writable: true,
      value: function (this: unknown, ...args: unknown[]): Promise<unknown> {
        // The SDK retrying a failed attempt (a per-request `maxRetries`) calls this again from
        // within that attempt: its answer, not the failure it retries, is the outcome.
        const retried = requests.getStore();
        if (retried !== undefined) retried.failure = undefined;
        const request: SdkRequest = { failure: undefined };
        return requests
          .run(request, () => makeRequest.apply(this, args))
          .catch((error: unknown) => {
            throw request.failure ?? error;
          });
      },
    },
    withOptions: {
      configurable: true,
      writable: true,
      value: function (this: unknown, options: never): unknown {
        return keepingTollgateErrors(withOptions.call(this, options) as object);
      },
    },
  });
  return client;
}
