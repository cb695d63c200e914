import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Limiter, type Permit, type WindowDefinition } from '../src/index.js';
import { createFakeClock } from '../src/testing.js';

/**
 * An independent reference model of the quota: a plain list of admissions whose booked
 * amounts change when they are settled or cancelled. It knows nothing of cursors, running
 * sums or pacing — only the definition of a sliding window.
 */
class ReferenceModel {
  private readonly entries: Array<{ at: number; tokens: number; counted: boolean }> = [];

  constructor(private readonly windows: ReadonlyArray<WindowDefinition>) {}

  /** Sum of each window at instant `t`, from the current bookings. */
  sums(t: number): number[] {
    return this.windows.map((w) =>
      this.entries
        .filter((e) => e.at + w.windowMs > t && e.counted)
        .reduce((sum, e) => sum + (w.unit === 'tokens' ? e.tokens : 1), 0),
    );
  }

  /** Records an admission after checking it fitted every window; returns its index. */
  admit(at: number, tokens: number): { index: number; violations: string[] } {
    const before = this.sums(at);
    const violations = this.windows.flatMap((w, k) => {
      const cost = w.unit === 'tokens' ? tokens : 1;
      return before[k]! + cost > w.limit
        ? [`${w.unit}/${w.windowMs}: ${before[k]} + ${cost} > ${w.limit} at ${at}`]
        : [];
    });
    this.entries.push({ at, tokens, counted: true });
    return { index: this.entries.length - 1, violations };
  }

  rebook(index: number, tokens: number): void {
    this.entries[index]!.tokens = tokens;
  }

  release(index: number): void {
    this.entries[index]!.counted = false;
  }

  /** The request left at `at`: it counts from then (a departure only ever moves it later). */
  depart(index: number, at: number): void {
    const entry = this.entries[index]!;
    if (entry.counted && at > entry.at) entry.at = at;
  }
}

const windowArb = fc.oneof(
  fc.record({
    unit: fc.constant('requests' as const),
    limit: fc.integer({ min: 1, max: 5 }),
    windowMs: fc.integer({ min: 50, max: 2000 }),
  }),
  fc.record({
    unit: fc.constant('tokens' as const),
    limit: fc.integer({ min: 100, max: 2000 }),
    windowMs: fc.integer({ min: 50, max: 3000 }),
  }),
);

const requestArb = fc.record({
  arrivalMs: fc.integer({ min: 0, max: 3000 }),
  tokensFraction: fc.double({ min: 0, max: 1, noNaN: true }),
  asEstimate: fc.boolean(),
  priority: fc.integer({ min: 0, max: 2 }),
  abortAfterMs: fc.option(fc.integer({ min: 0, max: 2000 }), { nil: undefined }),
  maxWaitMs: fc.option(fc.integer({ min: 0, max: 3000 }), { nil: undefined }),
  outcome: fc.constantFrom('settle', 'settle', 'cancel', 'none'),
  holdMs: fc.integer({ min: 0, max: 1500 }),
  departAfterMs: fc.option(fc.integer({ min: 0, max: 2500 }), { nil: undefined }),
  usageFactor: fc.double({ min: 0, max: 2.5, noNaN: true }),
});

const scenarioArb = fc.record({
  windows: fc
    .uniqueArray(windowArb, {
      minLength: 1,
      maxLength: 3,
      selector: (w) => `${w.unit}/${w.windowMs}`,
    })
    .filter((ws) => ws.some((w) => w.unit === 'tokens')),
  accounting: fc.constantFrom('reserved' as const, 'actual' as const),
  pacing: fc.boolean(),
  lookahead: fc.integer({ min: 1, max: 8 }),
  maxDelayMs: fc.constantFrom(0, 250, 1000, 5000),
  requests: fc.array(requestArb, { minLength: 1, maxLength: 30 }),
  /** Margin widenings (as after unexpected refusals): when, and how they widen. */
  widen: fc.record({
    stepMs: fc.integer({ min: 1, max: 400 }),
    maxMs: fc.integer({ min: 1, max: 800 }),
    decayMs: fc.integer({ min: 800, max: 6000 }),
  }),
  widenAtMs: fc.array(fc.integer({ min: 0, max: 4000 }), { maxLength: 3 }),
  /** Shorter than some holds: permits expire, and are settled or cancelled late. */
  leaseMs: fc.option(fc.integer({ min: 100, max: 2000 }), { nil: undefined }),
});

