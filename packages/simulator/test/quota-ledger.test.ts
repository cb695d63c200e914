import { createFakeClock } from '@tollgate/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { QuotaLedger } from '../src/internal/quota-ledger.js';
import type { WindowSpec } from '../src/internal/sliding-window.js';

const rpm = (limit: number): WindowSpec => ({
  name: 'rpm',
  unit: 'requests',
  limit,
  windowMs: 60_000,
});
const rps = (limit: number): WindowSpec => ({
  name: 'rps',
  unit: 'requests',
  limit,
  windowMs: 1000,
});
const burst = (limit: number, windowMs = 250): WindowSpec => ({
  name: 'burst',
  unit: 'requests',
  limit,
  windowMs,
});
const tpm = (limit: number): WindowSpec => ({
  name: 'tpm',
  unit: 'tokens',
  limit,
  windowMs: 60_000,
});
const tps = (limit: number): WindowSpec => ({ name: 'tps', unit: 'tokens', limit, windowMs: 1000 });

function ledger(windows: WindowSpec[], countRejected = false) {
  const clock = createFakeClock(1_000_000);
  return { clock, ledger: new QuotaLedger({ windows, countRejected, clock }) };
}

const refusedBy = (decision: ReturnType<QuotaLedger['tryAdmit']>) =>
  decision.admitted ? 'admitted' : decision.window.name;

describe('QuotaLedger', () => {
  it('admits up to the request limit, then refuses until the oldest request leaves the window', async () => {
    const { clock, ledger: quota } = ledger([rpm(3)]);
    expect(refusedBy(quota.tryAdmit(1))).toBe('admitted');
    await clock.advance(10_000);
    expect(refusedBy(quota.tryAdmit(1))).toBe('admitted');
    expect(refusedBy(quota.tryAdmit(1))).toBe('admitted');
    const refused = quota.tryAdmit(1);
    expect(refused).toMatchObject({ admitted: false, used: 3, requested: 1, retryAfterMs: 50_000 });
    await clock.advance(49_999);
    expect(refusedBy(quota.tryAdmit(1))).toBe('rpm');
    await clock.advance(1);
    expect(refusedBy(quota.tryAdmit(1))).toBe('admitted');
  });

  it('counts tokens: a request fits only when its whole cost does', async () => {
    const { clock, ledger: quota } = ledger([tpm(100)]);
    expect(refusedBy(quota.tryAdmit(60))).toBe('admitted');
    expect(quota.tryAdmit(41)).toMatchObject({ admitted: false, used: 60, requested: 41 });
    expect(refusedBy(quota.tryAdmit(40))).toBe('admitted');
    await clock.advance(60_000);
    expect(refusedBy(quota.tryAdmit(100))).toBe('admitted');
  });

  it('never admits a request whose cost exceeds a token limit, and says so', () => {
    const { ledger: quota } = ledger([tpm(100)]);
    expect(quota.tryAdmit(101)).toMatchObject({ admitted: false, retryAfterMs: undefined });
  });

  it('checks request windows, then the burst guard, then token windows', () => {
    const { ledger: quota } = ledger([rpm(10), rps(3), burst(2), tpm(1000), tps(50)]);
    expect(refusedBy(quota.tryAdmit(60))).toBe('tps');
    expect(refusedBy(quota.tryAdmit(20))).toBe('admitted');
    expect(refusedBy(quota.tryAdmit(20))).toBe('admitted');
    // The burst guard is full and so is TPS: the burst guard is checked first.
    expect(refusedBy(quota.tryAdmit(20))).toBe('burst');
  });

  it('reports the first full window even when a later one is full too', () => {
    const { ledger: quota } = ledger([rpm(1), tpm(10)]);
    expect(refusedBy(quota.tryAdmit(10))).toBe('admitted');
    expect(refusedBy(quota.tryAdmit(10))).toBe('rpm');
  });

  it('counts rejected requests against request windows only when asked, never against tokens', () => {
    for (const countRejected of [true, false]) {
      const { ledger: quota } = ledger([rpm(5), tpm(100)], countRejected);
      quota.tryAdmit(80);
      quota.tryAdmit(80);
      quota.tryAdmit(80);
      const [requests, tokens] = quota.snapshot();
      expect(requests?.used).toBe(countRejected ? 3 : 1);
      expect(tokens?.used).toBe(80);
      expect(requests?.maxUsed).toBe(1);
    }
  });

  it('includes the counted rejection in the wait it reports', async () => {
    const { clock, ledger: quota } = ledger([rps(1)], true);
    quota.tryAdmit(1);
    await clock.advance(500);
    // The rejected request at 500 ms occupies the window until 1500 ms.
    expect(quota.tryAdmit(1)).toMatchObject({ admitted: false, retryAfterMs: 1000 });
  });

  it('corrects an admitted cost where it still counts (actual accounting)', async () => {
    const { clock, ledger: quota } = ledger([tps(100), tpm(150)]);
    const first = quota.tryAdmit(90);
    if (!first.admitted) throw new Error('expected admission');
    expect(refusedBy(quota.tryAdmit(20))).toBe('tps');
    await clock.advance(1500);
    quota.settle(first.ticket, 30);
    const [perSecond, perMinute] = quota.snapshot();
    // Left the 1 s window already: nothing to correct there; the minute window books 30.
    expect(perSecond?.used).toBe(0);
    expect(perMinute?.used).toBe(30);
    // 30 + 100 fits the minute window; the 90 booked at admission would not have.
    expect(refusedBy(quota.tryAdmit(100))).toBe('admitted');
  });

  it('reports remaining units and the time until the window is empty', async () => {
    const { clock, ledger: quota } = ledger([rpm(10), tpm(1000)]);
    quota.tryAdmit(100);
    await clock.advance(20_000);
    quota.tryAdmit(50);
    const [requests, tokens] = quota.snapshot();
    expect(requests).toMatchObject({ used: 2, remaining: 8, resetMs: 60_000 });
    expect(tokens).toMatchObject({ used: 150, remaining: 850, resetMs: 60_000 });
    await clock.advance(40_000);
    expect(quota.snapshot()[1]).toMatchObject({ used: 50, remaining: 950, resetMs: 20_000 });
  });

  it('floors a fractional limit: 500 RPM / 60 admits 8 per second', () => {
    const { ledger: quota } = ledger([rps(500 / 60)]);
    const decisions = Array.from({ length: 9 }, () => refusedBy(quota.tryAdmit(1)));
    expect(decisions.filter((d) => d === 'admitted')).toHaveLength(8);
    expect(quota.snapshot()[0]?.remaining).toBe(0);
  });
});

