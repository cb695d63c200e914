import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Limiter, type Permit } from '../src/index.js';
import { createFakeClock } from '../src/testing.js';

const requestArb = fc.record({
  arrivalMs: fc.integer({ min: 0, max: 3000 }),
  tokens: fc.integer({ min: 0, max: 400 }),
  /** `forget`: nobody settles or cancels it; `late`: settled, then settled or cancelled again. */
  outcome: fc.constantFrom('settle', 'cancel', 'forget', 'forget', 'late'),
  holdMs: fc.integer({ min: 0, max: 2500 }),
  maxWaitMs: fc.option(fc.integer({ min: 0, max: 4000 }), { nil: undefined }),
});

const scenarioArb = fc.record({
  maxInFlight: fc.integer({ min: 1, max: 4 }),
  leaseMs: fc.integer({ min: 1, max: 1500 }),
  /** Tight windows make requests wait for room as well as for slots. */
  rps: fc.integer({ min: 1, max: 20 }),
  tps: fc.integer({ min: 400, max: 4000 }),
  accounting: fc.constantFrom('reserved' as const, 'actual' as const),
  requests: fc.array(requestArb, { minLength: 1, maxLength: 40 }),
});

type End = 'settled' | 'cancelled' | 'expired';

describe('Lease properties', () => {
  it('never lets more than maxInFlight permits be active, ends every permit exactly once, and leaves nobody waiting forever', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        const clock = createFakeClock(0);
        const limiter = new Limiter({
          quota: { rps: scenario.rps, tps: scenario.tps, accounting: scenario.accounting },
          clock,
          maxInFlight: scenario.maxInFlight,
          leaseMs: scenario.leaseMs,
        });
        const problems: string[] = [];
        const ends = new Map<Permit, End[]>();
        let active = 0;
        let unsettledAcquires = 0;
        const end = (kind: End) => (event: { readonly permit: Permit }) => {
          active--;
          ends.get(event.permit)?.push(kind);
        };
        limiter.on('admitted', ({ permit }) => {
          active++;
          ends.set(permit, []);
          if (active > scenario.maxInFlight) problems.push(`${active} active at ${clock.now()}`);
        });
        limiter.on('settled', end('settled'));
        limiter.on('cancelled', end('cancelled'));
        limiter.on('expired', (event) => {
          end('expired')(event);
          // never early, and on the dot: the store and the limiter share the fake clock
          if (
            event.heldMs !== scenario.leaseMs ||
            clock.now() !== event.permit.admittedAt + scenario.leaseMs
          ) {
            problems.push(`expired after ${event.heldMs} ms at ${clock.now()}`);
          }
        });
        const outcomes = new Map<Permit, (typeof scenario.requests)[number]>();

        for (const request of scenario.requests) {
          clock.setTimeout(() => {
            unsettledAcquires++;
            limiter
              .acquire({
                tokens: request.tokens,
                ...(request.maxWaitMs === undefined ? {} : { maxWaitMs: request.maxWaitMs }),
              })
              .then(
                (permit) => {
                  outcomes.set(permit, request);
                  if (request.outcome === 'forget') return;
                  clock.setTimeout(() => {
                    // a late end must never throw: the call was merely slow
                    try {
                      if (request.outcome === 'cancel') permit.cancel();
                      else
                        permit.settle({
                          promptTokens: request.tokens,
                          totalTokens: request.tokens,
                        });
                      if (request.outcome === 'late' && permit.state === 'expired') {
                        permit.settle({ totalTokens: 0 });
                        permit.cancel();
                      }
                    } catch (error) {
                      problems.push(`ending threw ${String(error)}`);
                    }
                  }, request.holdMs);
                },
                () => {},
              )
              .finally(() => {
                unsettledAcquires--;
              });
          }, request.arrivalMs);
        }

        // Past every arrival, and every admission in turn: a slot frees within a hold or a
        // lease, a window within a second. Nothing may be left waiting then — and past the
        // longest hold once more, for the late ends of permits that expired first.
        const perRequestMs = Math.min(2500, scenario.leaseMs) + 1000;
        await clock.advance(3000 + perRequestMs * (scenario.requests.length + 1) + 2500);

        expect(problems).toEqual([]);
        expect(unsettledAcquires).toBe(0);
        const snapshot = await limiter.snapshot();
        expect([snapshot.queued, snapshot.inFlight, active]).toEqual([0, 0, 0]);
        expect(clock.pendingTimers()).toBe(0);
        let expiredCount = 0;
        for (const [permit, kinds] of ends) {
          expect(kinds).toHaveLength(1);
          expect(permit.state).toBe(kinds[0]);
          const request = outcomes.get(permit)!;
          const timely = request.outcome === 'cancel' ? 'cancelled' : 'settled';
          if (request.outcome === 'forget' || request.holdMs > scenario.leaseMs) {
            expect(permit.state).toBe('expired');
          } else if (request.holdMs < scenario.leaseMs) {
            expect(permit.state).toBe(timely);
          }
          if (permit.state === 'expired') expiredCount++;
        }
        expect(snapshot.expired).toBe(expiredCount);
      }),
      { numRuns: 200 },
    );
  }, 120_000);
});
