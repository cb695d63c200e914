/**
 * Every bad input to @tollgate/redis, one row each: where it enters, what it is, and the typed
 * error it gets there. Construction and argument checks need no server (the client never
 * connects); the plan conflict is decided by a real Redis. The README's "Bad input" table is
 * these rows, checked cell for cell.
 */
import {
  ConfigurationError,
  InvalidArgumentError,
  type StorePlan,
  type TollgateErrorCode,
} from '@tollgate/core';
import { createFakeClock } from '@tollgate/core/testing';
import { Redis } from 'ioredis';
import { afterAll, describe } from 'vitest';
import {
  type BadInputRow,
  type ErrorClass,
  walkBadInputs,
} from '../../core/test/support/bad-inputs.js';
import { RedisStore, type RedisStoreOptions } from '../src/index.js';
import { connectStandalone, redisUrl, uniquePrefix } from './helpers.js';

const CODES = new Map<ErrorClass, TollgateErrorCode>([
  [ConfigurationError, 'TOLLGATE_CONFIGURATION'],
  [InvalidArgumentError, 'TOLLGATE_INVALID_ARGUMENT'],
]);

/** Never connects: the constructor only defines scripts, and every row's check comes first. */
const offline = new Redis({ lazyConnect: true });
let online: Redis | undefined;
afterAll(async () => {
  offline.disconnect();
  await online?.quit();
});

const store = (options: Partial<RedisStoreOptions> = {}) =>
  new RedisStore({ client: offline, ...options } as RedisStoreOptions);
const window = (limit: number) => ({
  name: 'requests/1s',
  unit: 'requests' as const,
  limit,
  windowMs: 1000,
  paced: false,
});
const PLAN: StorePlan = { id: 'requests/1s=10', windows: [window(10)] };

