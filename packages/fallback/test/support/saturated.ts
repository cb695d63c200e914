/**
 * A simulator with two models — the preferred one with a small quota — and a chain down them,
 * each model's limiter on the simulator's clock: overflow must go down the chain before any
 * 429. Shared by this package's HTTP test and @tollgate/effect's (imported by relative path).
 */
import { Limiter } from '@tollgate/core';
import { type Simulator, startSimulator } from '@tollgate/simulator';
import { modelChain } from '../../src/index.js';

export const PREFERRED = 'qwen3-max';
export const OVERFLOW = 'qwen-plus';
/** The preferred model's requests per minute, paced: one every 2 simulated seconds. */
export const RPM = 30;
export const MODELS = {
  [PREFERRED]: { rpm: RPM, tpm: 1_000_000, rps: false, tps: false, burst: false },
  [OVERFLOW]: { rpm: 600, tpm: 1_000_000, rps: false, tps: false, burst: false },
} as const;
export const TIME_SCALE = 20;
export const NO_429 = { 'request-rate': 0, burst: 0, 'token-rate': 0, 'quota-exhausted': 0 };

/** A limiter on the simulator's clock: `rpm` and 1,000,000 TPM, with a real-time margin. */
export const simulatedLimiter = (sim: Simulator, rpm: number) =>
  new Limiter({
    quota: { rpm, tpm: 1_000_000 },
    key: `sim:${rpm}`,
    clock: sim.clock,
    // event-loop jitter between admission and arrival is real time: 100 real ms on a loaded VM
    margin: { ms: 100 * TIME_SCALE },
  });

/** The simulator (key `key`) and the chain: 10 s on the preferred model, then the overflow too. */
export async function saturatedChain() {
  const sim = await startSimulator({
    models: MODELS,
    accounts: [{ id: 'acct', keys: ['key'] }],
    timeScale: TIME_SCALE,
  });
  const chain = modelChain({
    provider: 'dashscope',
    clock: sim.clock,
    models: [
      // paced at one request per 2 s (simulated): in a 10 s budget it takes a handful, and the
      // rest spills (while still waiting for it too)
      { model: PREFERRED, limiter: simulatedLimiter(sim, RPM), spillAfterMs: 10_000 },
      { model: OVERFLOW, limiter: simulatedLimiter(sim, 600) },
    ],
  });
  return { sim, chain };
}
