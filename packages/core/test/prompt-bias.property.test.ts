/**
 * The learned prompt bias against one absurd usage report: a cumulative count, a wrong field,
 * a zero. Honest ratios come from a band; one outlier of any size lands anywhere in the
 * sequence; the bias must stay within the band the honest ratios span.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Limiter } from '../src/index.js';
import { PromptBias } from '../src/internal/prompt-bias.js';
import { createFakeClock } from '../src/testing.js';

const ESTIMATE = 1000;
/** The small-sample headroom after `n` settlements. */
const headroom = (n: number) => 1 + 0.1 / Math.sqrt(n);
/** Float rounding of `ratio × ESTIMATE / ESTIMATE`. */
const EPSILON = 1e-9;

const band = fc
  .record({
    low: fc.double({ min: 0.25, max: 2.5, noNaN: true }),
    spread: fc.double({ min: 1, max: 1.2, noNaN: true }),
  })
  .map(({ low, spread }) => ({ low, high: low * spread }));

const outlier = fc.oneof(
  fc.constant(0),
  fc.constant(1e9),
  fc.double({ min: 0, max: 1e12, noNaN: true }),
  fc.double({ min: 0, max: 1e-3, noNaN: true }),
);

describe('PromptBias: one outlier', () => {
  it('after any honest sequence plus one outlier, the bias stays within the honest band', () => {
    fc.assert(
      fc.property(
        band.chain(({ low, high }) =>
          fc.record({
            low: fc.constant(low),
            high: fc.constant(high),
            honest: fc.array(fc.double({ min: low, max: high, noNaN: true }), {
              minLength: 3,
              maxLength: 600,
            }),
            at: fc.nat(),
            reported: outlier,
          }),
        ),
        ({ low, high, honest, at, reported }) => {
          const position = at % (honest.length + 1);
          // from three settlements on, at least two of them honest: the bias is an honest ratio
          const check = (bias: PromptBias, n: number) => {
            if (n < 3) return;
            expect(bias.value).toBeGreaterThanOrEqual(low * headroom(n) * (1 - EPSILON));
            expect(bias.value).toBeLessThanOrEqual(high * headroom(n) * (1 + EPSILON));
          };
          const withOutlier = new PromptBias();
          const honestOnly = new PromptBias();
          let settled = 0;
          for (let i = 0; i <= honest.length; i++) {
            if (i === position) {
              withOutlier.learn(ESTIMATE, reported);
              settled++;
              check(withOutlier, settled);
            }
            const ratio = honest[i];
            if (ratio === undefined) continue;
            withOutlier.learn(ESTIMATE, ratio * ESTIMATE);
            honestOnly.learn(ESTIMATE, ratio * ESTIMATE);
            settled++;
            check(withOutlier, settled);
          }
          // and so within the band's width of what the honest ratios alone teach
          const relative = withOutlier.value / honestOnly.value;
          const headroomShift = headroom(settled) / headroom(settled - 1);
          expect(relative).toBeLessThanOrEqual((high / low) * (1 + EPSILON));
          expect(relative).toBeGreaterThanOrEqual((low / high) * headroomShift * (1 - EPSILON));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('learns nothing from fewer than three settlements', () => {
    const bias = new PromptBias();
    bias.learn(ESTIMATE, 1e9);
    expect(bias.value).toBe(1);
    bias.learn(ESTIMATE, 0);
    expect(bias.value).toBe(1);
    bias.learn(ESTIMATE, 700);
    // the ratios are clamped to [0.25, 4]; the highest set aside, the next is 0.7
    expect(bias.value).toBeCloseTo(0.7 * headroom(3), 12);
  });
});

describe('Limiter: an absurd usage report', () => {
  it.each([
    ['1e9 prompt tokens for a 100-token estimate', 1e9],
    ['0 prompt tokens', 0],
  ])('%s leaves later estimates booked at the honest bias', async (_name, reported) => {
    const clock = createFakeClock();
    const limiter = new Limiter({ quota: { tpm: 1e12 }, clock, pacing: false, margin: { ms: 0 } });
    const settle = async (promptTokens: number) => {
      const permit = await limiter.acquire({ tokens: { prompt: 100, output: 0 } });
      permit.settle({ promptTokens });
    };
    for (let i = 0; i < 20; i++) await settle(80);
    await settle(reported);
    for (let i = 0; i < 5; i++) await settle(80);
    const { promptBias } = await limiter.snapshot();
    expect(promptBias).toBeCloseTo(0.8 * headroom(26), 12);
    const permit = await limiter.acquire({ tokens: { prompt: 100, output: 50 } });
    expect(permit.tokens).toBe(Math.ceil(100 * promptBias) + 50);
  });
});
