import { describe, expect, it } from 'vitest';
import { mayHaveBeenSent } from '../src/internal/sent.js';

const neverSent = (error: unknown) => !mayHaveBeenSent(error);

const coded = (code: string) => Object.assign(new Error(code), { code });

describe("the limit layer's default `sent` rule", () => {
  it('recognises a connection that was never made, along the cause chain', () => {
    expect(neverSent(new TypeError('fetch failed', { cause: coded('ECONNREFUSED') }))).toBe(true);
    expect(neverSent(new TypeError('fetch failed', { cause: coded('ENOTFOUND') }))).toBe(true);
    expect(
      neverSent(new TypeError('fetch failed', { cause: coded('UND_ERR_CONNECT_TIMEOUT') })),
    ).toBe(true);
    // happy eyeballs: every address refused
    const all = new AggregateError([coded('ECONNREFUSED'), coded('ENETUNREACH')], 'connect');
    expect(neverSent(new TypeError('fetch failed', { cause: all }))).toBe(true);
  });

  it('assumes anything else may have reached the provider', () => {
    expect(neverSent(new TypeError('fetch failed', { cause: coded('ECONNRESET') }))).toBe(false);
    expect(neverSent(new DOMException('aborted', 'AbortError'))).toBe(false);
    expect(neverSent(new AggregateError([coded('ECONNREFUSED'), coded('ECONNRESET')]))).toBe(false);
    expect(neverSent('ECONNREFUSED')).toBe(false);
    expect(neverSent(undefined)).toBe(false);
  });
});
