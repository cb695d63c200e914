import { describe, expect, it } from 'vitest';
import {
  type Call,
  Limiter,
  type LimiterEvents,
  type LimiterOptions,
  limit,
  MemoryStore,
  type Permit,
  pipeline,
  run,
} from '../src/index.js';
import { createFakeClock } from '../src/testing.js';
import { track, used } from './support/permits.js';

const MINUTE = 60_000;
const LEASE_MS = MINUTE;
/** A token window longer than the lease: it still counts a booking when its permit expires. */
const QUOTA = {
  windows: [
    { unit: 'requests', limit: 100, windowMs: 10 * MINUTE },
    { unit: 'tokens', limit: 10_000, windowMs: 10 * MINUTE },
  ],
} as const;

function setup(options: Partial<LimiterOptions> = {}) {
  const clock = createFakeClock();
  const limiter = new Limiter({
    quota: QUOTA,
    clock,
    margin: { ms: 0 },
    pacing: false,
    leaseMs: LEASE_MS,
    ...options,
  });
  const expired: Array<LimiterEvents['expired'] & { at: number }> = [];
  limiter.on('expired', (event) => expired.push({ ...event, at: clock.now() }));
  const settled: Permit[] = [];
  limiter.on('settled', ({ permit }) => settled.push(permit));
  return { clock, limiter, expired, settled };
}