const rows: ReadonlyArray<BadInputRow<RedisStore>> = [
  {
    entry: '`new RedisStore(options)`',
    input: 'options not an object',
    via: 'throws',
    error: ConfigurationError,
    message: 'RedisStore: must be an object, got undefined',
    act: () => new RedisStore(undefined as never),
  },
  {
    entry: '`new RedisStore(options)`',
    input: 'an unknown option',
    via: 'throws',
    error: ConfigurationError,
    message: 'RedisStore.ttl: unknown option',
    act: () => store({ ttl: 60 } as never),
  },
  {
    entry: '`new RedisStore(options)`',
    input: '`client` missing, or not an ioredis `Redis` or `Cluster` (a URL, say)',
    via: 'throws',
    error: ConfigurationError,
    message:
      'RedisStore.client: must be an ioredis Redis or Cluster client, got "redis://localhost"',
    act: () => store({ client: 'redis://localhost' as never }),
  },
  {
    entry: '`new RedisStore(options)`',
    input: '`prefix` not a non-empty string',
    via: 'throws',
    error: ConfigurationError,
    message: 'RedisStore.prefix: must be a non-empty string, got ""',
    act: () => store({ prefix: '' }),
  },
  {
    entry: '`new RedisStore(options)`',
    input: '`clock` without `now`, `setTimeout` and `clearTimeout`',
    via: 'throws',
    error: ConfigurationError,
    message: 'RedisStore.clock: must be a Clock',
    act: () => store({ clock: { now: () => 0 } as never }),
  },
  {
    entry: '`new RedisStore(options)`',
    input: '`clock.now()` not a finite number',
    via: 'throws',
    error: ConfigurationError,
    message: 'RedisStore.clock.now(): must be a finite number, got NaN',
    act: () => store({ clock: { ...createFakeClock(), now: () => Number.NaN } }),
  },
  {
    entry: '`new RedisStore(options)`',
    input: '`commandTimeoutMs` ≤ 0 or not finite',
    via: 'throws',
    error: ConfigurationError,
    message: 'RedisStore.commandTimeoutMs: must be a finite number > 0, got Infinity',
    act: () => store({ commandTimeoutMs: Number.POSITIVE_INFINITY }),
  },
  {
    entry: '`new RedisStore(options)`',
    input: "`onUnavailable` neither `'fail-closed'` nor an object",
    via: 'throws',
    error: ConfigurationError,
    message:
      "RedisStore.onUnavailable: must be 'fail-closed' or { fallback: 'memory', share }, got \"fail-open\"",
    act: () => store({ onUnavailable: 'fail-open' as never }),
  },
  {
    entry: '`new RedisStore(options)`',
    input: "`onUnavailable` with an unknown key, or a `fallback` other than `'memory'`",
    via: 'throws',
    error: ConfigurationError,
    message: 'RedisStore.onUnavailable.fallback: must be one of \'memory\', got "disk"',
    act: () => store({ onUnavailable: { fallback: 'disk' as never, share: 0.5 } }),
  },
  {
    entry: '`new RedisStore(options)`',
    input: '`onUnavailable.share` outside (0, 1]',
    via: 'throws',
    error: ConfigurationError,
    message: 'RedisStore.onUnavailable.share: must be a finite number in (0, 1], got 0',
    act: () => store({ onUnavailable: { fallback: 'memory', share: 0 } }),
  },
  // the store's own calls, for code that drives a Store directly (the limiter never sends these)
  {
    entry: 'every `store` call',
    input: '`key` not a non-empty string',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'key: must be a non-empty string, got ""',
    act: () => store().snapshot('', PLAN),
  },
  {
    entry: 'every `store` call',
    input: '`plan` not a StorePlan (no `id`, no windows)',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'plan: must be a StorePlan ({ id, windows: [...] }), got an object',
    act: () => store().admit('k', { id: 'empty', windows: [] }, [1]),
  },
  {
    entry: 'every `store` call',
    input: 'a plan window of an unknown unit, a limit or length ≤ 0, `paced` not a boolean',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'plan.windows[0].limit: must be a finite number > 0, got 0',
    act: () => store().admit('k', { id: 'zero', windows: [window(0)] }, [1]),
  },
  {
    entry: '`store.admit(key, plan, costs, options)`',
    input: '`costs` not an array',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'costs: must be an array of token counts, got 5',
    act: () => store().admit('k', PLAN, 5 as never),
  },
  {
    entry: '`store.admit(key, plan, costs, options)`',
    input: 'a cost not a finite number ≥ 0',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'costs[1]: must be a finite number >= 0, got -1',
    act: () => store().admit('k', PLAN, [1, -1]),
  },
  {
    entry: '`store.admit(key, plan, costs, options)`',
    input: '`headLatestStart` NaN',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'options.headLatestStart: must be a finite number or Infinity, got NaN',
    act: () => store().admit('k', PLAN, [1], { headLatestStart: Number.NaN }),
  },
  {
    entry: '`store.pause(key, plan, durationMs)`',
    input: '`durationMs` < 0 or not finite',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'durationMs: must be a finite number >= 0, got -1',
    act: () => store().pause('k', PLAN, -1),
  },
  {
    entry: '`store.throttle(key, plan, factor, durationMs)`',
    input: '`factor` outside (0, 1], `durationMs` < 0',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'factor: must be a finite number in (0, 1], got 0',
    act: () => store().throttle('k', PLAN, 0, 1000),
  },
  {
    entry: '`store.widen(key, plan, widening)`',
    input: 'a step or decay ≤ 0, `maxMs` outside (0, `decayMs`]',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'widening.maxMs: must be a finite number in (0, 1000], got 2000',
    act: () => store().widen('k', PLAN, { stepMs: 20, maxMs: 2000, decayMs: 1000 }),
  },
  {
    entry: '`store.rebook`, `release`, `restamp`',
    input: 'a ticket this store did not issue',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'ticket: must be a ticket of this store, got "abc"',
    act: () => store().release('k', PLAN, 'abc'),
  },
  {
    entry: '`store.rebook`, `restamp`',
    input: '`tokens` not a finite number ≥ 0',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'tokens: must be a finite number >= 0, got NaN',
    act: () => store().rebook('k', PLAN, 1, Number.NaN),
  },
  {
    entry: '`store.admit`, on Redis',
    input: 'a key that already holds another quota (two limiters, one key)',
    via: 'rejects',
    error: ConfigurationError,
    message: "key 'shared': already holds a different quota (requests/1s=10)",
    skipIf: redisUrl === null,
    prepare: async () => {
      online ??= connectStandalone();
      const shared = new RedisStore({ client: online, prefix: uniquePrefix() });
      await shared.admit('shared', PLAN, [1]);
      return shared;
    },
    act: (shared) => shared.admit('shared', { id: 'requests/1s=5', windows: [window(5)] }, [1]),
  },
];

describe('every bad input gets a typed error at its point of entry', () => {
  walkBadInputs(rows, { readme: new URL('../README.md', import.meta.url), codes: CODES });
});
