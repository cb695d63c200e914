/**
 * Effect's `ExecutionPlan` as the reactive model fallback of a provider: each step provides a
 * `Quota` (built once, so its windows outlive the attempts) and the model it limits; a
 * `QuotaExhausted` moves the call to the next step.
 */
import { Context, Effect, ExecutionPlan } from 'effect';
import { TestClock } from 'effect/testing';
import { describe, expect, it } from 'vitest';
import {
  classifyError,
  makeQuota,
  Quota,
  type QuotaOptions,
  QuotaStore,
  withQuota,
} from '../src/index.js';

class Model extends Context.Service<Model, string>()('test/Model') {}

const freeTierOut = {
  status: 429,
  error: { code: 'AllocationQuota.FreeTierOnly', message: 'Free allocated quota exceeded.' },
};

describe('ExecutionPlan over Quota services', () => {
  it('a QuotaExhausted on the first model moves the call to the next, each booked in its own quota', () =>
    Effect.runPromise(
      Effect.gen(function* () {
        const options: QuotaOptions = {
          quota: { rps: 1, tps: 1000 },
          margin: { ms: 0, widen: false },
        };
        const max = yield* makeQuota({ ...options, key: 'max' });
        const plus = yield* makeQuota({ ...options, key: 'plus' });
        const sent: string[] = [];
        const call = Effect.gen(function* () {
          const model = yield* Model;
          sent.push(model);
          if (model === 'max')
            return yield* Effect.fail(classifyError(freeTierOut, { provider: 'dashscope' }));
          return `reply from ${model}`;
        });
        const plan = ExecutionPlan.make(
          {
            provide: Context.make(Quota, max).pipe(Context.add(Model, 'max')),
            while: (error: { readonly _tag: string }) => error._tag === 'QuotaExhausted',
          },
          { provide: Context.make(Quota, plus).pipe(Context.add(Model, 'plus')) },
        );
        const reply = yield* Effect.withExecutionPlan(withQuota(call, { tokens: 100 }), plan);
        expect(reply).toBe('reply from plus');
        expect(sent).toEqual(['max', 'plus']);
        const [onMax, onPlus] = yield* Effect.all([max.snapshot, plus.snapshot]);
        // the refused request keeps its booking on max (the provider counted it); plus served one
        expect([onMax.inFlight, onMax.windows[0]?.used]).toEqual([0, 1]);
        expect([onPlus.inFlight, onPlus.windows[0]?.used]).toEqual([0, 1]);
      }).pipe(Effect.scoped, Effect.provide(QuotaStore.memory), Effect.provide(TestClock.layer())),
    ));
});