describe('permit leases', () => {
  it('ends a leaked permit after the lease and admits the next waiter into its slot', async () => {
    const { clock, limiter, expired } = setup({ maxInFlight: 1 });
    const leaked = await limiter.acquire({ tokens: 100 });
    const next = track(clock, limiter.acquire({ tokens: 50 }));
    await clock.advance(LEASE_MS - 1);
    expect(leaked.state).toBe('active');
    expect(next.permit).toBeUndefined();
    await clock.advance(1);
    expect(leaked.state).toBe('expired');
    expect(next.at).toBe(LEASE_MS);
    expect(next.permit?.waitedMs).toBe(LEASE_MS);
    expect(expired).toEqual([{ permit: leaked, heldMs: LEASE_MS, at: LEASE_MS }]);
    const snapshot = await limiter.snapshot();
    expect([snapshot.inFlight, snapshot.queued, snapshot.expired]).toEqual([1, 0, 1]);
  });

  it('keeps the booking of an expired permit: the request may have been sent', async () => {
    const { clock, limiter } = setup();
    await limiter.acquire({ tokens: 700 });
    await clock.advance(LEASE_MS);
    expect(await used(limiter)).toEqual([1, 700]);
    // and it leaves the windows when its admission does, as any booking
    await clock.advance(9 * MINUTE);
    expect(await used(limiter)).toEqual([0, 0]);
  });

  it('ends leases in admission order, each at its own end, with one timer for all', async () => {
    const { clock, limiter, expired } = setup();
    const permits: Permit[] = [];
    for (const at of [0, 100, 250]) {
      await clock.advance(at - clock.now());
      permits.push(await limiter.acquire({ tokens: 10 }));
    }
    await clock.advance(0);
    expect(clock.pendingTimers()).toBe(1);
    await clock.advance(LEASE_MS);
    expect(expired.map(({ permit, heldMs, at }) => [permits.indexOf(permit), heldMs, at])).toEqual([
      [0, LEASE_MS, LEASE_MS],
      [1, LEASE_MS, LEASE_MS + 100],
      [2, LEASE_MS, LEASE_MS + 250],
    ]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('a permit settled in time ends its lease: no event, and no timer once nothing is in flight', async () => {
    const { clock, limiter, expired } = setup();
    const first = await limiter.acquire({ tokens: 10 });
    const second = await limiter.acquire({ tokens: 10 });
    await clock.advance(100);
    expect(clock.pendingTimers()).toBe(1); // the lease of the first
    first.settle();
    expect(clock.pendingTimers()).toBe(1); // now the second's
    second.cancel();
    expect(clock.pendingTimers()).toBe(0);
    await clock.advance(2 * LEASE_MS);
    expect(expired).toEqual([]);
    expect([first.state, second.state]).toEqual(['settled', 'cancelled']);
    expect((await limiter.snapshot()).expired).toBe(0);
  });

  it('sets no timer per permit for permits admitted and ended within one turn', async () => {
    const { clock, limiter, expired } = setup();
    for (let i = 0; i < 50; i++) (await limiter.acquire({ tokens: 1 })).settle();
    expect(clock.pendingTimers()).toBe(1); // the lease check of the next turn
    await clock.advance(0);
    expect(clock.pendingTimers()).toBe(0); // found nothing in flight, and set nothing
    await clock.advance(2 * LEASE_MS);
    expect(expired).toEqual([]);
  });

  it('lets a late settle teach the prompt bias as a timely one does, once, without a second end', async () => {
    const late = setup({ maxInFlight: 3 });
    const timely = setup({ maxInFlight: 3 });
    const estimate = { prompt: 100, output: 100 };
    const usage = { promptTokens: 200, completionTokens: 50 };
    const expiredPermits = await Promise.all(
      [1, 2, 3].map(() => late.limiter.acquire({ tokens: estimate })),
    );
    for (let i = 0; i < 3; i++) (await timely.limiter.acquire({ tokens: estimate })).settle(usage);
    await late.clock.advance(LEASE_MS);
    const waiters = [1, 2, 3, 4].map(() => track(late.clock, late.limiter.acquire()));
    await late.clock.flush();
    expect(waiters.map((waiter) => waiter.permit !== undefined)).toEqual([true, true, true, false]);

    for (const permit of expiredPermits) permit.settle(usage);
    const timelyBias = (await timely.limiter.snapshot()).promptBias;
    expect(timelyBias).toBeGreaterThan(2);
    const snapshot = await late.limiter.snapshot();
    expect(snapshot.promptBias).toBe(timelyBias);
    // it frees no second slot, emits no settled, and the state says how the permit ended
    expect([snapshot.inFlight, snapshot.queued]).toEqual([3, 1]);
    expect(late.settled).toEqual([]);
    expect(expiredPermits.map((permit) => permit.state)).toEqual(['expired', 'expired', 'expired']);
    // anything later does nothing: no throw, no second lesson
    for (const permit of expiredPermits) {
      permit.settle({ promptTokens: 400 });
      permit.cancel();
    }
    expect((await late.limiter.snapshot()).promptBias).toBe(timelyBias);
  });

  it('under actual accounting, a late settle books the reported total where it still counts', async () => {
    const { clock, limiter } = setup({ quota: { ...QUOTA, accounting: 'actual' } });
    const permit = await limiter.acquire({ tokens: 1000 });
    await clock.advance(LEASE_MS);
    expect(await used(limiter)).toEqual([1, 1000]);
    permit.settle({ totalTokens: 400 });
    expect(await used(limiter)).toEqual([1, 400]);
    permit.settle({ totalTokens: 900 });
    expect(await used(limiter)).toEqual([1, 400]);
  });

  it('a late cancel does not throw and refunds nothing: expiry kept the booking', async () => {
    const { clock, limiter } = setup({ quota: { ...QUOTA, accounting: 'actual' } });
    const permit = await limiter.acquire({ tokens: 300 });
    await clock.advance(LEASE_MS);
    permit.cancel();
    permit.settle({ totalTokens: 100, promptTokens: 100 });
    expect(permit.state).toBe('expired');
    const snapshot = await limiter.snapshot();
    expect(snapshot.windows.map((w) => w.used)).toEqual([1, 300]);
    expect([snapshot.inFlight, snapshot.expired]).toEqual([0, 1]);
  });

  it('a listener of expired may acquire and settle: every lease still ends once, on time', async () => {
    const { clock, limiter, expired } = setup({ maxInFlight: 2 });
    const renewed: Permit[] = [];
    limiter.on('expired', () => {
      void limiter.acquire({ tokens: 1 }).then((permit) => renewed.push(permit));
    });
    await limiter.acquire({ tokens: 1 });
    await limiter.acquire({ tokens: 1 });
    await clock.advance(LEASE_MS);
    expect(expired.map((event) => event.at)).toEqual([LEASE_MS, LEASE_MS]);
    expect(renewed).toHaveLength(2);
    renewed[0]!.settle();
    await clock.advance(LEASE_MS);
    expect(expired.map((event) => event.at)).toEqual([LEASE_MS, LEASE_MS, 2 * LEASE_MS]);
    // the second renewal expired in turn, and its listener acquired a third
    expect(renewed.map((permit) => permit.state)).toEqual(['settled', 'expired', 'active']);
    expect((await limiter.snapshot()).inFlight).toBe(1);
  });

  it.each([
    ['ahead of', 1e6],
    ['behind', -1e6],
  ])('times a lease on the limiter clock, with a store on a clock %s it', async (_name, skewMs) => {
    const clock = createFakeClock(5e6);
    const storeClock = { ...clock, now: () => clock.now() + skewMs };
    const limiter = new Limiter({
      quota: { rpm: 60 },
      clock,
      store: new MemoryStore({ clock: storeClock }),
      pacing: false,
      leaseMs: LEASE_MS,
    });
    const expired: number[] = [];
    limiter.on('expired', ({ heldMs }) => expired.push(heldMs));
    // the first decision is queued, the second takes the fast path: both on the store's clock
    const permits = [await limiter.acquire(), await limiter.acquire()];
    expect(permits.map((permit) => permit.admittedAt)).toEqual([5e6 + skewMs, 5e6 + skewMs]);
    await clock.advance(LEASE_MS - 1);
    expect(permits.map((permit) => permit.state)).toEqual(['active', 'active']);
    await clock.advance(1);
    expect(permits.map((permit) => permit.state)).toEqual(['expired', 'expired']);
    expect(expired).toEqual([LEASE_MS, LEASE_MS]);
  });

  it('leases 15 minutes by default', async () => {
    const clock = createFakeClock();
    const limiter = new Limiter({ quota: { rpm: 60 }, clock });
    const permit = await limiter.acquire();
    await clock.advance(15 * MINUTE - 1);
    expect(permit.state).toBe('active');
    await clock.advance(1);
    expect(permit.state).toBe('expired');
  });

  it('leaseMs: Infinity leases nothing: no timer, and a permit stays active', async () => {
    const { clock, limiter } = setup({ leaseMs: Number.POSITIVE_INFINITY });
    const permit = await limiter.acquire({ tokens: 10 });
    expect(clock.pendingTimers()).toBe(0);
    await clock.advance(365 * 24 * 60 * MINUTE);
    expect(permit.state).toBe('active');
    expect((await limiter.snapshot()).inFlight).toBe(1);
  });

  it('close() keeps no timer: permits in flight can still be settled but no longer expire', async () => {
    const { clock, limiter, expired } = setup();
    const permit = await limiter.acquire({ tokens: 10 });
    await clock.advance(100);
    limiter.close();
    expect(clock.pendingTimers()).toBe(0);
    await clock.advance(2 * LEASE_MS);
    expect(expired).toEqual([]);
    permit.settle();
    expect(permit.state).toBe('settled');
    expect(clock.pendingTimers()).toBe(0);
  });

  it('limit() still settles a call that outlived its lease with the usage that came late', async () => {
    const { clock, limiter } = setup({ quota: { ...QUOTA, accounting: 'actual' } });
    // a stream: the response goes up at once, its usage comes with its last chunk
    let finish: (totalTokens: number) => void = () => {};
    const lastChunk = new Promise<number>((resolve) => {
      finish = resolve;
    });
    type Stream = { readonly totalTokens: Promise<number> };
    const stream: Call<string, Stream> = async () => ({ totalTokens: lastChunk });
    const send = pipeline(
      limit<string, Stream>(limiter, {
        estimate: () => 800,
        usage: async (response: Stream) => ({ totalTokens: await response.totalTokens }),
      }),
    )(stream);
    await run(send, 'tell a long story');
    await clock.advance(LEASE_MS);
    expect((await limiter.snapshot()).expired).toBe(1);
    finish(250);
    await clock.flush();
    expect(await used(limiter)).toEqual([1, 250]);
  });
});
