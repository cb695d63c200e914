import { Cluster, Redis } from 'ioredis';
import { inject } from 'vitest';

export const redisUrl = inject('redisUrl');
export const clusterPorts = inject('redisClusterPorts');
export const redisBinaries = inject('redisBinaries');

let prefixCounter = 0;
/** A key prefix no other test (or run) uses: each case starts from empty Redis state. */
export const uniquePrefix = (): string =>
  `tg-test:${process.pid}:${Date.now().toString(36)}:${prefixCounter++}`;

/** A client of the standalone server; errors while it is down are expected, not printed. */
export function connectStandalone(url: string | null = redisUrl): Redis {
  if (url === null) throw new Error('no standalone Redis');
  const client = new Redis(url);
  client.on('error', () => {});
  return client;
}

export function connectCluster(): Cluster {
  if (clusterPorts === null) throw new Error('no Redis cluster');
  const client = new Cluster(clusterPorts.map((port) => ({ host: '127.0.0.1', port })));
  client.on('error', () => {});
  return client;
}

/** The one Redis key a quota lives under (the layout the README documents). */
export const quotaKey = (prefix: string, key: string): string => `${prefix}:{${key}}:q`;
