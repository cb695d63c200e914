import { isTollgateError, limit, pipeline, run } from '@tollgate/core';
import { createFakeClock } from '@tollgate/core/testing';
import { describe, expect, it } from 'vitest';
import { type ChainEvents, fallback, ModelsUnavailableError, modelChain } from '../src/index.js';
import { chained, perTwoMinutes, type Request, refusal, request } from './helpers.js';

const ask = (send: ReturnType<typeof chained>['send'], model?: string) =>
  run(send, request(), model === undefined ? {} : { model });

describe('proactive fallback', () => {
  it('spills a request the preferred model has not admitted within spillAfterMs, and returns once it frees', async () => {
    const { send, clock, reached, fallbacks, served } = chained([
      { model: 'max', quota: perTwoMinutes(2), spillAfterMs: 1_000 },
      { model: 'plus', quota: perTwoMinutes(100) },
    ]);
    expect([await ask(send), await ask(send)]).toEqual(['max', 'max']);
    const third = ask(send);
    await clock.advance(999);
    expect(reached).toEqual(['max', 'max']);
    await clock.advance(1);
    expect(await third).toBe('plus');
    // nothing was sent to the saturated model: it was passed over, not refused
    expect(reached).toEqual(['max', 'max', 'plus']);
    expect(fallbacks).toEqual([
      { from: 'max', to: 'plus', reason: { kind: 'spilled', afterMs: 1_000 } },
    ]);
    expect(served[2]!.skipped).toEqual([
      { model: 'max', reason: { kind: 'spilled', afterMs: 1_000 } },
    ]);

    await clock.advance(121_000);
    expect(await ask(send)).toBe('max');
    expect(served.map((event) => event.model)).toEqual(['max', 'max', 'plus', 'max']);
    expect(served[3]!.skipped).toEqual([]);
  });

  it('waits for the preferred model when it admits within spillAfterMs', async () => {
    const { send, clock, fallbacks } = chained([
      { model: 'max', quota: perTwoMinutes(1), spillAfterMs: 200_000 },
      { model: 'plus', quota: perTwoMinutes(100) },
    ]);
    expect(await ask(send)).toBe('max');
    const second = ask(send);
    await clock.advance(121_000);
    expect(await second).toBe('max');
    expect(fallbacks).toEqual([]);
  });

  it('serves a spilled request by the preferred model when it frees first, booking nothing on the other', async () => {
    const { chain, send, clock, reached, served } = chained([
      { model: 'max', quota: perTwoMinutes(1) },
      { model: 'plus', quota: perTwoMinutes(1) },
    ]);
    expect(await ask(send)).toBe('max'); // max full until 120 s
    await clock.advance(10_000);
    expect(await ask(send, 'plus')).toBe('plus'); // plus full until 130 s
    const waiting = ask(send);
    await clock.advance(1_000); // spilled: waits for both
    expect((await chain.limiter('plus').snapshot()).queued).toBe(1);
    await clock.advance(110_000); // max frees at 120 s, plus at 130 s
    expect(await waiting).toBe('max');
    expect(reached).toEqual(['max', 'plus', 'max']);
    expect(served[2]).toEqual({
      model: 'max',
      skipped: [],
    });
    const plus = await chain.limiter('plus').snapshot();
    expect(plus.queued).toBe(0);
    expect(plus.windows.map((w) => w.used)).toEqual([1, expect.any(Number)]);
  });

  it('three models at once serve three times one, each its share, and the preferred one first', async () => {
    const { send, clock, served } = chained([
      { model: 'max', quota: perTwoMinutes(10) },
      { model: 'plus', quota: perTwoMinutes(10) },
      { model: 'turbo', quota: perTwoMinutes(10) },
    ]);
    const started = clock.now();
    const finished: number[] = [];
    const batch = Array.from({ length: 60 }, () =>
      ask(send).then((model) => {
        finished.push(clock.now() - started);
        return model;
      }),
    );
    await clock.advance(125_000);
    const models = await Promise.all(batch);
    const count = (model: string) => models.filter((each) => each === model).length;
    expect([count('max'), count('plus'), count('turbo')]).toEqual([20, 20, 20]);
    // two windows of three quotas (+ 2 s of spilling, + the 10 ms margin), not the four windows
    // of the last model's that deciding once gives
    expect(Math.max(...finished)).toBeLessThanOrEqual(122_010);
    // the first ten went to the preferred model without waiting
    expect(models.slice(0, 10)).toEqual(Array(10).fill('max'));
    expect(served).toHaveLength(60);
  });

  it('gives up on a model at its maxWaitMs — at once when its limiter knows — and goes on', async () => {
    const { send, reached, fallbacks } = chained([
      { model: 'max', quota: perTwoMinutes(1), maxWaitMs: 1_000, spillAfterMs: 60_000 },
      { model: 'plus', quota: perTwoMinutes(100) },
    ]);
    expect(await ask(send)).toBe('max');
    expect(await ask(send)).toBe('plus'); // no clock advance: the limiter knew
    expect(reached).toEqual(['max', 'plus']);
    expect(fallbacks).toHaveLength(1);
    const { reason } = fallbacks[0]!;
    expect(reason).toMatchObject({ kind: 'over-budget', maxWaitMs: 1_000 });
    expect((reason as { expectedWaitMs: number }).expectedWaitMs).toBeGreaterThan(1_000);
  });

  it('a request larger than a model can ever hold goes to one whose quota holds it', async () => {
    const { send, reached, served } = chained([
      { model: 'small', quota: { windows: [{ unit: 'tokens', limit: 50, windowMs: 60_000 }] } },
      { model: 'large', quota: perTwoMinutes(100) },
    ]);
    // the default estimate reserves the prompt and 100 output tokens: more than 50
    expect(await ask(send)).toBe('large');
    expect(reached).toEqual(['large']);
    expect(served[0]!.skipped).toEqual([
      {
        model: 'small',
        reason: {
          kind: 'too-large',
          window: expect.any(String),
          limit: 50,
          requested: expect.any(Number),
        },
      },
    ]);
  });

  it('an abort while waiting for two models stops both waits and books nothing', async () => {
    const { chain, send, clock, reached } = chained([
      { model: 'max', quota: perTwoMinutes(1) },
      { model: 'plus', quota: perTwoMinutes(1) },
    ]);
    expect(await ask(send)).toBe('max');
    expect(await ask(send, 'plus')).toBe('plus');
    const controller = new AbortController();
    const waiting = run(send, request(), { signal: controller.signal }).catch((e: unknown) => e);
    await clock.advance(1_000);
    expect((await chain.limiter('max').snapshot()).queued).toBe(1);
    expect((await chain.limiter('plus').snapshot()).queued).toBe(1);
    controller.abort(new Error('caller gave up'));
    const error = await waiting;
    expect(isTollgateError(error, 'TOLLGATE_WAIT_ABORTED')).toBe(true);
    for (const model of ['max', 'plus']) {
      const snapshot = await chain.limiter(model).snapshot();
      expect([snapshot.queued, snapshot.inFlight, snapshot.windows[0]!.used]).toEqual([0, 0, 1]);
    }
    expect(reached).toEqual(['max', 'plus']);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('keeps each call on its own way down the chain (ai-fallback shares one index for all)', async () => {
    const chain = modelChain({
      provider: 'dashscope',
      clock: createFakeClock(),
      models: [
        { model: 'max', quota: perTwoMinutes(100) },
        { model: 'plus', quota: perTwoMinutes(100) },
      ],
    });
    // max refuses the long prompts only: a refusal is the request's, not the next caller's
    const send = pipeline<Request, string>(
      fallback(chain),
      limit(chain.limiterFor),
    )(async (req, context) => {
      if (context.model === 'max' && req.messages[0]!.content === 'long') throw refusal.freeQuota();
      return context.model!;
    });
    const long = { ...request(), messages: [{ role: 'user' as const, content: 'long' }] };
    const served = await Promise.all([
      run(send, long),
      run(send, request()),
      run(send, long),
      run(send, request()),
    ]);
    expect(served).toEqual(['plus', 'max', 'plus', 'max']);
  });
});

describe('reactive fallback', () => {
  it('moves on when a model says its quota is exhausted, and leaves it out until probeAfterMs', async () => {
    const clock = createFakeClock();
    let exhausted = true;
    const { chain, send, reached, fallbacks } = chained(
      [
        { model: 'max', quota: perTwoMinutes(100) },
        { model: 'plus', quota: perTwoMinutes(100) },
      ],
      async (model) => {
        if (model === 'max' && exhausted) throw refusal.freeQuota();
        return model;
      },
      { probeAfterMs: 60_000 },
      clock,
    );
    const out: Array<ChainEvents['out']> = [];
    chain.on('out', (event) => out.push(event));
    expect(await ask(send)).toBe('plus');
    expect(reached).toEqual(['max', 'plus']);
    expect(fallbacks).toHaveLength(1);
    expect(fallbacks[0]!.reason).toMatchObject({
      kind: 'refused',
      classification: { kind: 'quota-exhausted' },
    });
    expect(out).toMatchObject([{ model: 'max', forMs: 60_000 }]);
    // one refusal, not one per request: the next ones are not sent to max
    expect([await ask(send), await ask(send)]).toEqual(['plus', 'plus']);
    expect(reached).toEqual(['max', 'plus', 'plus', 'plus']);
    // after probeAfterMs the next request probes it
    exhausted = false;
    await clock.advance(60_000);
    expect(await ask(send)).toBe('max');
    // pinned to a model that is out: the typed error at once, nothing sent
    exhausted = true;
    expect(await ask(send, 'plus')).toBe('plus');
    await expect(ask(send)).resolves.toBe('plus');
    const pinned = await ask(send, 'max').catch((e: unknown) => e);
    expect(pinned).toBeInstanceOf(ModelsUnavailableError);
    expect(reached.filter((model) => model === 'max')).toHaveLength(3);
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
    );
    // context-length is in the default fallbackOn
    expect(await ask(send)).toBe('long');
    expect(reached).toEqual(['max', 'long']);
    expect(served[0]!.skipped.map(({ model, reason }) => [model, reason.kind])).toEqual([
      ['max', 'refused'],
      ['turbo', 'context-window'],
      ['unknown-window', 'context-window'],
    ]);
  });

  it('does not fall back on a bad request, nor on a kind not in fallbackOn', async () => {
    const cases = [
      { refuse: refusal.badRequest, fallbackOn: undefined },
      { refuse: refusal.tooLong, fallbackOn: ['quota-exhausted' as const] },
    ];
    for (const { refuse, fallbackOn } of cases) {
      const failure = refuse();
      const { send, reached, fallbacks } = chained(
        [
          { model: 'max', quota: perTwoMinutes(100), contextWindow: 8_000 },
          { model: 'plus', quota: perTwoMinutes(100), contextWindow: 128_000 },
        ],
        async () => {
          throw failure;
        },
        fallbackOn === undefined ? {} : { fallbackOn },
      );
      await expect(ask(send)).rejects.toBe(failure);
      expect(reached).toEqual(['max']);
      expect(fallbacks).toEqual([]);
    }
  });

  it('a request too long for every model known to be larger: the refusal itself goes up', async () => {
    const failure = refusal.tooLong();
    const { send, reached } = chained(
      [
        { model: 'max', quota: perTwoMinutes(100), contextWindow: 128_000 },
        { model: 'plus', quota: perTwoMinutes(100), contextWindow: 32_000 },
        { model: 'unknown-window', quota: perTwoMinutes(100) },
      ],
      async () => {
        throw failure;
      },
    );
    await expect(ask(send)).rejects.toBe(failure);
    expect(reached).toEqual(['max']);
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
