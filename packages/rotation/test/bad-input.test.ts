/**
 * The README's "Bad input" table, walked row by row: each row is run here and must give what
 * it says — how the caller gets it, the error's class, its `code` and its message. A row
 * without a run, or a run without a row, fails too.
 */
import { readFileSync } from 'node:fs';
import { isTollgateError, run } from '@tollgate/core';
import { describe, expect, it } from 'vitest';
import { type AccountPoolOptions, accountPool, rotate } from '../src/index.js';
import { accounts, fakePool, MODEL, QUOTA, request, rotated } from './helpers.js';

type Outcome = { readonly kind: 'throws' | 'rejects'; readonly error: unknown };

function thrown(action: () => unknown): Outcome {
  try {
    action();
  } catch (error) {
    return { kind: 'throws', error };
  }
  throw new Error('did not throw');
}
async function rejected(action: () => Promise<unknown>): Promise<Outcome> {
  const error = await action().then(
    () => {
      throw new Error('did not reject');
    },
    (e: unknown) => e,
  );
  return { kind: 'rejects', error };
}
const pool = (options: object) => thrown(() => accountPool(options as AccountPoolOptions));
const valid = () => fakePool({ accounts: accounts(['a']) }).pool;

const runs: Record<string, () => Outcome | Promise<Outcome>> = {
  'accountPool(options) | an unknown option': () =>
    pool({ accounts: accounts(['a']), strategies: [] }),
  'accountPool(options) | `accounts` empty or not an array': () => pool({ accounts: [] }),
  'accountPool(options) | two accounts with one `id`': () =>
    pool({ accounts: accounts(['a', 'a']) }),
  "accountPool(options) | an account's quota invalid": () =>
    pool({ accounts: [{ id: 'a', quotas: { [MODEL]: { rpm: 0 } } }] }),
  'accountPool(options) | two quotas for one model in one billing group': () =>
    pool({
      accounts: [
        { id: 'a', billingGroup: 'g', quotas: { [MODEL]: QUOTA } },
        { id: 'b', billingGroup: 'g', quotas: { [MODEL]: { rpm: 1 } } },
      ],
    }),
  'accountPool(options) | `weight` ≤ 0': () => pool({ accounts: accounts(['a'], { weight: 0 }) }),
  'accountPool(options) | an unknown `strategy`': () =>
    pool({ accounts: accounts(['a']), strategy: 'random' }),
  'accountPool(options) | `probeAfterMs` < 0 or not finite': () =>
    pool({ accounts: accounts(['a']), probeAfterMs: Number.POSITIVE_INFINITY }),
  'rotate(pool, options) | `pool` not made by `accountPool()`': () =>
    thrown(() => rotate({} as never)),
  'rotate(pool, options) | `maxWaitMs` < 0': () => thrown(() => rotate(valid(), { maxWaitMs: -1 })),
  'a call through `rotate()` | a model no account has a quota for': () =>
    rejected(() =>
      run(
        rotated(valid(), async () => 'ok'),
        { ...request(), model: 'qwen-max' },
      ),
    ),
  'pool.limiterFor(context) | no account of the pool in the context': () =>
    thrown(() => valid().limiterFor({ attempt: 1, model: MODEL })),
  'pool.restore(id) | an unknown id': () => rejected(() => valid().restore('nobody')),
  'pool.on(event, listener) | an unknown event': () =>
    thrown(() => valid().on('gone' as never, () => {})),
};

const rows = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  .split('\n## Bad input')[1]!
  .split('\n')
  .filter((line) => line.startsWith('| `') || line.startsWith('| a call'))
  .map((line) => line.split('|').map((cell) => cell.trim()))
  .map(([, entry, input, how, error, code, message]) => ({
    name: `${entry!.replace(/^`(.*)`$/, '$1')} | ${input}`,
    how: how!,
    error: error!.replaceAll('`', ''),
    code: code!.replaceAll('`', ''),
    message: message!.replace(/^`|`$/g, ''),
  }));

describe('README bad-input table', () => {
  it('has a run for every row and a row for every run', () => {
    expect(rows.map((row) => row.name).sort()).toEqual(Object.keys(runs).sort());
  });
  for (const row of rows) {
    it(row.name, async () => {
      const outcome = await runs[row.name]!();
      expect(outcome.kind).toBe(row.how);
      expect(isTollgateError(outcome.error)).toBe(true);
      const error = outcome.error as Error & { code: string };
      expect(error.name).toBe(row.error);
      expect(error.code).toBe(row.code);
      expect(error.message.startsWith(row.message)).toBe(true);
    });
  }
});
