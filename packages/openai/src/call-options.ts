import { InvalidArgumentError } from '@tollgate/core';
import { checkOptions } from '@tollgate/core/validate';
import { callHeaders } from './internal/call-headers.js';

/** One call's own Tollgate options, in place of the client's (`withTollgate` options). */
export interface TollgateCallOptions {
  /** Queue priority of this call; higher goes first. @default the client's `priority` */
  readonly priority?: number;
  /**
   * Longest wait for this call's admission, after which it fails with core's
   * `WaitTimeoutError`. @default the client's `maxWaitMs`
   */
  readonly maxWaitMs?: number;
}

/** Request options that carry {@link TollgateCallOptions}: the SDK's `RequestOptions` accept them. */
export interface TollgateRequestOptions {
  /** Reserved `x-tollgate-*` headers, read and removed by `tollgateFetch`: never sent. */
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Request options giving one call its own priority and deadline: pass them as the second
 * argument of the SDK's `create(body, options)` on a client made by `withTollgate` (or as the
 * headers of any request through `tollgateFetch`). They travel as reserved `x-tollgate-*`
 * headers that `tollgateFetch` reads and removes before sending. Checked now: a bad value
 * throws core's `InvalidArgumentError` at the call.
 *
 * @example
 * const reply = await client.chat.completions.create(body, tollgate({ priority: 10, maxWaitMs: 2_000 }));
 * // with the SDK's own options (the signal still aborts the wait):
 * await client.chat.completions.create(body, { ...tollgate({ priority: 10 }), signal, timeout: 60_000 });
 */
export function tollgate(options: TollgateCallOptions): TollgateRequestOptions {
  checkOptions(options, 'tollgate', ['priority', 'maxWaitMs'], InvalidArgumentError);
  return { headers: callHeaders(options) };
}
