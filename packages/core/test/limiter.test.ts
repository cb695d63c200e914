import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  InvalidArgumentError,
  isTollgateError,
  Limiter,
  type LimiterOptions,
  MemoryStore,
  type Permit,
  PermitStateError,
  RequestTooLargeError,
} from '../src/index.js';
import { createFakeClock } from '../src/testing.js';
import { track, used } from './support/permits.js';

function setup(options: Omit<LimiterOptions, 'clock'> & { start?: number }) {
  const { start = 0, ...rest } = options;
  const clock = createFakeClock(start);
  const limiter = new Limiter({ margin: { ms: 0 }, pacing: false, ...rest, clock });
  return { clock, limiter };
}

describe('Limiter: admission and waiting', () => {
  it('admits at once while every window has room, and books the tokens', async () => {
    const { limiter } = setup({ quota: { rpm: 10, tpm: 1000 } });
    const permit = await limiter.acquire({ tokens: 300 });
    expect(permit.tokens).toBe(300);
    expect(permit.waitedMs).toBe(0);
    expect(await used(limiter)).toEqual([1, 300]);
  });

  it('waits until the exact instant the oldest admission leaves the window', async () => {
    const { clock, limiter } = setup({
      quota: { windows: [{ unit: 'requests', limit: 2, windowMs: 1000 }] },
    });
    await limiter.acquire();
    await clock.advance(300);
    await limiter.acquire();
    const third = track(clock, limiter.acquire());
    await clock.advance(699);
    expect(third.permit).toBeUndefined();
    // one timer for the head (no polling), one for the leases of the two permits in flight
    expect(clock.pendingTimers()).toBe(2);
    await clock.advance(1);
    expect(third.at).toBe(1000);
    expect(third.permit?.waitedMs).toBe(700);
  });

  it('serves higher priorities first and equal priorities in arrival order', async () => {
    const { clock, limiter } = setup({
      quota: { windows: [{ unit: 'requests', limit: 1, windowMs: 100 }] },
    });
    await limiter.acquire();
    const order: string[] = [];
    const enqueue = (name: string, priority: number) =>
      limiter.acquire({ priority }).then(() => order.push(name));
    void enqueue('low-1', 0);
    void enqueue('high', 5);
    void enqueue('low-2', 0);
    void enqueue('urgent', 9);
    await clock.advance(400);
    expect(order).toEqual(['urgent', 'high', 'low-1', 'low-2']);
  });

  it('rejects at once when the computed wait exceeds maxWaitMs, saying how long it would be', async () => {
    const { clock, limiter } = setup({
      quota: { windows: [{ unit: 'requests', limit: 1, windowMs: 1000 }] },
    });
    await limiter.acquire();
    await clock.advance(200);
    const error = await limiter.acquire({ maxWaitMs: 500 }).catch((e: unknown) => e);
    expect(isTollgateError(error, 'TOLLGATE_WAIT_TIMEOUT')).toBe(true);
    if (!isTollgateError(error, 'TOLLGATE_WAIT_TIMEOUT')) return;
    expect(error.expectedWaitMs).toBe(800);
    expect(error.waitedMs).toBe(0);
    expect((await limiter.snapshot()).queued).toBe(0);
    expect(clock.pendingTimers()).toBe(1); // the lease of the permit in flight
  });

  it('times out a waiter behind others by its deadline, or as soon as its wait is known', async () => {
    const { clock, limiter } = setup({
      quota: { windows: [{ unit: 'requests', limit: 1, windowMs: 1000 }] },
    });
    await limiter.acquire();
    const head = track(clock, limiter.acquire());
    const short = track(clock, limiter.acquire({ maxWaitMs: 500 }));
    const long = track(clock, limiter.acquire({ maxWaitMs: 1500 }));
    await clock.advance(1500);
    expect(head.at).toBe(1000);
    expect(short.at).toBe(500);
    expect(short.error).toMatchObject({ code: 'TOLLGATE_WAIT_TIMEOUT', expectedWaitMs: undefined });
    // at 1000 it becomes the head: admission at 2000 means a 2000 ms wait, over its 1500
    expect(long.at).toBe(1000);
    expect(long.error).toMatchObject({ code: 'TOLLGATE_WAIT_TIMEOUT', expectedWaitMs: 2000 });
    expect(await used(limiter)).toEqual([1]);
  });

  it('an abort rejects at once with the reason, leaves the queue and holds nothing', async () => {
    const { clock, limiter } = setup({ quota: { rpm: 1, tpm: 1000 } });
    await limiter.acquire({ tokens: 100 });
    const controller = new AbortController();
    const waiting = track(clock, limiter.acquire({ tokens: 500, signal: controller.signal }));
    await clock.advance(100);
    expect((await limiter.snapshot()).queued).toBe(1);
    controller.abort(new Error('user left'));
    await clock.flush();
    expect(isTollgateError(waiting.error, 'TOLLGATE_WAIT_ABORTED')).toBe(true);
    expect((waiting.error as Error).cause).toEqual(new Error('user left'));
    expect(waiting.at).toBe(100);
    const snapshot = await limiter.snapshot();
    expect([snapshot.queued, snapshot.inFlight]).toEqual([0, 1]);
    expect(await used(limiter)).toEqual([1, 100]);
    expect(clock.pendingTimers()).toBe(1); // the lease of the permit in flight
  });

  it('rejects an already aborted signal without queueing', async () => {
    const { limiter } = setup({ quota: { rpm: 10 } });
    const error = await limiter
      .acquire({ signal: AbortSignal.abort('gone') })
      .catch((e: unknown) => e);
    expect(isTollgateError(error, 'TOLLGATE_WAIT_ABORTED')).toBe(true);
    expect(await used(limiter)).toEqual([0]);
  });

  it('rejects a request that can never fit, naming the window and its effective limit', async () => {
    const { limiter } = setup({ quota: { tpm: 10_000, tps: 1000 }, margin: { ms: 0, ratio: 0.1 } });
    const error = await limiter.acquire({ tokens: 950 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestTooLargeError);
    expect(error).toMatchObject({ window: 'tokens/1s', limit: 900, requested: 950 });
  });

  it('validates every acquire argument', async () => {
    const { limiter } = setup({ quota: { rpm: 10 } });
    const bad: unknown[] = [
      { tokens: -1 },
      { tokens: Number.NaN },
      { tokens: Number.POSITIVE_INFINITY },
      { tokens: { prompt: 10 } },
      { tokens: { prompt: -1, output: 2 } },
      { priority: Number.NaN },
      { maxWaitMs: -5 },
      { tokenz: 5 },
      null,
    ];
    for (const options of bad) {
      const error = await limiter.acquire(options as never).catch((e: unknown) => e);
      expect(error, JSON.stringify(options)).toBeInstanceOf(InvalidArgumentError);
    }
    expect(await used(limiter)).toEqual([0]);
  });

  it('rounds fractional tokens up', async () => {
    const { limiter } = setup({ quota: { tpm: 1000 } });
    expect((await limiter.acquire({ tokens: 10.2 })).tokens).toBe(11);
  });

  it('two limiters on one store and key share one quota', async () => {
    const clock = createFakeClock();
    const store = new MemoryStore({ clock });
    const options = {
      quota: { rpm: 2 },
      store,
      clock,
      margin: { ms: 0 },
      pacing: false,
      key: 'acct',
    };
    const a = new Limiter(options);
    const b = new Limiter(options);
    await a.acquire();
    await b.acquire();
    const third = track(clock, a.acquire());
    await clock.advance(59_999);
    expect(third.permit).toBeUndefined();
    await clock.advance(1);
    expect(third.at).toBe(60_000);
  });

  it('caps permits in flight', async () => {
    const { clock, limiter } = setup({ quota: { rpm: 100 }, maxInFlight: 2 });
    const first = await limiter.acquire();
    await limiter.acquire();
    const third = track(clock, limiter.acquire());
    await clock.advance(10_000);
    expect(third.permit).toBeUndefined();
    first.settle();
    await clock.flush();
    expect(third.at).toBe(10_000);
  });
});

describe('Limiter: reservations and accounting', () => {
  it('settling twice, or after cancel, throws; so does cancelling after settle', async () => {
    const { limiter } = setup({ quota: { rpm: 10 } });
    const settled = await limiter.acquire();
    settled.settle();
    expect(() => settled.settle()).toThrow(PermitStateError);
    expect(() => settled.cancel()).toThrow(PermitStateError);
    const cancelled = await limiter.acquire();
    cancelled.cancel();
    expect(() => cancelled.settle()).toThrow(PermitStateError);
    expect(cancelled.state).toBe('cancelled');
  });

  it('rejects malformed usage without ending the permit', async () => {
    const { limiter } = setup({ quota: { tpm: 1000 } });
    const permit = await limiter.acquire({ tokens: 100 });
    expect(() => permit.settle({ promptTokens: -1 })).toThrow(InvalidArgumentError);
    expect(() => permit.settle({ prompt_tokens: 5 } as never)).toThrow(InvalidArgumentError);
    expect(permit.state).toBe('active');
    permit.settle({ totalTokens: 50 });
    expect(permit.state).toBe('settled');
  });

  it('cancel refunds the request and its tokens, and admits the next waiter', async () => {
    const { clock, limiter } = setup({ quota: { rpm: 1, tpm: 1000 } });
    const permit = await limiter.acquire({ tokens: 800 });
    const next = track(clock, limiter.acquire({ tokens: 800 }));
    await clock.advance(10);
    permit.cancel();
    await clock.flush();
    expect(next.at).toBe(10);
    expect(await used(limiter)).toEqual([1, 800]);
  });

  it('reserved accounting keeps the admission cost booked whatever the usage says', async () => {
    const { limiter } = setup({ quota: { tpm: 10_000 } });
    const permit = await limiter.acquire({ tokens: { prompt: 1000, output: 2000 } });
    expect(permit.tokens).toBe(3000);
    permit.settle({ promptTokens: 1000, completionTokens: 10 });
    expect(await used(limiter)).toEqual([3000]);
  });

  it('reserved accounting learns the prompt bias and books later estimates by it', async () => {
    const { limiter } = setup({ quota: { tpm: 1_000_000 } });
    for (let i = 0; i < 40; i++) {
      const permit = await limiter.acquire({ tokens: { prompt: 1000, output: 0 } });
      permit.settle({ promptTokens: 1500, completionTokens: 0 });
    }
    const { promptBias } = await limiter.snapshot();
    // a steady ratio, with the small-sample headroom of 10% / √40
    expect(promptBias).toBeCloseTo(1.5 * (1 + 0.1 / Math.sqrt(40)), 12);
    const permit = await limiter.acquire({ tokens: { prompt: 1000, output: 500 } });
    expect(permit.tokens).toBe(Math.ceil(1000 * promptBias) + 500);
    expect((await limiter.acquire({ tokens: 1000 })).tokens).toBe(1000); // a plain count is exact
  });

  it('books a queued estimate at the bias learned while it waited', async () => {
    const { clock, limiter } = setup({ quota: { rpm: 3, tpm: 100_000 } });
    const admitted: Permit[] = [];
    for (let i = 0; i < 3; i++) {
      admitted.push(await limiter.acquire({ tokens: { prompt: 1000, output: 0 } }));
    }
    const queued = track(clock, limiter.acquire({ tokens: { prompt: 1000, output: 100 } }));
    // three settlements teach it: bias 1 → 0.5 × (1 + 10% / √3)
    for (const permit of admitted) permit.settle({ promptTokens: 500, completionTokens: 0 });
    await clock.advance(60_000);
    expect(queued.permit?.tokens).toBe(Math.ceil(500 * (1 + 0.1 / Math.sqrt(3))) + 100);
  });

  it('books a scattered prompt ratio at its recent peak', async () => {
    const { clock, limiter } = setup({ quota: { tpm: 1_000_000 } });
    for (const reported of [800, 1200, 800, 1200, 800, 1200, 800, 1200]) {
      const permit = await limiter.acquire({ tokens: { prompt: 1000, output: 0 } });
      permit.settle({ promptTokens: reported });
      await clock.advance(1);
    }
    // the mean is 1.0, but a request booked at 1.0 would be under-booked half the time
    expect((await limiter.snapshot()).promptBias).toBeCloseTo(1.2 * (1 + 0.1 / Math.sqrt(8)), 12);
  });

  it('keeps the second-highest ratio of the last 256 settlements, then lets it go', async () => {
    const { limiter } = setup({ quota: { tpm: 1_000_000_000 } });
    const settleAt = async (reported: number) => {
      const permit = await limiter.acquire({ tokens: { prompt: 1000, output: 0 } });
      permit.settle({ promptTokens: reported });
    };
    const bias = async () => (await limiter.snapshot()).promptBias;
    const headroom = (n: number) => 1 + 0.1 / Math.sqrt(n);
    await settleAt(1300);
    await settleAt(1300);
    for (let i = 0; i < 254; i++) await settleAt(1000 + (i % 7));
    // both 1.3s are still among the last 256
    expect(await bias()).toBeCloseTo(1.3 * headroom(256), 12);
    await settleAt(1000);
    // one left: the second-highest is now the highest of the rest, 1.006
    expect(await bias()).toBeCloseTo(1.006 * headroom(257), 12);
    await settleAt(1400); // and the other 1.3 leaves
    // one high ratio is set aside (it may be a broken report) …
    expect(await bias()).toBeCloseTo(1.006 * headroom(258), 12);
    await settleAt(1400);
    // … two are followed
    expect(await bias()).toBeCloseTo(1.4 * headroom(259), 12);
  });

  it('never lets the learned bias make a request too large to fit', async () => {
    const { clock, limiter } = setup({ quota: { tpm: 1000 } });
    for (let i = 0; i < 30; i++) {
      const permit = await limiter.acquire({ tokens: { prompt: 10, output: 0 } });
      permit.settle({ promptTokens: 40 });
      await clock.advance(60_000);
    }
    expect((await limiter.snapshot()).promptBias).toBeGreaterThan(3);
    expect((await limiter.acquire({ tokens: { prompt: 900, output: 0 } })).tokens).toBe(1000);
  });

  it('actual accounting refunds what was not used', async () => {
    const { clock, limiter } = setup({ quota: { tpm: 1000, accounting: 'actual' } });
    const permit = await limiter.acquire({ tokens: 900 });
    const next = track(clock, limiter.acquire({ tokens: 600 }));
    await clock.advance(5);
    expect(next.permit).toBeUndefined();
    permit.settle({ promptTokens: 200, completionTokens: 100 });
    await clock.flush();
    expect(next.at).toBe(5);
    expect(await used(limiter)).toEqual([900]);
  });

  it('actual accounting charges an overrun at the admission instant, and the next admissions wait', async () => {
    const { clock, limiter } = setup({ quota: { tpm: 1000, accounting: 'actual' } });
    const permit = await limiter.acquire({ tokens: 100 });
    permit.settle({ totalTokens: 1200 });
    await clock.advance(1000);
    expect(await used(limiter)).toEqual([1200]);
    const next = track(clock, limiter.acquire({ tokens: 1 }));
    await clock.advance(58_999);
    expect(next.permit).toBeUndefined();
    await clock.advance(1);
    expect(next.at).toBe(60_000);
  });

  it('a permit never settled keeps its estimate booked', async () => {
    const { clock, limiter } = setup({ quota: { tpm: 1000, accounting: 'actual' } });
    await limiter.acquire({ tokens: 700 });
    await clock.advance(30_000);
    expect(await used(limiter)).toEqual([700]);
    expect((await limiter.snapshot()).inFlight).toBe(1);
  });
});

describe('Limiter: pacing, packing, margin', () => {
  it('paces 10 RPS at one admission every 100 ms, not ten at once', async () => {
    const { clock, limiter } = setup({ quota: { rpm: 600, rps: 10 }, pacing: true });
    const times: number[] = [];
    for (let i = 0; i < 12; i++) void limiter.acquire().then(() => times.push(clock.now()));
    await clock.advance(2000);
    expect(times).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100]);
  });

  it('paces at the slowest window of a unit, so no window runs above its average rate', async () => {
    // 300 RPM is 5 per second on average: one every 200 ms, although 10 RPS would allow 100 ms
    const { clock, limiter } = setup({ quota: { rpm: 300, rps: 10 }, pacing: true });
    const times: number[] = [];
    for (let i = 0; i < 6; i++) void limiter.acquire().then(() => times.push(clock.now()));
    await clock.advance(2000);
    expect(times).toEqual([0, 200, 400, 600, 800, 1000]);
  });

  it('paces tokens at the token rate', async () => {
    const { clock, limiter } = setup({ quota: { tps: 1000 }, pacing: true });
    const times: number[] = [];
    for (const tokens of [500, 250, 250, 100]) {
      void limiter.acquire({ tokens }).then(() => times.push(clock.now()));
    }
    await clock.advance(2000);
    expect(times).toEqual([0, 500, 750, 1000]);
  });

  it('without pacing admits a whole window at once', async () => {
    const { clock, limiter } = setup({ quota: { rps: 10 } });
    const times: number[] = [];
    for (let i = 0; i < 12; i++) void limiter.acquire().then(() => times.push(clock.now()));
    await clock.advance(2000);
    expect(times).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1000, 1000]);
  });

  it('backfills a small request while a large head waits, without delaying the head', async () => {
    const { clock, limiter } = setup({ quota: { tps: 1000 } });
    await limiter.acquire({ tokens: 600 });
    await clock.advance(500);
    const head = track(clock, limiter.acquire({ tokens: 700 }));
    const small = track(clock, limiter.acquire({ tokens: 300 }));
    await clock.advance(1000);
    expect(small.at).toBe(500);
    expect(head.at).toBe(1000);
  });

  it('backfills a request that delays the head by at most packing.maxDelayMs in all', async () => {
    const { clock, limiter } = setup({ quota: { tps: 1000 }, packing: { maxDelayMs: 500 } });
    await limiter.acquire({ tokens: 600 });
    await clock.advance(500);
    // the head (900) could start at 1000, when the 600 leaves; the 200 moves it to 1500
    const head = track(clock, limiter.acquire({ tokens: 900 }));
    const first = track(clock, limiter.acquire({ tokens: 200 }));
    await clock.advance(200);
    // 200 free at 700: a 150 fits, but would move the head to 1700, past 500 + 500 + 500
    const second = track(clock, limiter.acquire({ tokens: 150 }));
    await clock.advance(2000);
    expect(first.at).toBe(500);
    expect(head.at).toBe(1500);
    expect(second.at).toBeGreaterThanOrEqual(1500);
  });

  it('with packing.maxDelayMs 0, backfilling never delays the head', async () => {
    const { clock, limiter } = setup({ quota: { tps: 1000 }, packing: { maxDelayMs: 0 } });
    await limiter.acquire({ tokens: 600 });
    await clock.advance(500);
    const head = track(clock, limiter.acquire({ tokens: 900 }));
    const small = track(clock, limiter.acquire({ tokens: 200 }));
    await clock.advance(2000);
    expect(head.at).toBe(1000);
    expect(small.at).toBe(2000); // when the head's 900 leaves
  });

  it('a lower-priority waiter never delays a higher-priority head', async () => {
    const { clock, limiter } = setup({ quota: { tps: 1000 } });
    await limiter.acquire({ tokens: 600 });
    await clock.advance(500);
    const head = track(clock, limiter.acquire({ tokens: 900, priority: 1 }));
    await clock.advance(100);
    const low = track(clock, limiter.acquire({ tokens: 200, priority: 0 }));
    await clock.advance(2000);
    expect(head.at).toBe(1000);
    expect(low.at).toBe(2000);
  });

  it('offers room the head cannot use to its own priority before a lower one', async () => {
    const { clock, limiter } = setup({ quota: { tps: 1000 } });
    await limiter.acquire({ tokens: 600 });
    await clock.advance(10);
    await limiter.acquire({ tokens: 400 });
    await clock.advance(90);
    const head = track(clock, limiter.acquire({ tokens: 700, priority: 1 }));
    const low = track(clock, limiter.acquire({ tokens: 300, priority: 0 }));
    const high = track(clock, limiter.acquire({ tokens: 200, priority: 1 }));
    // at 1000 the 600 leaves: room for the 300 or the 200 beside the head (due at 1010), not both
    await clock.advance(2000);
    expect([high.at, head.at, low.at]).toEqual([1000, 1010, 2000]);
  });

  it('a lower priority still uses room the head cannot, when that does not delay it', async () => {
    const { clock, limiter } = setup({ quota: { tps: 1000 } });
    await limiter.acquire({ tokens: 600 });
    await clock.advance(500);
    const head = track(clock, limiter.acquire({ tokens: 900, priority: 1 }));
    const low = track(clock, limiter.acquire({ tokens: 100, priority: 0 }));
    await clock.advance(1000);
    expect([low.at, head.at]).toEqual([500, 1000]);
  });

  it('backfilling never pushes the head past its maxWaitMs', async () => {
    const { clock, limiter } = setup({ quota: { tps: 1000 } });
    await limiter.acquire({ tokens: 600 });
    await clock.advance(500);
    const head = track(clock, limiter.acquire({ tokens: 900, maxWaitMs: 600 }));
    const small = track(clock, limiter.acquire({ tokens: 200 }));
    await clock.advance(2000);
    expect(head.error).toBeUndefined();
    expect(head.at).toBe(1000);
    expect(small.at).toBe(2000);
  });

  it('without packing, the small request waits behind the head', async () => {
    const { clock, limiter } = setup({ quota: { tps: 1000 }, packing: false });
    await limiter.acquire({ tokens: 600 });
    await clock.advance(500);
    const head = track(clock, limiter.acquire({ tokens: 700 }));
    const small = track(clock, limiter.acquire({ tokens: 300 }));
    await clock.advance(1000);
    expect([head.at, small.at]).toEqual([1000, 1000]);
  });

  it('a margin in ms lengthens every window', async () => {
    const { clock, limiter } = setup({ quota: { rps: 1 }, margin: { ms: 50 } });
    await limiter.acquire();
    const next = track(clock, limiter.acquire());
    await clock.advance(1049);
    expect(next.permit).toBeUndefined();
    await clock.advance(1);
    expect(next.at).toBe(1050);
  });

  it('a margin ratio lowers every limit', async () => {
    const { limiter } = setup({ quota: { rpm: 100, tpm: 1000 }, margin: { ratio: 0.05 } });
    expect((await limiter.snapshot()).windows.map((w) => w.limit)).toEqual([95, 950]);
  });
});

