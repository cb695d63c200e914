import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe } from 'node:diagnostics_channel';
import type { Permit } from '@tollgate/core';

/**
 * When a request really leaves: undici (Node's `fetch`) publishes `undici:request:create` as
 * a fetch starts its request, and `undici:request:bodySent` once the last byte of the body is
 * written to the socket — after a new connection's TCP and TLS handshakes, after any wait for
 * a free connection in the pool. The permit of the fetch that created a request is found by
 * the async context the fetch runs in, and told `departed()` at that instant. A transport that
 * is not undici publishes nothing: its permits stay booked at admission, as before.
 */
const sending = new AsyncLocalStorage<Permit>();
const permitOf = new WeakMap<object, Permit>();
let listening = false;

function listen(): void {
  listening = true;
  subscribe('undici:request:create', (message) => {
    const permit = sending.getStore();
    const request = (message as { request?: object } | null)?.request;
    if (permit !== undefined && typeof request === 'object' && request !== null) {
      permitOf.set(request, permit);
    }
  });
  subscribe('undici:request:bodySent', (message) => {
    const request = (message as { request?: object } | null)?.request;
    if (typeof request !== 'object' || request === null) return;
    const permit = permitOf.get(request);
    if (permit === undefined) return;
    permitOf.delete(request);
    permit.departed();
  });
}

/** Runs `send` (a fetch) so that its request's departure moves `permit`'s booking. */
export function sendingWith<T>(permit: Permit | undefined, send: () => Promise<T>): Promise<T> {
  if (permit === undefined) return send();
  if (!listening) listen();
  return sending.run(permit, send);
}
