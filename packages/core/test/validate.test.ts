import { describe, expect, it } from 'vitest';
import { ConfigurationError, InvalidArgumentError, MemoryStore } from '../src/index.js';
import {
  checkBoolean,
  checkClock,
  checkFunction,
  checkName,
  checkNumber,
  checkOneOf,
  checkOptions,
  checkSignal,
  checkStore,
} from '../src/validate.js';

const message = (check: () => unknown): string => {
  try {
    check();
  } catch (error) {
    return (error as Error).message;
  }
  return 'did not throw';
};

describe('one wording for every bad value: `<path>: must be <what>, got <value>`', () => {
  it.each([
    [() => checkNumber('3', 'a.n'), 'a.n: must be a finite number, got "3"'],
    [() => checkNumber(-1, 'a.n', { min: 0 }), 'a.n: must be a finite number >= 0, got -1'],
    [() => checkNumber(0, 'a.n', { above: 0 }), 'a.n: must be a finite number > 0, got 0'],
    [
      () => checkNumber(1.5, 'a.n', { min: 1, integer: true, infinity: true }),
      'a.n: must be an integer >= 1 or Infinity, got 1.5',
    ],
    [
      () => checkNumber(2, 'a.f', { above: 0, max: 1 }),
      'a.f: must be a finite number in (0, 1], got 2',
    ],
    [
      () => checkNumber(1, 'a.r', { min: 0, below: 1 }),
      'a.r: must be a finite number in [0, 1), got 1',
    ],
    [() => checkNumber(Number.NaN, 'a.n'), 'a.n: must be a finite number, got NaN'],
    [
      () => checkNumber(Number.POSITIVE_INFINITY, 'a.n'),
      'a.n: must be a finite number, got Infinity',
    ],
    [() => checkBoolean('yes', 'a.b'), 'a.b: must be a boolean, got "yes"'],
    [() => checkFunction({}, 'a.f'), 'a.f: must be a function, got an object'],
    [() => checkOneOf('x', 'a.o', ['p', 'q']), "a.o: must be one of 'p', 'q', got \"x\""],
    [() => checkName('', 'a.k'), 'a.k: must be a non-empty string, got ""'],
    [() => checkSignal({}, 'a.s'), 'a.s: must be an AbortSignal, got an object'],
    [
      () => checkClock(null, 'a.c'),
      'a.c: must be a Clock ({ now, setTimeout, clearTimeout }), got null',
    ],
    [
      () => checkClock({ now: () => Number.NaN, setTimeout() {}, clearTimeout() {} }, 'a.c'),
      'a.c.now(): must be a finite number, got NaN',
    ],
    [
      () => checkStore({ admit() {}, snapshot() {} }, 'a.s'),
      'a.s: must be a Store (admit, rebook, release, restamp, pause, throttle, widen, snapshot), got an object without rebook, release, restamp, pause, throttle, widen',
    ],
    [
      () => checkStore(undefined, 'a.s'),
      'a.s: must be a Store (admit, rebook, release, restamp, pause, throttle, widen, snapshot), got undefined',
    ],
    [() => checkOptions([], 'a', []), 'a: must be an object, got an array'],
    [() => checkOptions({ x: 1 }, 'a', ['y', 'z']), 'a.x: unknown option (known: y, z)'],
  ])('%#', (check, expected) => {
    expect(message(check)).toBe(expected);
  });

  it('returns what it checked, and Infinity only when allowed', () => {
    expect(checkNumber(Number.POSITIVE_INFINITY, 'n', { infinity: true })).toBe(
      Number.POSITIVE_INFINITY,
    );
    expect(checkOneOf('q', 'o', ['p', 'q'] as const)).toBe('q');
    const signal = new AbortController().signal;
    expect(checkSignal(signal, 's')).toBe(signal);
    const store = new MemoryStore();
    expect(checkStore(store, 'store')).toBe(store);
  });

  it('throws a ConfigurationError by default, the error class given otherwise', () => {
    expect(() => checkBoolean(1, 'opt')).toThrow(ConfigurationError);
    try {
      checkNumber(-1, 'tokens', { min: 0 }, InvalidArgumentError);
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).argument).toBe('tokens');
    }
    expect.assertions(3);
  });
});
