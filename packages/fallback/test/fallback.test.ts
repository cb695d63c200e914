import { isTollgateError, run } from '@tollgate/core';
import { describe, expect, it } from 'vitest';
import { fallback, ModelsUnavailableError, modelChain } from '../src/index.js';
import { chained, perTwoMinutes, refusal, request } from './helpers.js';

const ask = (send: ReturnType<typeof chained>['send'], model?: string) =>
  run(send, request(), model === undefined ? {} : { model });

describe('proactive fallback', () => {
  it('skips a saturated model before sending, and returns to it once it frees', async () => {
    const { send, clock, reached, fallbacks, served } = chained([
      { model: 'max', quota: perTwoMinutes(2), maxWaitMs: 1_000 },
      { model: 'plus', quota: perTwoMinutes(100) },
    ]);
    const first = [await ask(send), await ask(send), await ask(send), await ask(send)];
    expect(first).toEqual(['max', 'max', 'plus', 'plus']);
    // nothing was sent to the saturated model: it was skipped, not refused
    expect(reached).toEqual(['max', 'max', 'plus', 'plus']);
    expect(fallbacks).toHaveLength(2);
    expect(fallbacks[0]).toMatchObject({
      from: 'max',
      to: 'plus',
      reason: { kind: 'over-budget', maxWaitMs: 1_000 },
    });
    expect(fallbacks[0]!.reason).toHaveProperty('expectedWaitMs');
    const expected = (fallbacks[0]!.reason as { expectedWaitMs: number }).expectedWaitMs;
    expect(expected).toBeGreaterThan(1_000);

    await clock.advance(121_000);
    expect(await ask(send)).toBe('max');
    expect(served.map((event) => event.model)).toEqual(['max', 'max', 'plus', 'plus', 'max']);
    expect(served[2]!.skipped.map((skip) => skip.model)).toEqual(['max']);
    expect(served[4]!.skipped).toEqual([]);
  });

  it('waits for the preferred model when the wait is within its budget', async () => {
    const { send, clock } = chained([
      { model: 'max', quota: perTwoMinutes(1), maxWaitMs: 200_000 },
      { model: 'plus', quota: perTwoMinutes(100) },
    ]);
    expect(await ask(send)).toBe('max');
    const second = ask(send);
    await clock.advance(121_000);
    expect(await second).toBe('max');
  });
});

describe('reactive fallback', () => {
  it('moves on when a model says its quota is exhausted', async () => {
    const { send, reached, fallbacks } = chained(
      [
        { model: 'max', quota: perTwoMinutes(100) },
        { model: 'plus', quota: perTwoMinutes(100) },
      ],
      async (model) => {
        if (model === 'max') throw refusal.freeQuota();
        return model;
      },
    );
    expect(await ask(send)).toBe('plus');
    expect(reached).toEqual(['max', 'plus']);
    expect(fallbacks).toHaveLength(1);
    expect(fallbacks[0]!.reason).toMatchObject({
      kind: 'refused',
      classification: { kind: 'quota-exhausted' },
    });
  });

  it('sends a request too long for a model only to a model with a larger context window', async () => {
    const { send, reached, served } = chained(
      [
        { model: 'max', quota: perTwoMinutes(100), contextWindow: 32_000 },
        { model: 'turbo', quota: perTwoMinutes(100), contextWindow: 8_000 },
        { model: 'unknown-window', quota: perTwoMinutes(100) },
        { model: 'long', quota: perTwoMinutes(100), contextWindow: 128_000 },
      ],
      async (model) => {
        if (model === 'max') throw refusal.tooLong();
        return model;
      },
      { fallbackOn: ['quota-exhausted', 'context-length'] },
    );
    expect(await ask(send)).toBe('long');
    expect(reached).toEqual(['max', 'long']);
    expect(served[0]!.skipped.map(({ model, reason }) => [model, reason.kind])).toEqual([
      ['max', 'refused'],
      ['turbo', 'context-window'],
      ['unknown-window', 'context-window'],
    ]);
  });

  it('does not fall back on a bad request, nor on a kind not in fallbackOn', async () => {
    for (const refuse of [refusal.badRequest, refusal.tooLong]) {
      const failure = refuse();
      const { send, reached, fallbacks } = chained(
        [
          { model: 'max', quota: perTwoMinutes(100), contextWindow: 8_000 },
          { model: 'plus', quota: perTwoMinutes(100), contextWindow: 128_000 },
        ],
        async () => {
          throw failure;
        },
      );
      await expect(ask(send)).rejects.toBe(failure);
      expect(reached).toEqual(['max']);
      expect(fallbacks).toEqual([]);
    }
  });

  it('does not fall back once output has started', async () => {
    const two = modelChain({
      provider: 'dashscope',
      models: [
        { model: 'max', quota: perTwoMinutes(100) },
        { model: 'plus', quota: perTwoMinutes(100) },
      ],
    });
    const failure = refusal.freeQuota();
    const seen: string[] = [];
    const send = fallback(two)(async (_req: ReturnType<typeof request>, context) => {
      seen.push(context.model!);
      context.outputStarted?.();
      throw failure;
    });
    await expect(run(send, request())).rejects.toBe(failure);
    expect(seen).toEqual(['max']);
  });
});

describe('when every model is out', () => {
  it('fails with one ModelsUnavailableError giving each model its reason', async () => {
    const { send, reached } = chained(
      [
        { model: 'max', quota: perTwoMinutes(1), maxWaitMs: 0 },
        { model: 'plus', quota: perTwoMinutes(100) },
      ],
      async (model) => {
        if (model === 'plus') throw refusal.freeQuota();
        return model;
      },
    );
    expect(await ask(send)).toBe('max');
    const error = await ask(send).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelsUnavailableError);
    expect(isTollgateError(error, 'TOLLGATE_MODELS_UNAVAILABLE')).toBe(true);
    const unavailable = error as ModelsUnavailableError;
    expect(unavailable.models.map(({ model, reason }) => [model, reason.kind])).toEqual([
      ['max', 'over-budget'],
      ['plus', 'refused'],
    ]);
    expect(unavailable.cause).toEqual(refusal.freeQuota());
    expect(unavailable.message).toMatch(
      /^no model can take the request: max needs \d+ ms > 0 ms; plus refused \(quota-exhausted\)$/,
    );
    expect(reached).toEqual(['max', 'plus']);
  });
});

describe('per-request override', () => {
  it('a model in the context pins the request to it, with no fallback', async () => {
    const { send, reached, fallbacks } = chained(
      [
        { model: 'max', quota: perTwoMinutes(100) },
        { model: 'plus', quota: perTwoMinutes(100) },
        { model: 'turbo', quota: perTwoMinutes(100) },
      ],
      async (model) => {
        if (model === 'plus') throw refusal.freeQuota();
        return model;
      },
    );
    expect(await ask(send, 'turbo')).toBe('turbo');
    const error = await ask(send, 'plus').catch((e: unknown) => e);
    expect((error as ModelsUnavailableError).models.map((m) => m.model)).toEqual(['plus']);
    expect(reached).toEqual(['turbo', 'plus']);
    expect(fallbacks).toEqual([]);
  });
});
