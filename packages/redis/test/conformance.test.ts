import { storeConformanceCases } from '@tollgate/core/testing';
import type { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { RedisStore } from '../src/index.js';
import {
  clusterPorts,
  connectCluster,
  connectStandalone,
  redisUrl,
  uniquePrefix,
} from './helpers.js';

const suites: Array<[string, boolean, () => Redis | Cluster]> = [
  ['standalone', redisUrl !== null, () => connectStandalone()],
  ['3-node cluster', clusterPorts !== null, () => connectCluster()],
];

for (const [topology, available, connect] of suites) {
  describe.skipIf(!available)(`store conformance on Redis (${topology})`, () => {
    let client: Redis | Cluster;
    beforeAll(() => {
      client = connect();
    });
    afterAll(async () => {
      await client.quit();
    });

    for (const check of storeConformanceCases({
      createStore: (clock) => new RedisStore({ client, clock, prefix: uniquePrefix() }),
    })) {
      it(check.name, check.run);
    }
  });
}
