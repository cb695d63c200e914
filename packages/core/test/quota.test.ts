import { describe, expect, it } from 'vitest';
import { ConfigurationError, defineQuota, formatDuration } from '../src/index.js';

describe('defineQuota', () => {
  it('expands shorthands and extra windows, sorted by unit then length', () => {
    const quota = defineQuota({
      tpm: 1_000_000,
      rpm: 600,
      rps: 10,
      windows: [{ unit: 'requests', limit: 10_000, windowMs: 86_400_000 }],
    });
    expect(quota.windows.map((w) => [w.name, w.limit])).toEqual([
      ['requests/1s', 10],
      ['requests/1m', 600],
      ['requests/1d', 10_000],
      ['tokens/1m', 1_000_000],
    ]);
    expect(quota.accounting).toBe('reserved');
    expect(Object.isFrozen(quota.windows)).toBe(true);
  });

  it('returns a quota it already validated as it is', () => {
    const quota = defineQuota({ rpm: 1 });
    expect(defineQuota(quota)).toBe(quota);
  });

  it.each([
    [{ rpm: 0 }, 'quota.rpm'],
    [{ rpm: -5 }, 'quota.rpm'],
    [{ tpm: Number.NaN }, 'quota.tpm'],
    [{ tps: Number.POSITIVE_INFINITY }, 'quota.tps'],
    [{ rpm: 10.5 }, 'quota.rpm'],
    [{ windows: [{ unit: 'requests', limit: 1.5, windowMs: 1000 }] }, 'quota.windows[0].limit'],
    [{ windows: [{ unit: 'tokens', limit: 10, windowMs: 0 }] }, 'quota.windows[0].windowMs'],
    [{ windows: [{ unit: 'tokens', limit: 10, windowMs: 1.5 }] }, 'quota.windows[0].windowMs'],
    [{ windows: [{ unit: 'bytes', limit: 10, windowMs: 1000 }] }, 'quota.windows[0].unit'],
    [
      { windows: [{ unit: 'tokens', limit: 10, windowMs: 1000, burst: 1 }] },
      'quota.windows[0].burst',
    ],
    [{ rpm: 10, windows: [{ unit: 'requests', limit: 5, windowMs: 60_000 }] }, 'quota'],
    [{ rpm: 10, rmp: 5 }, 'quota.rmp'],
    [{}, 'quota'],
    [{ rpm: 1, accounting: 'estimated' }, 'quota.accounting'],
  ])('rejects %j naming %s', (definition, option) => {
    let error: unknown;
    try {
      defineQuota(definition as never);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).option).toBe(option);
  });

  it('accepts fractional token limits', () => {
    expect(defineQuota({ tps: 16_666.67 }).windows[0]!.limit).toBe(16_666.67);
  });
});

describe('formatDuration', () => {
  it.each([
    [1000, '1s'],
    [10_000, '10s'],
    [60_000, '1m'],
    [3_600_000, '1h'],
    [86_400_000, '1d'],
    [1500, '1500ms'],
  ])('%d ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
