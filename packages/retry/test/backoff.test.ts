import { ConfigurationError, isTollgateError } from '@tollgate/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decorrelatedJitter, equalJitter, exponentialFullJitter, linear } from '../src/backoff.js';

const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const retryNumber = fc.integer({ min: 1, max: 60 });
const exponentialParams = fc
  .record({
    baseMs: fc.double({ min: 1, max: 10_000, noNaN: true }),
    factor: fc.double({ min: 1, max: 4, noNaN: true }),
    extraCap: fc.double({ min: 0, max: 100_000, noNaN: true }),
  })
  .map(({ baseMs, factor, extraCap }) => ({ baseMs, factor, capMs: baseMs + extraCap }));

describe('exponentialFullJitter', () => {
  it('draws each delay within [0, min(cap, base × factor^(retry − 1)))', () => {
    fc.assert(
      fc.property(exponentialParams, retryNumber, unit, ({ baseMs, factor, capMs }, retry, r) => {
        const delay = exponentialFullJitter({ baseMs, factor, capMs, random: () => r })(
          retry,
          undefined,
        );
        const ceiling = Math.min(capMs, baseMs * factor ** (retry - 1));
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(ceiling);
        expect(delay).toBeCloseTo(r * ceiling, 6);
      }),
    );
  });

  it('defaults to base 500 ms, factor 2, cap 30 s', () => {
    const top = exponentialFullJitter({ random: () => 0.999_999 });
    expect(Math.round(top(1, undefined))).toBe(500);
    expect(Math.round(top(4, undefined))).toBe(4000);
    expect(Math.round(top(20, undefined))).toBe(30_000);
    expect(exponentialFullJitter({ random: () => 0 })(3, undefined)).toBe(0);
  });
});

describe('equalJitter', () => {
  it('keeps at least half of the exponential delay: within [t/2, t)', () => {
    fc.assert(
      fc.property(exponentialParams, retryNumber, unit, ({ baseMs, factor, capMs }, retry, r) => {
        const delay = equalJitter({ baseMs, factor, capMs, random: () => r })(retry, undefined);
        const t = Math.min(capMs, baseMs * factor ** (retry - 1));
        expect(delay).toBeGreaterThanOrEqual(t / 2);
        expect(delay).toBeLessThanOrEqual(t);
      }),
    );
  });

  it('gives exact values for a fixed random', () => {
    const backoff = equalJitter({ baseMs: 100, random: () => 0.5 });
    expect([1, 2, 3].map((n) => backoff(n, undefined))).toEqual([75, 150, 300]);
  });
});

describe('decorrelatedJitter', () => {
  it('draws within [base, min(cap, 3 × previous)) and never below base', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1, max: 5_000, noNaN: true }),
        fc.double({ min: 0, max: 100_000, noNaN: true }),
        fc.option(fc.double({ min: 0, max: 200_000, noNaN: true }), { nil: undefined }),
        unit,
        (baseMs, extraCap, previous, r) => {
          const capMs = baseMs + extraCap;
          const delay = decorrelatedJitter({ baseMs, capMs, random: () => r })(2, previous);
          const prev = Math.max(previous ?? baseMs, baseMs);
          expect(delay).toBeGreaterThanOrEqual(Math.min(baseMs, capMs));
          expect(delay).toBeLessThanOrEqual(Math.min(capMs, 3 * prev) + 1e-9);
        },
      ),
    );
  });

  it('grows from the previous delay it returned', () => {
    const backoff = decorrelatedJitter({ baseMs: 100, capMs: 10_000, random: () => 1 - 1e-12 });
    const first = backoff(1, undefined);
    const second = backoff(2, first);
    expect(Math.round(first)).toBe(300);
    expect(Math.round(second)).toBe(900);
    expect(Math.round(backoff(9, 9_000))).toBe(10_000);
  });
});

describe('linear', () => {
  it('linear adds a step per retry up to the cap', () => {
    const backoff = linear({ baseMs: 200, stepMs: 300, capMs: 1_000 });
    expect([1, 2, 3, 4, 10].map((n) => backoff(n, undefined))).toEqual([200, 500, 800, 1000, 1000]);
    expect(linear({ baseMs: 250 })(3, undefined)).toBe(750);
  });

  it('linear stays within [base, cap] and never decreases', () => {
    fc.assert(
      fc.property(
        fc.nat(5_000),
        fc.nat(5_000),
        fc.nat(50_000),
        retryNumber,
        (baseMs, stepMs, extra, retry) => {
          const capMs = baseMs + extra;
          const backoff = linear({ baseMs, stepMs, capMs });
          const delay = backoff(retry, undefined);
          expect(delay).toBeGreaterThanOrEqual(baseMs);
          expect(delay).toBeLessThanOrEqual(capMs);
          expect(backoff(retry + 1, undefined)).toBeGreaterThanOrEqual(delay);
        },
      ),
    );
  });
});

describe('backoff options', () => {
  it.each([
    ['a zero base', () => exponentialFullJitter({ baseMs: 0 }), 'exponentialFullJitter.baseMs'],
    ['a NaN cap', () => equalJitter({ capMs: Number.NaN }), 'equalJitter.capMs'],
    [
      'a factor below 1',
      () => exponentialFullJitter({ factor: 0.5 }),
      'exponentialFullJitter.factor',
    ],
    [
      'a cap below the base',
      () => decorrelatedJitter({ baseMs: 1000, capMs: 10 }),
      'decorrelatedJitter.capMs',
    ],
    ['an infinite step', () => linear({ stepMs: Number.POSITIVE_INFINITY }), 'linear.stepMs'],
    ['an unknown option', () => linear({ base: 3 } as never), 'linear.base'],
    [
      'a random that is not a function',
      () => equalJitter({ random: 0.5 as never }),
      'equalJitter.random',
    ],
  ])('rejects %s with a ConfigurationError naming the option', (_name, build, option) => {
    let thrown: unknown;
    try {
      build();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect(isTollgateError(thrown, 'TOLLGATE_CONFIGURATION')).toBe(true);
    expect((thrown as ConfigurationError).option).toBe(option);
  });
});
