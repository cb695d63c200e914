import { Limiter } from '@tollgate/core';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { tollgateFetch, withTollgate } from '../src/index.js';
import { closedPort } from './helpers.js';

const limiter = () => new Limiter({ quota: { rpm: 600, tpm: 100_000 } });

describe('withTollgate', () => {
  it('returns a new client with the SDK retries off, leaving the original as it was', () => {
    const client = new OpenAI({
      apiKey: 'sk-test',
      baseURL: 'http://127.0.0.1:9/v1',
      maxRetries: 4,
    });
    const wrapped = withTollgate(client, { limiter: limiter() });
    expect(wrapped).toBeInstanceOf(OpenAI);
    expect(wrapped).not.toBe(client);
    expect(wrapped.maxRetries).toBe(0);
    expect(client.maxRetries).toBe(4);
    expect(wrapped.baseURL).toBe(client.baseURL);
  });
});

describe('a request that never left', () => {
  it('is refunded (cancelled) when the connection is refused, and the fetch error is rethrown', async () => {
    const port = await closedPort();
    const quota = limiter();
    const fetch = tollgateFetch({ limiter: quota, retry: false });
    const error = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'm',
        messages: [{ role: 'user', content: 'Hi' }],
        max_tokens: 50,
      }),
    }).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(TypeError); // undici's "fetch failed", the cause says why
    const snapshot = await quota.snapshot();
    expect(snapshot.windows.map((window) => window.used)).toEqual([0, 0]);
    expect(snapshot.inFlight).toBe(0);
  });

  it('is retried by the policy, each attempt refunded, and the original error rethrown at the end', async () => {
    const port = await closedPort();
    const quota = limiter();
    let attempts = 0;
    const fetch = tollgateFetch({
      limiter: quota,
      retry: { maxAttempts: 3, backoff: () => 1, onRetry: () => attempts++ },
    });
    await expect(
      fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'Hi' }] }),
      }),
    ).rejects.toBeInstanceOf(TypeError);
    expect(attempts).toBe(2);
    expect((await quota.snapshot()).windows.map((window) => window.used)).toEqual([0, 0]);
  });
});
