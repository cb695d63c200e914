import { isTollgateError } from '@tollgate/core';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisStore, type RedisStoreOptions } from '../src/index.js';

// never connects: the constructor only defines scripts on the client
const client = new Redis({ lazyConnect: true });

afterAll(() => {
  client.disconnect();
});

const configurationErrorOf = (options: unknown): { code?: string; option?: string } => {
  try {
    new RedisStore(options as RedisStoreOptions);
  } catch (error) {
    if (isTollgateError(error, 'TOLLGATE_CONFIGURATION')) return error;
    throw error;
  }
  return {};
};

describe('RedisStore options', () => {
  it.each([
    ['no options', undefined, 'RedisStore'],
    ['a client that is not ioredis', { client: {} }, 'RedisStore.client'],
    ['an unknown option', { client, ttl: 5 }, 'RedisStore.ttl'],
    ['an empty prefix', { client, prefix: '' }, 'RedisStore.prefix'],
    ['a clock without now()', { client, clock: {} }, 'RedisStore.clock'],
    ['a zero timeout', { client, commandTimeoutMs: 0 }, 'RedisStore.commandTimeoutMs'],
    ['an infinite timeout', { client, commandTimeoutMs: Infinity }, 'RedisStore.commandTimeoutMs'],
    ['an unknown policy', { client, onUnavailable: 'fail-open' }, 'RedisStore.onUnavailable'],
    [
      'a fallback other than memory',
      { client, onUnavailable: { fallback: 'disk', share: 0.5 } },
      'RedisStore.onUnavailable.fallback',
    ],
    [
      'a share of 0',
      { client, onUnavailable: { fallback: 'memory', share: 0 } },
      'RedisStore.onUnavailable.share',
    ],
    [
      'a share above 1',
      { client, onUnavailable: { fallback: 'memory', share: 1.5 } },
      'RedisStore.onUnavailable.share',
    ],
    [
      'an unknown policy field',
      { client, onUnavailable: { fallback: 'memory', share: 0.5, ttl: 1 } },
      'RedisStore.onUnavailable.ttl',
    ],
  ])('rejects %s with a ConfigurationError naming the option', (_, options, option) => {
    expect(configurationErrorOf(options)).toMatchObject({ code: 'TOLLGATE_CONFIGURATION', option });
  });

  it('accepts the documented forms and starts in redis mode', () => {
    expect(new RedisStore({ client }).mode).toBe('redis');
    const store = new RedisStore({
      client,
      prefix: 'app',
      commandTimeoutMs: 250,
      onUnavailable: { fallback: 'memory', share: 1 / 4 },
    });
    expect(store.mode).toBe('redis');
  });

  it('defines its scripts once per client, however many stores share it', () => {
    const scripts = () => Object.keys(client).filter((name) => name.startsWith('tollgate_'));
    new RedisStore({ client });
    const defined = scripts().length;
    expect(defined).toBeGreaterThanOrEqual(6);
    new RedisStore({ client, prefix: 'other' });
    expect(scripts().length).toBe(defined);
  });
});