// --- property tests against a naive reference --------------------------------------------

interface RefEntry {
  readonly at: number;
  tokens: number;
  readonly admitted: boolean;
}

function referenceUsage(
  entries: ReadonlyArray<RefEntry>,
  spec: WindowSpec,
  now: number,
  admittedOnly = false,
) {
  let used = 0;
  for (const entry of entries) {
    if (entry.at <= now - spec.windowMs) continue;
    if (spec.unit === 'tokens' && !entry.admitted) continue;
    if (admittedOnly && !entry.admitted) continue;
    used += spec.unit === 'requests' ? 1 : entry.tokens;
  }
  return used;
}

function referenceRefusal(
  entries: ReadonlyArray<RefEntry>,
  specs: ReadonlyArray<WindowSpec>,
  now: number,
  cost: number,
) {
  return specs.find(
    (spec) =>
      referenceUsage(entries, spec, now) + (spec.unit === 'requests' ? 1 : cost) > spec.limit,
  );
}

const windowsArbitrary = fc
  .record({
    perMinute: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
    perSecond: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
    burst: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
    tokensPerMinute: fc.option(fc.integer({ min: 20, max: 300 }), { nil: undefined }),
    tokensPerSecond: fc.option(fc.integer({ min: 20, max: 120 }), { nil: undefined }),
  })
  .map((limits) => {
    const specs: WindowSpec[] = [];
    if (limits.perMinute !== undefined) specs.push({ ...rpm(limits.perMinute), windowMs: 6000 });
    if (limits.perSecond !== undefined) specs.push(rps(limits.perSecond));
    if (limits.burst !== undefined) specs.push(burst(limits.burst));
    if (limits.tokensPerMinute !== undefined)
      specs.push({ ...tpm(limits.tokensPerMinute), windowMs: 6000 });
    if (limits.tokensPerSecond !== undefined) specs.push(tps(limits.tokensPerSecond));
    return specs;
  });

