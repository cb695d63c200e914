import { Limiter } from '@tollgate/core';
import Bottleneck from 'bottleneck';
import { RateLimiterMemory } from 'rate-limiter-flexible';

/** Tokens booked per permit, the same for every contender. */
export const TOKENS = 1000;
/** What each Tollgate permit settles with: the reservation, exactly. */
const USAGE_PROMPT = 600;
const USAGE_COMPLETION = 400;

/**
 * One limiter instance under test. Each loop has the library calls written out (no generic
 * `op()` callback), so the only per-op cost measured is the library's plus one `await` per
 * promise the library hands back.
 */
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

export const tollgate: Contender = {
  name: 'tollgate',
  op: `Limiter{rpm,tpm,rps}: await acquire({ tokens: ${TOKENS} }) + permit.settle(usage)`,
  create() {
    // Huge limits: nothing ever waits. Default options otherwise (pacing, packing, margin).
    const limiter = new Limiter({ quota: { rpm: 1e9, tpm: 1e12, rps: 1e8 } });
    const state = { refused: 0, delayed: 0 };
    limiter.on('waiting', () => {
      state.delayed++;
    });
    const loop = async (deadline: number, maxOps: number, checkEvery: number): Promise<number> => {
      let ops = 0;
      while (ops < maxOps) {
        for (let i = 0; i < checkEvery; i++) {
          try {
            const permit = await limiter.acquire({ tokens: TOKENS });
            permit.settle({ promptTokens: USAGE_PROMPT, completionTokens: USAGE_COMPLETION });
          } catch {
            state.refused++;
          }
        }
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
        return state.refused;
      },
      get delayed() {
        return state.delayed;
      },
      async close() {
        limiter.close();
      },
    };
  },
};

export const rlfDual: Contender = {
  name: 'rlfDual',
  op: `2 x RateLimiterMemory (60 s): await rpm.consume(key, 1) + await tpm.consume(key, ${TOKENS})`,
  create() {
    const rpm = new RateLimiterMemory({ points: 1e9, duration: 60 });
    const tpm = new RateLimiterMemory({ points: 1e12, duration: 60 });
    const key = 'default';
    const state = { refused: 0 };
    const loop = async (deadline: number, maxOps: number, checkEvery: number): Promise<number> => {
      let ops = 0;
      while (ops < maxOps) {
        for (let i = 0; i < checkEvery; i++) {
          try {
            await rpm.consume(key, 1);
            await tpm.consume(key, TOKENS);
          } catch {
            state.refused++;
          }
        }
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
        return state.refused;
      },
      delayed: 0,
      async close() {
        // Nothing to stop: its one record's expiry timer is unref'd.
      },
    };
  },
};

const resolved = (): Promise<void> => Promise.resolve();

export const bottleneck: Contender = {
  name: 'bottleneck',
  op: 'Bottleneck{reservoir: 1e12}: await schedule(() => Promise.resolve())',
  create() {
    const limiter = new Bottleneck({ reservoir: 1e12 });
    const state = { refused: 0, delayed: 0 };
    limiter.on('depleted', () => {
      state.delayed++;
    });
    const loop = async (deadline: number, maxOps: number, checkEvery: number): Promise<number> => {
      let ops = 0;
      while (ops < maxOps) {
        for (let i = 0; i < checkEvery; i++) {
          try {
            await limiter.schedule(resolved);
          } catch {
            state.refused++;
          }
        }
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
        return state.refused;
      },
      get delayed() {
        return state.delayed;
      },
      async close() {
        await limiter.disconnect();
      },
    };
  },
};

export const contenders: ReadonlyArray<Contender> = [tollgate, rlfDual, bottleneck];
