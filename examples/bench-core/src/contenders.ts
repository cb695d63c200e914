import { Limiter } from '@tollgate/core';
import Bottleneck from 'bottleneck';
import { RateLimiterMemory } from 'rate-limiter-flexible';

/** Tokens booked per permit, the same for every contender. */
export const TOKENS = 1000;
/** What each Tollgate permit settles with: the reservation, exactly. */
const USAGE_PROMPT = 600;
const USAGE_COMPLETION = 400;

/** One limiter instance under test. */
export interface Instance {
  /**
   * Runs acquire + settle one after another until `deadline` (performance.now()) or `maxOps`;
   * returns ops done. The clock is read every `checkEvery` ops, to keep it off the per-op cost.
   */
  sequential(deadline: number, maxOps: number, checkEvery: number): Promise<number>;
  /** Runs `chains` chains of acquire + settle at once until `deadline` or `maxOps` in all. */
  concurrent(chains: number, deadline: number, maxOps: number, checkEvery: number): Promise<number>;
  /** Ops the limiter refused (rejected promises). Must stay 0. */
  readonly refused: number;
  /** Times the limiter made an op wait (a timer instead of admission at once). Must stay 0. */
  readonly delayed: number;
  close(): Promise<void>;
}

export interface Contender {
  /** Key in the JSON line. */
  readonly name: 'tollgate' | 'rlfDual' | 'bottleneck';
  /** What one op is, for the table's legend. */
  readonly op: string;
  /** A fresh instance: every round starts from an empty limiter. */
  create(): Instance;
}

/** What a contender counts; `refused` by its batch, `delayed` by its limiter's events. */
interface Counters {
  refused: number;
  delayed: number;
}

/**
 * Runs `n` ops one after another, counting refusals in the contender's `Counters`. Each
 * contender writes its batch out with the library calls inline (no generic per-op `op()`
 * callback), so the only per-op cost measured is the library's plus one `await` per promise
 * it hands back; the shared loop below calls a batch once per clock read.
 */
type Batch = (n: number) => Promise<void>;

/** Runs `chain` `chains` times at once, each with its share of `maxOps`; returns the ops done in all. */
async function fanOut(
  chains: number,
  maxOps: number,
  chain: (maxOps: number) => Promise<number>,
): Promise<number> {
  const share = Math.ceil(maxOps / chains);
  const counts = await Promise.all(Array.from({ length: chains }, () => chain(share)));
  let total = 0;
  for (const count of counts) total += count;
  return total;
}

/** An `Instance` running `batch` in batches of `checkEvery` ops, reading the clock between. */
function instance(batch: Batch, counters: Counters, close: () => Promise<void>): Instance {
  const loop = async (deadline: number, maxOps: number, checkEvery: number): Promise<number> => {
    let ops = 0;
    while (ops < maxOps) {
      await batch(checkEvery);
      ops += checkEvery;
      if (performance.now() >= deadline) break;
    }
    return ops;
  };
  return {
    sequential: loop,
    concurrent: (chains, deadline, maxOps, checkEvery) =>
      fanOut(chains, maxOps, (share) => loop(deadline, share, checkEvery)),
    get refused() {
      return counters.refused;
    },
    get delayed() {
      return counters.delayed;
    },
    close,
  };
}

export const tollgate: Contender = {
  name: 'tollgate',
  op: `Limiter{rpm,tpm,rps}: await acquire({ tokens: ${TOKENS} }) + permit.settle(usage)`,
  create() {
    // Huge limits: nothing ever waits. Default options otherwise (pacing, packing, margin).
    const limiter = new Limiter({ quota: { rpm: 1e9, tpm: 1e12, rps: 1e8 } });
    const counters: Counters = { refused: 0, delayed: 0 };
    limiter.on('waiting', () => {
      counters.delayed++;
    });
    const batch: Batch = async (n) => {
      for (let i = 0; i < n; i++) {
        try {
          const permit = await limiter.acquire({ tokens: TOKENS });
          permit.settle({ promptTokens: USAGE_PROMPT, completionTokens: USAGE_COMPLETION });
        } catch {
          counters.refused++;
        }
      }
    };
    return instance(batch, counters, async () => limiter.close());
  },
};

export const rlfDual: Contender = {
  name: 'rlfDual',
  op: `2 x RateLimiterMemory (60 s): await rpm.consume(key, 1) + await tpm.consume(key, ${TOKENS})`,
  create() {
    const rpm = new RateLimiterMemory({ points: 1e9, duration: 60 });
    const tpm = new RateLimiterMemory({ points: 1e12, duration: 60 });
    const key = 'default';
    // It never delays: a full window rejects instead.
    const counters: Counters = { refused: 0, delayed: 0 };
    const batch: Batch = async (n) => {
      for (let i = 0; i < n; i++) {
        try {
          await rpm.consume(key, 1);
          await tpm.consume(key, TOKENS);
        } catch {
          counters.refused++;
        }
      }
    };
    // Nothing to stop on close: its one record's expiry timer is unref'd.
    return instance(batch, counters, async () => {});
  },
};

const resolved = (): Promise<void> => Promise.resolve();

export const bottleneck: Contender = {
  name: 'bottleneck',
  op: 'Bottleneck{reservoir: 1e12}: await schedule(() => Promise.resolve())',
  create() {
    const limiter = new Bottleneck({ reservoir: 1e12 });
    const counters: Counters = { refused: 0, delayed: 0 };
    limiter.on('depleted', () => {
      counters.delayed++;
    });
    const batch: Batch = async (n) => {
      for (let i = 0; i < n; i++) {
        try {
          await limiter.schedule(resolved);
        } catch {
          counters.refused++;
        }
      }
    };
    return instance(batch, counters, () => limiter.disconnect());
  },
};

export const contenders: ReadonlyArray<Contender> = [tollgate, rlfDual, bottleneck];
