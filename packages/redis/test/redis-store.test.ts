import {
  type AdmitDecision,
  isTollgateError,
  Limiter,
  type StorePlan,
  type StoreWindow,
} from '@tollgate/core';
import { createFakeClock } from '@tollgate/core/testing';
import type { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../src/index.js';
import {
  clusterPorts,
  connectCluster,
  connectStandalone,
  quotaKey,
  redisUrl,
  uniquePrefix,
} from './helpers.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const window = (unit: StoreWindow['unit'], limit: number, windowMs: number, paced = false) => ({
  name: `${unit}/${windowMs}ms`,
  unit,
  limit,
  windowMs,
  paced,
});
const plan = (...windows: StoreWindow[]): StorePlan => ({
  id: windows.map((w) => `${w.name}:${w.limit}/${w.windowMs}${w.paced ? 'p' : ''}`).join(','),
  windows,
});
const admitted = (decision: AdmitDecision) =>
  Array.from(decision.tickets).filter((ticket) => ticket !== undefined).length;

/** Fields of the quota hash besides the entries: `plan` and `st` (the packed state). */
const STATE_FIELDS = 2;

describe.skipIf(redisUrl === null)('RedisStore on a standalone server', () => {
  let client: Redis;
  beforeAll(() => {
    client = connectStandalone();
  });
  afterAll(async () => {
    await client.quit();
  });

  it("moves a limiter's booking to its departure, and settles where it moved", async () => {
    const clock = createFakeClock(5_000_000);
    const store = new RedisStore({ client, clock, prefix: uniquePrefix() });
    const limiter = new Limiter({
      quota: { rps: 1, tpm: 10_000, accounting: 'actual' },
      store,
      clock,
      pacing: false,
      margin: { ms: 0 },
    });
    const departed = new Promise<number>((resolve) =>
      limiter.on('departed', ({ lagMs }) => resolve(lagMs)),
    );
    const permit = await limiter.acquire({ tokens: 500 });
    await clock.advance(600);
    permit.departed();
    permit.settle({ totalTokens: 100 }); // sent after the move, on the moved ticket
    expect(await departed).toBe(600);
    await clock.flush(); // the settlement's write is on the connection before the reads below
    const used = async () => (await limiter.snapshot()).windows.map((w) => w.used);
    expect(await used()).toEqual([1, 100]);
    await clock.advance(400); // a second after admission: still counted, from its departure
    expect((await used())[0]).toBe(1);
    await clock.advance(600);
    expect((await used())[0]).toBe(0);
    limiter.close();
  });

  it('decides on the server clock and returns numeric tickets', async () => {
    const store = new RedisStore({ client, prefix: uniquePrefix() });
    const p = plan(window('requests', 2, 60_000));
    const [seconds] = await client.time();
    const decision = await store.admit('k', p, [0, 0, 0]);
    expect(admitted(decision)).toBe(2);
    expect(typeof decision.tickets[0]).toBe('number');
    expect(decision.tickets[1]).toBe((decision.tickets[0] as number) + 1);
    expect(Math.floor(decision.now / 1000) - Number(seconds)).toBeLessThanOrEqual(1);
    expect(decision.blockedBy).toBe('requests/60000ms');
    expect(decision.retryAt! - decision.now).toBeGreaterThan(59_000);
  });

  it('keeps the whole quota in one hash under <prefix>:{<key>}:q, with a TTL', async () => {
    const prefix = uniquePrefix();
    const store = new RedisStore({ client, prefix });
    const p = plan(window('requests', 10, 200), window('tokens', 1000, 150));
    await store.admit('a:b', p, [10, 20, 30]);
    const keys = await client.keys(`${prefix}:*`);
    expect(keys).toEqual([quotaKey(prefix, 'a:b')]);
    const ttl = await client.pttl(quotaKey(prefix, 'a:b'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(200 + 1000);
    expect(await client.hlen(quotaKey(prefix, 'a:b'))).toBe(STATE_FIELDS + 3);
  });

  it('lets every key expire once the longest window has passed, and never reuses a ticket', async () => {
    const prefix = uniquePrefix();
    const store = new RedisStore({ client, prefix });
    const p = plan(window('requests', 5, 200));
    const before = await store.admit('k', p, [0]);
    await sleep(1400); // the 200 ms window plus the 1 s margin
    expect(await client.keys(`${prefix}:*`)).toEqual([]);
    const after = await store.admit('k', p, [0]);
    expect(after.tickets[0]).toBeGreaterThan(before.tickets[0] as number);
    await store.release('k', p, before.tickets[0]!);
    expect((await store.snapshot('k', p)).windows[0]!.used).toBe(1);
  });

  it('keeps the key at least until a pause ends', async () => {
    const prefix = uniquePrefix();
    const store = new RedisStore({ client, prefix });
    const p = plan(window('requests', 5, 200));
    await store.pause('k', p, 5000);
    expect(await client.pttl(quotaKey(prefix, 'k'))).toBeGreaterThan(4000);
    await store.throttle('k2', p, 0.5, 8000);
    expect(await client.pttl(quotaKey(prefix, 'k2'))).toBeGreaterThan(7000);
  });

  it('keeps the log bounded by what the longest window holds', async () => {
    const clock = createFakeClock(5_000_000);
    const prefix = uniquePrefix();
    const store = new RedisStore({ client, clock, prefix });
    const p = plan(window('requests', 20, 1000), window('tokens', 5000, 500));
    let total = 0;
    let largest = 0;
    for (let round = 0; round < 120; round++) {
      total += admitted(await store.admit('k', p, [10, 20, 30, 40, 50])); // more than fits
      const entries = (await client.hlen(quotaKey(prefix, 'k'))) - STATE_FIELDS;
      largest = Math.max(largest, entries);
      await clock.advance(100);
    }
    expect(total).toBeGreaterThan(200);
    expect(largest).toBeLessThanOrEqual(20);
    // the packed state starts with the sequence numbers of the oldest entry kept and the next one
    const state = await client.hgetBuffer(quotaKey(prefix, 'k'), 'st');
    expect(state!.readDoubleLE(8) - state!.readDoubleLE(0)).toBeLessThanOrEqual(20);
  });

  it('recovers from SCRIPT FLUSH (NOSCRIPT) transparently', async () => {
    const store = new RedisStore({ client, prefix: uniquePrefix() });
    const p = plan(window('requests', 3, 60_000));
    expect(admitted(await store.admit('k', p, [0]))).toBe(1);
    await client.script('FLUSH');
    expect(admitted(await store.admit('k', p, [0]))).toBe(1);
    await client.script('FLUSH');
    await store.pause('k', p, 1);
    await client.script('FLUSH');
    await new Promise((resolve) => setTimeout(resolve, 5)); // the 1 ms pause is over
    expect(admitted(await store.admit('k', p, [0, 0]))).toBe(1);
    expect((await store.snapshot('k', p)).windows[0]!.used).toBe(3);
  });

  it('refuses a second plan on the same key with a ConfigurationError', async () => {
    const store = new RedisStore({ client, prefix: uniquePrefix() });
    const first = plan(window('requests', 3, 1000));
    await store.admit('k', first, [0]);
    const error = await store.admit('k', plan(window('requests', 4, 1000)), [0]).catch((e) => e);
    expect(isTollgateError(error, 'TOLLGATE_CONFIGURATION')).toBe(true);
    expect(String(error.message)).toContain(first.id);
    await expect(store.snapshot('k', plan(window('tokens', 9, 1000)))).rejects.toMatchObject({
      code: 'TOLLGATE_CONFIGURATION',
    });
  });

  it('reports a Redis error that is not an outage as a StoreError, without falling back', async () => {
    const prefix = uniquePrefix();
    const store = new RedisStore({
      client,
      prefix,
      onUnavailable: { fallback: 'memory', share: 0.5 },
    });
    await client.set(quotaKey(prefix, 'k'), 'not a hash', 'PX', 10_000);
    const error = await store.admit('k', plan(window('requests', 3, 1000)), [0]).catch((e) => e);
    expect(isTollgateError(error, 'TOLLGATE_STORE')).toBe(true);
    expect(String(error.cause)).toContain('WRONGTYPE');
    expect(store.mode).toBe('redis');
  });

  it('shares a pause between processes: one 429 holds the quota for everyone', async () => {
    const other = connectStandalone();
    try {
      const prefix = uniquePrefix();
      const quota = { rpm: 100 };
      const a = new Limiter({ quota, store: new RedisStore({ client, prefix }), key: 'q' });
      const b = new Limiter({ quota, store: new RedisStore({ client: other, prefix }), key: 'q' });
      await a.pause(5000);
      const error = await b.acquire({ maxWaitMs: 100 }).catch((e) => e);
      expect(isTollgateError(error, 'TOLLGATE_WAIT_TIMEOUT')).toBe(true);
      expect(error.expectedWaitMs).toBeGreaterThan(4000);
      expect((await b.snapshot()).pausedForMs).toBeGreaterThan(4000);
    } finally {
      await other.quit();
    }
  });

  it('settles with actual usage across processes: a refund in one frees room in the other', async () => {
    const other = connectStandalone();
    try {
      const prefix = uniquePrefix();
      const quota = { tpm: 1000, accounting: 'actual' as const };
      const shared = { quota, key: 'q', pacing: false };
      const a = new Limiter({ ...shared, store: new RedisStore({ client, prefix }) });
      const b = new Limiter({ ...shared, store: new RedisStore({ client: other, prefix }) });
      const permit = await a.acquire({ tokens: 900 });
      await expect(b.acquire({ tokens: 500, maxWaitMs: 50 })).rejects.toMatchObject({
        code: 'TOLLGATE_WAIT_TIMEOUT',
      });
      permit.settle({ totalTokens: 300 });
      await sleep(50); // settlement is off the caller's path
      const next = await b.acquire({ tokens: 500, maxWaitMs: 50 });
      expect(next.tokens).toBe(500);
      expect((await a.snapshot()).windows[0]!.used).toBe(800);
      const cancelled = await b.acquire({ tokens: 100 });
      cancelled.cancel();
      await sleep(50);
      expect((await a.snapshot()).windows[0]!.used).toBe(800);
    } finally {
      await other.quit();
    }
  });
});

describe.skipIf(clusterPorts === null)('RedisStore on a 3-node cluster', () => {
  let cluster: Cluster;
  beforeAll(() => {
    cluster = connectCluster();
  });
  afterAll(async () => {
    await cluster.quit();
  });

  it('serves quotas whose keys live on every node, braces in keys included', async () => {
    const prefix = uniquePrefix();
    const store = new RedisStore({ client: cluster, prefix });
    const p = plan(window('requests', 2, 60_000), window('tokens', 100, 60_000));
    const keys = Array.from({ length: 24 }, (_, i) => (i % 3 === 0 ? `a{${i}}b` : `key-${i}`));
    for (const key of keys) {
      expect(admitted(await store.admit(key, p, [40, 40, 40])), key).toBe(2);
    }
    const perNode = await Promise.all(
      cluster.nodes('master').map(async (node) => (await node.keys(`${prefix}:*`)).length),
    );
    expect(perNode).toHaveLength(3);
    expect(perNode.every((count) => count > 0)).toBe(true);
    expect(perNode.reduce((a, b) => a + b)).toBe(keys.length);
  });

  it('recovers when every master forgets its scripts (NOSCRIPT on any node)', async () => {
    const store = new RedisStore({ client: cluster, prefix: uniquePrefix() });
    const p = plan(window('requests', 5, 60_000));
    for (const key of ['x', 'y', 'z']) expect(admitted(await store.admit(key, p, [0]))).toBe(1);
    await Promise.all(cluster.nodes('master').map((node) => node.script('FLUSH')));
    for (const key of ['x', 'y', 'z']) expect(admitted(await store.admit(key, p, [0]))).toBe(1);
    expect((await store.snapshot('y', p)).windows[0]!.used).toBe(2);
  });
});