describe('Limiter properties', () => {
  it('never admits past any window, and every reservation ends settled, cancelled or booked — bookings moved to their departure, widened margins, and kept by an expired lease, included', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        const clock = createFakeClock(0);
        const limiter = new Limiter({
          quota: { windows: scenario.windows, accounting: scenario.accounting },
          clock,
          margin: { ms: 0, widen: scenario.widen },
          pacing: scenario.pacing,
          packing: { lookahead: scenario.lookahead, maxDelayMs: scenario.maxDelayMs },
          leaseMs: scenario.leaseMs ?? Number.POSITIVE_INFINITY,
        });
        const model = new ReferenceModel(limiter.quota.windows);
        const smallestTokenLimit = Math.min(
          ...scenario.windows.filter((w) => w.unit === 'tokens').map((w) => w.limit),
        );
        const violations: string[] = [];
        const mismatches: string[] = [];
        const permits: Array<{ permit: Permit; outcome: string; holdMs: number }> = [];
        const modelIndex = new Map<Permit, number>();
        let pending = 0;
        let widened = false;
        for (const at of scenario.widenAtMs) {
          clock.setTimeout(() => {
            widened = true;
            void limiter.widenMargin();
          }, at);
        }

        // Checked at the instant of admission, before anything else can happen.
        limiter.on('admitted', ({ permit }) => {
          const { index, violations: found } = model.admit(permit.admittedAt, permit.tokens);
          violations.push(...found);
          modelIndex.set(permit, index);
          // once every admission of this decision is recorded (time does not move meanwhile)
          queueMicrotask(() => {
            const expected = model.sums(clock.now());
            void limiter.snapshot().then((snapshot) => {
              const actual = snapshot.windows.map((w) => w.used);
              // A widened margin books later than the model, which knows no margin: the store
              // may only be stricter. Without one, both agree exactly.
              const agrees = widened
                ? actual.every((used, k) => used >= expected[k]!)
                : JSON.stringify(actual) === JSON.stringify(expected);
              if (!agrees) {
                mismatches.push(`store ${actual} vs model ${expected} at ${clock.now()}`);
              }
            });
          });
        });

        for (const request of scenario.requests) {
          clock.setTimeout(() => {
            // leave room for the prompt bias to grow an estimate by up to 4x
            const tokens = Math.floor((request.tokensFraction * smallestTokenLimit) / 4);
            const controller = new AbortController();
            pending++;
            limiter
              .acquire({
                tokens: request.asEstimate ? { prompt: tokens / 2, output: tokens / 2 } : tokens,
                priority: request.priority,
                signal: controller.signal,
                ...(request.maxWaitMs === undefined ? {} : { maxWaitMs: request.maxWaitMs }),
              })
              .then(
                (permit) => {
                  pending--;
                  const index = modelIndex.get(permit)!;
                  permits.push({ permit, outcome: request.outcome, holdMs: request.holdMs });
                  if (request.departAfterMs !== undefined) {
                    clock.setTimeout(() => {
                      if (permit.state === 'active') model.depart(index, clock.now());
                      permit.departed();
                    }, request.departAfterMs);
                  }
                  clock.setTimeout(() => {
                    // the model first: the call may admit a waiter before it returns
                    if (request.outcome === 'cancel') {
                      // an expired permit keeps its booking, even when cancelled late
                      if (permit.state === 'active') model.release(index);
                      permit.cancel();
                    } else if (request.outcome === 'settle') {
                      const total = Math.round(permit.tokens * request.usageFactor);
                      const prompt = Math.floor(total / 2);
                      if (scenario.accounting === 'actual') model.rebook(index, total);
                      permit.settle({ promptTokens: prompt, completionTokens: total - prompt });
                    }
                  }, request.holdMs);
                },
                () => {
                  pending--;
                },
              );
            if (request.abortAfterMs !== undefined) {
              clock.setTimeout(() => controller.abort(), request.abortAfterMs);
            }
          }, request.arrivalMs);
        }

        // Long enough for every waiter to be admitted or rejected, and every window to empty.
        const longest = Math.max(...scenario.windows.map((w) => w.windowMs));
        for (let i = 0; i < 200 && (pending > 0 || clock.pendingTimers() > 0); i++) {
          await clock.advance(longest * 4);
        }
        await clock.flush();

        expect(violations).toEqual([]);
        expect(mismatches).toEqual([]);
        expect(pending).toBe(0);
        const snapshot = await limiter.snapshot();
        expect(snapshot.queued).toBe(0);
        expect(clock.pendingTimers()).toBe(0);
        const lease = scenario.leaseMs ?? Number.POSITIVE_INFINITY;
        for (const { permit, outcome, holdMs } of permits) {
          const held =
            outcome === 'settle' ? 'settled' : outcome === 'cancel' ? 'cancelled' : 'active';
          const expired = held === 'active' ? lease < Number.POSITIVE_INFINITY : holdMs >= lease;
          // a settle at the very instant the lease runs out may come first
          const expected =
            holdMs === lease && held !== 'active'
              ? [held, 'expired']
              : [expired ? 'expired' : held];
          expect(expected).toContain(permit.state);
        }
        expect(snapshot.inFlight).toBe(permits.filter((p) => p.permit.state === 'active').length);
        expect(snapshot.expired).toBe(permits.filter((p) => p.permit.state === 'expired').length);
      }),
      { numRuns: 300 },
    );
  }, 120_000);
});