const stepArbitrary = fc.record({
  advanceMs: fc.oneof(
    fc.constant(0),
    // Window lengths and their halves: entries leave exactly on these boundaries.
    fc.constantFrom(125, 250, 500, 1000, 3000, 6000),
    fc.integer({ min: 0, max: 400 }),
    fc.integer({ min: 0, max: 3000 }),
  ),
  cost: fc.integer({ min: 1, max: 80 }),
  settleRatio: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
});

describe('QuotaLedger properties', () => {
  it('decides exactly as a naive sliding log, and no window ever holds more admitted units than its limit', async () => {
    await fc.assert(
      fc.asyncProperty(
        windowsArbitrary,
        fc.boolean(),
        fc.array(stepArbitrary, { minLength: 1, maxLength: 60 }),
        async (specs, countRejected, steps) => {
          const clock = createFakeClock(0);
          const quota = new QuotaLedger({ windows: specs, countRejected, clock });
          const entries: RefEntry[] = [];
          const tickets: Array<{ ticket: Parameters<QuotaLedger['settle']>[0]; entry: RefEntry }> =
            [];
          for (const step of steps) {
            await clock.advance(step.advanceMs);
            const now = clock.now();
            const expected = referenceRefusal(entries, specs, now, step.cost);
            const decision = quota.tryAdmit(step.cost);
            expect(decision.admitted ? undefined : decision.window.name).toBe(expected?.name);
            if (decision.admitted) {
              const entry = { at: now, tokens: step.cost, admitted: true };
              entries.push(entry);
              tickets.push({ ticket: decision.ticket, entry });
            } else if (countRejected) {
              entries.push({ at: now, tokens: 0, admitted: false });
            }
            // Actual accounting: correct an earlier admission to fewer tokens.
            const last = tickets.shift();
            if (step.settleRatio !== undefined && last !== undefined) {
              const tokens = Math.floor(last.entry.tokens * step.settleRatio);
              quota.settle(last.ticket, tokens);
              last.entry.tokens = tokens;
            }
            const states = quota.snapshot();
            specs.forEach((spec, index) => {
              const admitted = referenceUsage(entries, spec, now, true);
              expect(admitted).toBeLessThanOrEqual(spec.limit);
              expect(states[index]?.used).toBe(referenceUsage(entries, spec, now));
              expect(states[index]?.maxUsed).toBeLessThanOrEqual(spec.limit);
            });
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('admits the same request exactly retryAfterMs after refusing it, not a millisecond earlier', async () => {
    await fc.assert(
      fc.asyncProperty(
        windowsArbitrary,
        fc.boolean(),
        fc.array(stepArbitrary, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 80 }),
        async (specs, countRejected, steps, cost) => {
          const clock = createFakeClock(0);
          const quota = new QuotaLedger({ windows: specs, countRejected, clock });
          const entries: RefEntry[] = [];
          for (const step of steps) {
            await clock.advance(step.advanceMs);
            const decision = quota.tryAdmit(step.cost);
            if (decision.admitted || countRejected) {
              entries.push({ at: clock.now(), tokens: step.cost, admitted: decision.admitted });
            }
          }
          const now = clock.now();
          const decision = quota.tryAdmit(cost);
          if (decision.admitted) return;
          if (countRejected) entries.push({ at: now, tokens: cost, admitted: false });
          const wait = decision.retryAfterMs;
          const tooLarge = specs.some((spec) => spec.unit === 'tokens' && cost > spec.limit);
          expect(wait === undefined).toBe(tooLarge);
          if (wait === undefined) return;
          expect(wait).toBeGreaterThan(0);
          expect(referenceRefusal(entries, specs, now + wait - 1, cost)).toBeDefined();
          expect(referenceRefusal(entries, specs, now + wait, cost)).toBeUndefined();
          await clock.advance(wait);
          expect(quota.tryAdmit(cost).admitted).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
