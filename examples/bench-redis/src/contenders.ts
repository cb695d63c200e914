import { Limiter } from '@tollgate/core';
import { RedisStore } from '@tollgate/redis';
import type { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';

/** Tokens booked per admission, the same for every contender. */
export const TOKENS = 1000;

/** One contender's fresh instance: a turn runs its loop in `chains` chains until `deadline`. */
export interface Instance {
  /** Runs `chains` chains of ops at once until `deadline` (performance.now()); returns ops done. */
  run(chains: number, deadline: number): Promise<number>;
  /** Ops refused (rejected promises). Must stay 0. */
  readonly refused: number;
  /** Times an op was made to wait for the quota. Must stay 0. */
  readonly delayed: number;
  /** What Redis recorded for this instance, in ops: must equal the ops counted. */
  recorded(): Promise<number>;
  close(): void;
}

export interface Contender {
  /** Key in the JSON line. */
  readonly name: 'tollgate' | 'tollgateLookahead1' | 'rlfDual' | 'evalshaCeiling';
  /** What one op is, for the legend. */
  readonly op: string;
  /** A fresh instance on fresh keys. */
  create(client: Redis, turn: number): Promise<Instance>;
}

/** Runs `op` in `chains` chains at once until `deadline`; returns the ops done in all. */
async function fanOut(
  chains: number,
  deadline: number,
  op: () => Promise<unknown>,
  onRefused: () => void,
): Promise<number> {
  let ops = 0;
  const chain = async () => {
    while (performance.now() < deadline) {
      try {
        await op();
      } catch {
        onRefused();
      }
      ops++;
    }
  };
  await Promise.all(Array.from({ length: chains }, chain));
  return ops;
}

/** What a contender counts: refusals (by `fanOut`) and waits (by its limiter's events, if any). */
interface Counters {
  refused: number;
  delayed: number;
}

/** An `Instance` running `op` (see `fanOut`) and counting its refusals in `counters`. */
function instance(parts: {
  readonly op: () => Promise<unknown>;
  readonly counters: Counters;
  readonly recorded: () => Promise<number>;
  readonly close: () => void;
}): Instance {
  const { op, counters, recorded, close } = parts;
  return {
    run: (chains, deadline) => fanOut(chains, deadline, op, () => counters.refused++),
    get refused() {
      return counters.refused;
    },
    get delayed() {
      return counters.delayed;
    },
    recorded,
    close,
  };
}

/** Tollgate with up to `lookahead` candidates per decision (the limiter's default: 64). */
function tollgateWith(
  name: 'tollgate' | 'tollgateLookahead1',
  lookahead: number | undefined,
): Contender {
  return {
    name,
    op:
      `Limiter{rpm,tpm,rps} on RedisStore, lookahead ${lookahead ?? 'default (64)'}: ` +
      `await acquire({ tokens: ${TOKENS} }) + permit.settle(usage)`,
    async create(client, turn) {
      // Huge limits: nothing ever waits. Default options otherwise (pacing, 10 ms margin,
      // reserved accounting, the Redis server's clock).
      const key = `${name}:${turn}`;
      const limiter = new Limiter({
        quota: { rpm: 1e9, tpm: 1e12, rps: 1e8 },
        store: new RedisStore({ client, prefix: 'bench' }),
        key,
        ...(lookahead === undefined ? {} : { packing: { lookahead } }),
      });
      const counters: Counters = { refused: 0, delayed: 0 };
      limiter.on('waiting', () => {
        counters.delayed++;
      });
      return instance({
        op: async () => {
          const permit = await limiter.acquire({ tokens: TOKENS });
          // the usage equals the reservation: nothing to write back (see the README)
          permit.settle({ promptTokens: 600, completionTokens: 400 });
        },
        counters,
        // one hash per quota: 'plan', 'st', and one field per admission in its longest window
        recorded: async () => (await client.hlen(`bench:{${key}}:q`)) - 2,
        close: () => limiter.close(),
      });
    },
  };
}

/** The limiter as it comes: a decision covers up to 64 waiting acquisitions. */
export const tollgate = tollgateWith('tollgate', undefined);
/** For comparison, not in the JSON: one acquisition per decision, one script call per op. */
export const tollgateLookahead1 = tollgateWith('tollgateLookahead1', 1);

export const rlfDual: Contender = {
  name: 'rlfDual',
  op: `two RateLimiterRedis (rpm, tpm): await rpm.consume(key, 1), then await tpm.consume(key, ${TOKENS})`,
  async create(client, turn) {
    const rpm = new RateLimiterRedis({
      storeClient: client,
      points: 1e9,
      duration: 60,
      keyPrefix: `bench:rlf-rpm:${turn}`,
    });
    const tpm = new RateLimiterRedis({
      storeClient: client,
      points: 1e12,
      duration: 60,
      keyPrefix: `bench:rlf-tpm:${turn}`,
    });
    return instance({
      op: async () => {
        await rpm.consume('key', 1);
        await tpm.consume('key', TOKENS);
      },
      counters: { refused: 0, delayed: 0 },
      recorded: async () => Number(await client.get(`bench:rlf-rpm:${turn}:key`)),
      close: () => {},
    });
  },
};

const INCRBY = "return redis.call('INCRBY', KEYS[1], ARGV[1])";

export const evalshaCeiling: Contender = {
  name: 'evalshaCeiling',
  op: `await client.evalsha(sha, 1, key, ${TOKENS}) of \`${INCRBY}\``,
  async create(client, turn) {
    const sha = (await client.script('LOAD', INCRBY)) as string;
    const key = `bench:ceiling:${turn}`;
    await client.set(key, 0, 'EX', 120);
    return instance({
      op: () => client.evalsha(sha, 1, key, TOKENS),
      counters: { refused: 0, delayed: 0 },
      recorded: async () => Number(await client.get(key)) / TOKENS,
      close: () => {},
    });
  },
};

export const contenders: ReadonlyArray<Contender> = [
  tollgate,
  rlfDual,
  evalshaCeiling,
  tollgateLookahead1,
];
