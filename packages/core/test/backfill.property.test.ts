import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryStore, type StorePlan } from '../src/index.js';
import { createFakeClock } from '../src/testing.js';

const plan = (paced: boolean): StorePlan => ({
  id: `tokens:1000/1000${paced ? 'p' : ''},requests:5/1000`,
  windows: [
    { name: 'tokens/1s', unit: 'tokens', limit: 1000, windowMs: 1000, paced },
    { name: 'requests/1s', unit: 'requests', limit: 5, windowMs: 1000, paced: false },
  ],
});

/** Earlier admissions (gap before each, cost), then one decision over `candidates`. */
const scenarioArb = fc.record({
  paced: fc.boolean(),
  history: fc.array(
    fc.record({ gapMs: fc.integer({ min: 0, max: 400 }), cost: fc.integer({ min: 0, max: 700 }) }),
    { maxLength: 12 },
  ),
  candidates: fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 10 }),
  allowedDelayMs: fc.option(fc.integer({ min: 0, max: 2000 }), { nil: undefined }),
});

/** Two stores with the same history on clocks at the same instant. */
type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

async function twins(scenario: Scenario) {
  const stores = [0, 1].map(() => {
    const clock = createFakeClock(1_000_000);
    return { clock, store: new MemoryStore({ clock }) };
  });
  const p = plan(scenario.paced);
  for (const { gapMs, cost } of scenario.history) {
    for (const { clock, store } of stores) {
      await clock.advance(gapMs);
      store.admit('k', p, [cost]);
    }
  }
  return { p, with: stores[0]!, alone: stores[1]! };
}

describe('backfilling (MemoryStore)', () => {
  it('never pushes the head past its earliest start or headLatestStart, whichever is later', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        const { p, with: a, alone: b } = await twins(scenario);
        const now = a.clock.now();
        const options =
          scenario.allowedDelayMs === undefined
            ? undefined
            : { headLatestStart: now + scenario.allowedDelayMs };
        const decision = a.store.admit('k', p, scenario.candidates, options);
        const head = decision.tickets.indexOf(undefined);
        if (head === -1) return;
        // the head's earliest start: the same store state, asked about the head alone
        const prefix = scenario.candidates.slice(0, head + 1);
        const natural = b.store.admit('k', p, prefix).retryAt!;
        const latest = Math.max(natural, options?.headLatestStart ?? natural);
        expect(decision.retryAt).toBeGreaterThanOrEqual(natural);
        expect(decision.retryAt).toBeLessThanOrEqual(latest);
        // and the head does start by then: at retryAt it fits
        await a.clock.advance(decision.retryAt! - now);
        expect(a.store.admit('k', p, [scenario.candidates[head]!]).tickets[0]).toBeDefined();
      }),
      { numRuns: 300 },
    );
  });
});
