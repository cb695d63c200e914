import { ConfigurationError } from '@tollgate/core';
import { createFakeClock } from '@tollgate/core/testing';
import { describe, expect, it } from 'vitest';
import { retryBudget } from '../src/index.js';

describe('retryBudget', () => {
  it('always allows the floor: minRetriesPerSecond × window seconds', () => {
    const clock = createFakeClock();
    const budget = retryBudget({ ratio: 0, minRetriesPerSecond: 2, windowMs: 5_000, clock });
    const granted = Array.from({ length: 12 }, () => budget.tryAcquireRetry());
    expect(granted.filter(Boolean)).toHaveLength(10);
    expect(granted.slice(10)).toEqual([false, false]);
    expect(budget.available()).toBe(0);
  });

  it('adds ratio × calls over the window on top of the floor', () => {
    const clock = createFakeClock();
    const budget = retryBudget({ ratio: 0.2, minRetriesPerSecond: 0, windowMs: 10_000, clock });
    for (let call = 0; call < 50; call++) budget.recordCall();
    expect(budget.available()).toBe(10);
    let granted = 0;
    while (budget.tryAcquireRetry()) granted++;
    expect(granted).toBe(10);
  });

  it('is exhausted when a fleet in trouble retries more than the ratio allows', () => {
    const clock = createFakeClock();
    const budget = retryBudget({ ratio: 0.1, minRetriesPerSecond: 0, clock });
    const outcomes: boolean[] = [];
    for (let call = 0; call < 100; call++) {
      budget.recordCall();
      // every call fails and wants up to 4 retries
      for (let retry = 0; retry < 4; retry++) outcomes.push(budget.tryAcquireRetry());
    }
    expect(outcomes.filter(Boolean)).toHaveLength(10);
  });

  it('frees the budget as calls and retries slide out of the window', async () => {
    const clock = createFakeClock();
    const budget = retryBudget({ ratio: 0, minRetriesPerSecond: 1, windowMs: 2_000, clock });
    expect([budget.tryAcquireRetry(), budget.tryAcquireRetry(), budget.tryAcquireRetry()]).toEqual([
      true,
      true,
      false,
    ]);
    await clock.advance(1_000);
    expect(budget.tryAcquireRetry()).toBe(false);
    await clock.advance(999);
    expect(budget.available()).toBe(0);
    await clock.advance(1);
    expect(budget.available()).toBe(2);
    await clock.advance(60_000);
    expect(budget.available()).toBe(2);
  });

  it('forgets calls older than the window', async () => {
    const clock = createFakeClock();
    const budget = retryBudget({ ratio: 1, minRetriesPerSecond: 0, windowMs: 1_000, clock });
    for (let call = 0; call < 5; call++) budget.recordCall();
    expect(budget.available()).toBe(5);
    await clock.advance(1_000);
    expect(budget.available()).toBe(0);
    expect(budget.tryAcquireRetry()).toBe(false);
  });

  it.each([
    [{ ratio: -0.1 }, 'retryBudget.ratio'],
    [{ windowMs: 0 }, 'retryBudget.windowMs'],
    [{ minRetriesPerSecond: Number.NaN }, 'retryBudget.minRetriesPerSecond'],
    [{ clock: {} }, 'retryBudget.clock.now'],
    [{ percent: 20 }, 'retryBudget.percent'],
  ])('rejects %j', (options, option) => {
    expect(() => retryBudget(options as never)).toThrow(ConfigurationError);
    expect(() => retryBudget(options as never)).toThrow(expect.objectContaining({ option }));
  });
});
