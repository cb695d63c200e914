import { type Call, limit, pipeline, run } from '@tollgate/core';
import { createFakeClock } from '@tollgate/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fallback, ModelsUnavailableError, modelChain } from '../src/index.js';
import { perTwoMinutes, type Request, refusal, request } from './helpers.js';

const modelArb = fc.record({
  /** Requests per 2 minutes. */
  capacity: fc.integer({ min: 1, max: 4 }),
  spillAfterMs: fc.constantFrom(0, 700, 1_000, 30_000, Number.POSITIVE_INFINITY),
  /** Refuses every request as out of quota. */
  exhausted: fc.boolean(),
  /** How long it takes to answer. */
  latencyMs: fc.constantFrom(0, 300, 2_000),
});

const scenarioArb = fc.record({
  models: fc.array(modelArb, { minLength: 1, maxLength: 3 }),
  calls: fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 12 }),
  /** Calls whose caller gives up after this long (an abort), by index. */
  abortAfterMs: fc.option(fc.integer({ min: 0, max: 3_000 }), { nil: undefined }),
});

describe('routing properties', () => {
  it('every call ends once, is served once, reaches each model at most once, never beyond its quota, and leaves nothing waiting or held', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        const clock = createFakeClock(0);
        const names = scenario.models.map((_, i) => `m${i}`);
        const chain = modelChain({
          provider: 'dashscope',
          clock,
          models: scenario.models.map((model, i) => ({
            model: names[i]!,
            quota: perTwoMinutes(model.capacity),
            spillAfterMs: model.spillAfterMs,
          })),
        });
        /** Per call, the models its request reached, in order; and each model's sends' times. */
        const reached = new Map<number, string[]>();
        const sends = new Map<string, number[]>();
        const transport: Call<Request & { id: number }, string> = async (req, context) => {
          const model = context.model!;
          reached.set(req.id, [...(reached.get(req.id) ?? []), model]);
          sends.set(model, [...(sends.get(model) ?? []), clock.now()]);
          const { exhausted, latencyMs } = scenario.models[names.indexOf(model)]!;
          if (latencyMs > 0) {
            await new Promise<void>((resolve) => clock.setTimeout(() => resolve(), latencyMs));
          }
          if (exhausted) throw refusal.freeQuota();
          return model;
        };
        const send = pipeline<Request & { id: number }, string>(
          fallback(chain),
          limit(chain.limiterFor),
        )(transport);
        const outcomes: Array<Promise<'served' | 'unavailable' | 'aborted'>> = [];
        const controllers: AbortController[] = [];
        for (const [id, at] of scenario.calls.entries()) {
          const controller = new AbortController();
          controllers.push(controller);
          clock.setTimeout(() => {
            outcomes[id] = run(send, { ...request(), id }, { signal: controller.signal }).then(
              (model) => {
                expect(names).toContain(model);
                expect(scenario.models[names.indexOf(model)]!.exhausted).toBe(false);
                return 'served' as const;
              },
              (error: unknown) => {
                if (error instanceof ModelsUnavailableError) return 'unavailable' as const;
                expect(controller.signal.aborted).toBe(true);
                return 'aborted' as const;
              },
            );
          }, at);
          if (scenario.abortAfterMs !== undefined && id % 3 === 0) {
            clock.setTimeout(
              () => controller.abort(new Error('gave up')),
              at + scenario.abortAfterMs,
            );
          }
        }
        // long enough for every window to let every call through
        await clock.advance(5_000 + scenario.calls.length * 121_000);
        const ends = await Promise.all(outcomes);
        expect(ends).toHaveLength(scenario.calls.length);

        for (const [id, models] of reached) {
          // each model at most once per call
          expect(new Set(models).size, `call ${id}: ${models.join(' ')}`).toBe(models.length);
          // and served once: sent to no other model after one that could serve it
          const serving = models.filter(
            (model) => !scenario.models[names.indexOf(model)]!.exhausted,
          );
          expect(serving.length, `call ${id}: ${models.join(' ')}`).toBeLessThanOrEqual(1);
          if (serving.length === 1) expect(models.at(-1)).toBe(serving[0]);
        }
        for (const [i, model] of scenario.models.entries()) {
          const times = sends.get(names[i]!) ?? [];
          // never more than the quota in any 2-minute window (the limiter's margin included)
          for (const [k, at] of times.entries()) {
            const inWindow = times.filter((other) => other > at - 120_000 && other <= at);
            expect(inWindow.length, `m${i} at ${at} (#${k})`).toBeLessThanOrEqual(model.capacity);
          }
          const snapshot = await chain.limiter(names[i]!).snapshot();
          expect([snapshot.queued, snapshot.inFlight]).toEqual([0, 0]);
        }
        // a non-exhausted model was there for everyone who did not give up
        const served = scenario.models.some((model) => !model.exhausted);
        for (const [id, end] of ends.entries()) {
          if (end === 'aborted') continue;
          expect(end, `call ${id}`).toBe(served ? 'served' : 'unavailable');
        }
        expect(clock.pendingTimers()).toBe(0);
      }),
      { numRuns: 150 },
    );
  });
});
