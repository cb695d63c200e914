import { ConfigurationError, isTollgateError, systemClock } from '@tollgate/core';
import { describe, expect, it } from 'vitest';
import {
  createClassifier,
  isRetryPolicy,
  type RetryPolicyOptions,
  retryBudget,
  retryPolicy,
} from '../src/index.js';

describe('retryPolicy', () => {
  it('fills in documented defaults', () => {
    const policy = retryPolicy();
    expect(policy).toMatchObject({
      maxAttempts: 5,
      maxElapsedMs: Number.POSITIVE_INFINITY,
      maxRetryAfterMs: 60_000,
      clock: systemClock,
      signal: undefined,
    });
    expect(policy.budget).toBeDefined();
    expect(Object.isFrozen(policy)).toBe(true);
  });

  it('returns a policy passed to it unchanged, and recognises it', () => {
    const policy = retryPolicy({ maxAttempts: 2 });
    expect(retryPolicy(policy)).toBe(policy);
    expect(isRetryPolicy(policy)).toBe(true);
    expect(isRetryPolicy({ maxAttempts: 2 })).toBe(false);
  });

  it('accepts Infinity attempts under a time budget, a shared budget, or none', () => {
    const budget = retryBudget();
    expect(
      retryPolicy({ maxAttempts: Number.POSITIVE_INFINITY, maxElapsedMs: 30_000 }).maxAttempts,
    ).toBe(Number.POSITIVE_INFINITY);
    expect(retryPolicy({ budget }).budget).toBe(budget);
    expect(retryPolicy({ budget: false }).budget).toBeUndefined();
  });

  it.each<[string, RetryPolicyOptions, string]>([
    ['an unknown option', { maxRetries: 3 } as RetryPolicyOptions, 'retryPolicy.maxRetries'],
    ['zero attempts', { maxAttempts: 0 }, 'retryPolicy.maxAttempts'],
    ['fractional attempts', { maxAttempts: 2.5 }, 'retryPolicy.maxAttempts'],
    ['NaN attempts', { maxAttempts: Number.NaN }, 'retryPolicy.maxAttempts'],
    [
      'retries that never end',
      { maxAttempts: Number.POSITIVE_INFINITY },
      'retryPolicy.maxAttempts',
    ],
    ['a negative time budget', { maxElapsedMs: -1 }, 'retryPolicy.maxElapsedMs'],
    ['a negative ceiling', { maxRetryAfterMs: -5 }, 'retryPolicy.maxRetryAfterMs'],
    ['a signal that is not one', { signal: {} as AbortSignal }, 'retryPolicy.signal'],
    ['a backoff that is not a function', { backoff: 100 as never }, 'retryPolicy.backoff'],
    [
      'both a classifier and a provider',
      { classifier: createClassifier(), provider: 'openai' },
      'retryPolicy.classifier',
    ],
    ['an unknown provider', { provider: 'azure' as never }, 'retryPolicy.provider'],
    ['a bad rule', { rules: [{ kind: 'server' }] }, 'retryPolicy.rules[0]'],
    ['a clock without timers', { clock: { now: () => 0 } as never }, 'retryPolicy.clock'],
    ['a budget that is not one', { budget: true as never }, 'retryPolicy.budget'],
    ['an onRetry that is not a function', { onRetry: 'log' as never }, 'retryPolicy.onRetry'],
  ])('rejects %s with a ConfigurationError naming the option', (_name, options, option) => {
    let thrown: unknown;
    try {
      retryPolicy(options);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect(isTollgateError(thrown, 'TOLLGATE_CONFIGURATION')).toBe(true);
    expect((thrown as ConfigurationError).option).toBe(option);
    expect((thrown as Error).message.startsWith(`${option}: `)).toBe(true);
  });

  it('keeps a custom backoff and classifier as given', () => {
    const backoff = () => 10;
    const classifier = createClassifier({ provider: 'dashscope' });
    const policy = retryPolicy({ backoff, classifier });
    expect(policy.backoff).toBe(backoff);
    expect(policy.classifier).toBe(classifier);
  });
});