describe('Limiter: provider feedback', () => {
  it('pause holds every limiter sharing the quota until it ends', async () => {
    const clock = createFakeClock();
    const store = new MemoryStore({ clock });
    const options = { quota: { rpm: 100 }, store, clock, margin: { ms: 0 }, pacing: false };
    const a = new Limiter(options);
    const b = new Limiter(options);
    await a.pause(5000);
    const held = track(clock, b.acquire());
    await clock.advance(4999);
    expect(held.permit).toBeUndefined();
    expect((await b.snapshot()).pausedForMs).toBe(1);
    await clock.advance(1);
    expect(held.at).toBe(5000);
  });

  it('throttle lowers the effective limit for a while', async () => {
    const { clock, limiter } = setup({
      quota: { windows: [{ unit: 'requests', limit: 10, windowMs: 60_000 }] },
    });
    await limiter.throttle(0.3, 10_000);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) void limiter.acquire().then(() => times.push(clock.now()));
    await clock.advance(20_000);
    expect(times).toEqual([0, 0, 0, 10_000, 10_000]);
    expect((await limiter.snapshot()).throttle).toBeUndefined();
  });

  it('widens the margin for every limiter sharing the quota after a refusal it did not expect, then lets it decay', async () => {
    const clock = createFakeClock();
    const store = new MemoryStore({ clock });
    const options = {
      quota: { rps: 1 },
      store,
      clock,
      pacing: false,
      margin: { ms: 0, widen: { stepMs: 100, maxMs: 150, decayMs: 10_000 } },
    };
    const a = new Limiter(options);
    const b = new Limiter(options);
    const widened: number[] = [];
    a.on('widened', ({ widenedMs }) => widened.push(widenedMs));
    await a.heed({ pauseMs: 0, widenMargin: true });
    await a.heed({ widenMargin: true });
    expect(widened).toEqual([100, 150]); // a step, then up to the maximum
    expect((await b.snapshot()).widenedMs).toBe(150);
    await b.acquire(); // booked 150 ms late: it leaves the 1 s window at 1150
    const next = track(clock, b.acquire());
    await clock.advance(1149);
    expect(next.permit).toBeUndefined();
    await clock.advance(1);
    expect(next.at).toBe(1150);
    await clock.advance(10_000);
    expect((await a.snapshot()).widenedMs).toBe(0); // decayed
  });

  it('never widens with margin.widen false', async () => {
    const { limiter } = setup({ quota: { rps: 1 }, margin: { ms: 0, widen: false } });
    const widened: number[] = [];
    limiter.on('widened', ({ widenedMs }) => widened.push(widenedMs));
    expect(await limiter.widenMargin()).toBe(0);
    await limiter.heed({ widenMargin: true });
    expect(widened).toEqual([]);
    expect((await limiter.snapshot()).widenedMs).toBe(0);
  });

  it('moves a booking to when its request departed, so the window counts it from then', async () => {
    const { clock, limiter } = setup({ quota: { rps: 2, tpm: 10_000, accounting: 'actual' } });
    const lags: number[] = [];
    limiter.on('departed', ({ lagMs }) => lags.push(lagMs));
    const first = await limiter.acquire({ tokens: 100 });
    await limiter.acquire({ tokens: 100 });
    await clock.advance(400); // a slow handshake: the first request leaves only now
    first.departed();
    expect(lags).toEqual([400]);
    await clock.advance(600); // a second after admission, 600 ms after departure
    const third = track(clock, limiter.acquire({ tokens: 100 }));
    await clock.flush();
    expect(third.permit).toBeDefined(); // the second admission left the 1 s window
    const fourth = track(clock, limiter.acquire({ tokens: 100 }));
    await clock.advance(399);
    expect(fourth.permit).toBeUndefined(); // the departed one still counts
    await clock.advance(1);
    expect(fourth.at).toBe(1400);
    first.settle({ totalTokens: 30 }); // settles where the booking moved
    expect((await used(limiter))[1]).toBe(330);
  });

  it('ignores departed() once a permit has ended', async () => {
    const { clock, limiter } = setup({ quota: { rps: 1 } });
    const permit = await limiter.acquire();
    permit.cancel();
    await clock.advance(10);
    permit.departed();
    expect(await used(limiter)).toEqual([0]);
  });

  it('heeds feedback: pause and throttle at once, for every limiter of the quota', async () => {
    const store = new MemoryStore({ clock: createFakeClock() });
    const quota = { rpm: 10 };
    const a = new Limiter({ quota, store, pacing: false });
    const b = new Limiter({ quota, store, pacing: false });
    await a.heed({ pauseMs: 2000, throttle: { factor: 0.5, durationMs: 5000 } });
    const snapshot = await b.snapshot();
    expect(snapshot.pausedForMs).toBe(2000);
    expect(snapshot.throttle).toEqual({ factor: 0.5, remainingMs: 5000 });
    await a.heed({});
    expect((await b.snapshot()).pausedForMs).toBe(2000);
  });

  it('heed rejects bad feedback, but a store that fails to record it is an error event', async () => {
    const { limiter } = setup({ quota: { rpm: 10 } });
    await expect(limiter.heed({ pauseMs: -1 })).rejects.toThrow(
      'feedback.pauseMs: must be a finite number >= 0, got -1',
    );
    await expect(limiter.heed({ throttle: { factor: 2, durationMs: 1 } })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(limiter.heed({ pause: 1 } as never)).rejects.toBeInstanceOf(InvalidArgumentError);

    const down = new MemoryStore();
    down.pause = () => {
      throw new Error('store down');
    };
    const failing = new Limiter({ quota: { rpm: 10 }, store: down });
    const errors: unknown[] = [];
    failing.on('error', ({ error }) => errors.push(error));
    await expect(failing.heed({ pauseMs: 100 })).resolves.toBeUndefined();
    expect(errors).toEqual([new Error('store down')]);
  });

  it('validates pause and throttle arguments', async () => {
    const { limiter } = setup({ quota: { rpm: 1 } });
    await expect(limiter.pause(-1)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(limiter.pause(Number.NaN)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(limiter.throttle(0, 10)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(limiter.throttle(1.5, 10)).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('Limiter: observability and lifecycle', () => {
  it('emits admitted, waiting, settled, cancelled, paused and rejected events', async () => {
    const { clock, limiter } = setup({ quota: { rpm: 1 } });
    const seen: string[] = [];
    for (const event of [
      'admitted',
      'waiting',
      'settled',
      'cancelled',
      'paused',
      'rejected',
    ] as const) {
      limiter.on(event, () => seen.push(event));
    }
    (await limiter.acquire()).settle();
    const waiting = limiter.acquire({ maxWaitMs: 10 });
    await waiting.catch(() => undefined);
    await limiter.pause(1);
    await clock.advance(60_000);
    (await limiter.acquire()).cancel();
    expect(seen).toEqual(['admitted', 'settled', 'rejected', 'paused', 'admitted', 'cancelled']);
    const unsubscribe = limiter.on('admitted', () => seen.push('again'));
    unsubscribe();
  });

  it('reports a listener that throws as an error event, not to the caller', async () => {
    const { limiter } = setup({ quota: { rpm: 5 } });
    const errors: unknown[] = [];
    limiter.on('error', ({ error }) => errors.push(error));
    limiter.on('admitted', () => {
      throw new Error('listener bug');
    });
    await limiter.acquire();
    expect(errors).toEqual([new Error('listener bug')]);
  });

  it('snapshot reports usage, headroom, queue and in-flight', async () => {
    const { limiter } = setup({ quota: { rpm: 2, tpm: 1000 } });
    await limiter.acquire({ tokens: 400 });
    await limiter.acquire({ tokens: 100 });
    void limiter.acquire({ tokens: 100 });
    const snapshot = await limiter.snapshot();
    expect(snapshot.windows).toEqual([
      { name: 'requests/1m', unit: 'requests', windowMs: 60_000, limit: 2, used: 2, remaining: 0 },
      {
        name: 'tokens/1m',
        unit: 'tokens',
        windowMs: 60_000,
        limit: 1000,
        used: 500,
        remaining: 500,
      },
    ]);
    expect([snapshot.queued, snapshot.inFlight, snapshot.pausedForMs]).toEqual([1, 2, 0]);
  });

  it('close rejects every waiter and every later acquire, and leaves no timer', async () => {
    const { clock, limiter } = setup({ quota: { rpm: 1 } });
    const active = await limiter.acquire();
    const waiting = track(clock, limiter.acquire());
    await clock.flush();
    limiter.close();
    await clock.flush();
    expect(isTollgateError(waiting.error, 'TOLLGATE_LIMITER_CLOSED')).toBe(true);
    await expect(limiter.acquire()).rejects.toMatchObject({ code: 'TOLLGATE_LIMITER_CLOSED' });
    expect(clock.pendingTimers()).toBe(0);
    active.settle();
  });
});

describe('Limiter: configuration', () => {
  const quota = { rpm: 10 };
  it.each([
    ['an unknown option', { quota, rate: 5 }],
    ['a bad key', { quota, key: '' }],
    ['a negative margin', { quota, margin: { ms: -1 } }],
    ['a margin ratio of 1', { quota, margin: { ratio: 1 } }],
    ['a margin that leaves no request', { quota: { rpm: 1 }, margin: { ratio: 0.5 } }],
    ['an unknown margin key', { quota, margin: { pct: 1 } }],
    ['a fractional maxInFlight', { quota, maxInFlight: 1.5 }],
    ['a zero maxInFlight', { quota, maxInFlight: 0 }],
    ['a bad lookahead', { quota, packing: { lookahead: 0 } }],
    ['a negative packing.maxDelayMs', { quota, packing: { maxDelayMs: -1 } }],
    ['an infinite packing.maxDelayMs', { quota, packing: { maxDelayMs: Infinity } }],
    ['an unknown packing key', { quota, packing: { slack: 5 } }],
    ['a non-object packing', { quota, packing: 16 }],
    ['a negative maxWaitMs', { quota, maxWaitMs: -1 }],
    ['a non-boolean pacing', { quota, pacing: 'yes' }],
    ['a zero leaseMs', { quota, leaseMs: 0 }],
    ['a negative leaseMs', { quota, leaseMs: -1 }],
    ['a NaN leaseMs', { quota, leaseMs: Number.NaN }],
    ['a string leaseMs', { quota, leaseMs: '600000' }],
  ])('rejects %s at construction', (_name, options) => {
    expect(() => new Limiter(options as never)).toThrow(ConfigurationError);
  });
});
