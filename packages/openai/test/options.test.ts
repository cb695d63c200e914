import { isTollgateError, Limiter } from '@tollgate/core';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { type TollgateFetchOptions, tollgateFetch, withTollgate } from '../src/index.js';
import { closedPort } from './helpers.js';

const limiter = () => new Limiter({ quota: { rpm: 600, tpm: 100_000 } });

function configError(options: unknown): unknown {
  try {
    tollgateFetch(options as TollgateFetchOptions);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('tollgateFetch options', () => {
  it('rejects unknown and invalid options with a ConfigurationError naming the option', () => {
    const cases: Array<[unknown, string]> = [
      [undefined, 'tollgateFetch'],
      [{}, 'tollgateFetch.limiter'],
      [{ limiter: {} }, 'tollgateFetch.limiter'],
      [{ limiter: limiter(), retries: 3 }, 'tollgateFetch.retries'],
      [{ limiter: limiter(), provider: 'azure' }, 'tollgateFetch.provider'],
      [{ limiter: limiter(), fetch: 'fetch' }, 'tollgateFetch.fetch'],
      [{ limiter: limiter(), estimate: 100 }, 'tollgateFetch.estimate'],
      [{ limiter: limiter(), priority: Number.NaN }, 'tollgateFetch.priority'],
      [{ limiter: limiter(), maxWaitMs: -1 }, 'tollgateFetch.maxWaitMs'],
      [{ limiter: limiter(), syncHeaders: false }, 'tollgateFetch.syncHeaders'],
      [{ limiter: limiter(), feedback: { header: false } }, 'tollgateFetch.feedback.header'],
      [{ limiter: limiter(), feedback: { maxPauseMs: -1 } }, 'quotaFeedback.maxPauseMs'],
      [{ limiter: limiter(), layers: {} }, 'tollgateFetch.layers'],
      [{ limiter: limiter(), layers: [() => undefined, 'rotate'] }, 'tollgateFetch.layers[1]'],
      [{ limiter: limiter(), retry: 5 }, 'tollgateFetch.retry'],
    ];
    for (const [options, option] of cases) {
      const error = configError(options);
      expect(isTollgateError(error, 'TOLLGATE_CONFIGURATION'), option).toBe(true);
      expect((error as { option: string }).option).toBe(option);
    }
  });

  it('validates retry options at construction, naming the retry option', () => {
    const error = configError({ limiter: limiter(), retry: { maxAttempts: 0 } });
    expect(isTollgateError(error, 'TOLLGATE_CONFIGURATION')).toBe(true);
    expect((error as { option: string }).option).toBe('retryPolicy.maxAttempts');
    const moved = configError({ limiter: limiter(), retry: { defaultPauseMs: 10 } });
    expect((moved as { option: string }).option).toBe('retryPolicy.defaultPauseMs');
  });

  it('withTollgate refuses a fetch of its own and a non-client', () => {
    const client = new OpenAI({ apiKey: 'sk-test', baseURL: 'http://127.0.0.1:9/v1' });
    expect(() =>
      withTollgate(client, { limiter: limiter(), fetch: globalThis.fetch } as never),
    ).toThrow('withTollgate.fetch');
    expect(() => withTollgate({} as OpenAI, { limiter: limiter() })).toThrow('withTollgate client');
  });

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
