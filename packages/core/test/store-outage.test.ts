import { describe, expect, it } from 'vitest';
import {
  isTollgateError,
  Limiter,
  MemoryStore,
  type Permit,
  type Store,
  StoreError,
  StoreUnavailableError,
  WaitAbortedError,
  WaitTimeoutError,
} from '../src/index.js';
import { createFakeClock, type FakeClock } from '../src/testing.js';

/**
 * A remote store stand-in: a real MemoryStore answering through promises, whose `admit` throws
 * what an unreachable store throws while `down` is set (nothing recorded).
 */
function outageStore(clock: FakeClock, retryInMs = 100) {
  const memory = new MemoryStore({ clock });
  const state = { down: false, admits: 0, failure: undefined as Error | undefined };
  const store: Store = {
    admit: async (...args) => {
      state.admits++;
      if (state.failure !== undefined) throw state.failure;
      if (state.down) {
        throw new StoreUnavailableError('store is unavailable: connect ECONNREFUSED', {
          retryInMs,
        });
      }
      return memory.admit(...args);
    },
    rebook: async (...args) => memory.rebook(...args),
    release: async (...args) => memory.release(...args),
    restamp: async (...args) => memory.restamp(...args),
    pause: async (...args) => memory.pause(...args),
    throttle: async (...args) => memory.throttle(...args),
    widen: async (...args) => memory.widen(...args),
    snapshot: async (...args) => memory.snapshot(...args),
  };
  return { store, state };
}

function setup(retryInMs?: number) {
  const clock = createFakeClock();
  const { store, state } = outageStore(clock, retryInMs);
  const limiter = new Limiter({
    quota: { rps: 2 },
    store,
    clock,
    margin: { ms: 0 },
    pacing: false,
  });
  const errors: unknown[] = [];
  const blockedBy: string[] = [];
  limiter.on('error', ({ error }) => errors.push(error));
  limiter.on('waiting', (event) => blockedBy.push(event.blockedBy));
  return { clock, limiter, state, errors, blockedBy };
}

function track(promise: Promise<Permit>) {
  const result: { permit?: Permit; error?: unknown } = {};
  promise.then(
    (permit) => {
      result.permit = permit;
    },
    (error: unknown) => {
      result.error = error;
    },
  );
  return result;
}

describe('Limiter: while the store is unavailable', () => {
  it('admits no one, keeps every waiter, and admits them in order once the store answers', async () => {
    const { clock, limiter, state, errors, blockedBy } = setup();
    state.down = true;
    const waiters = Array.from({ length: 4 }, () => track(limiter.acquire()));
    await clock.advance(4000);
    expect(waiters.every((w) => w.permit === undefined && w.error === undefined)).toBe(true);
    // one error event when the outage begins, not one per retry
    expect(errors).toHaveLength(1);
    expect(isTollgateError(errors[0], 'TOLLGATE_STORE_UNAVAILABLE')).toBe(true);
    expect(blockedBy.every((name) => name === 'store')).toBe(true);

    state.down = false;
    await clock.advance(100);
    expect(waiters.filter((w) => w.permit !== undefined)).toHaveLength(2); // 2 per second
    await clock.advance(1000);
    expect(waiters.filter((w) => w.permit !== undefined)).toHaveLength(4);
    expect(waiters.every((w) => w.error === undefined)).toBe(true);
    expect(errors).toHaveLength(1);
  });

  it('asks the store again at its suggested pace, however many callers arrive', async () => {
    const { clock, limiter, state } = setup(250);
    state.down = true;
    const waiters = [track(limiter.acquire())];
    await clock.advance(0);
    const before = state.admits;
    for (let i = 0; i < 50; i++) {
      waiters.push(track(limiter.acquire()));
      await clock.advance(20);
    }
    // 1000 ms at one retry per 250 ms: 4 asks, not one per caller
    expect(state.admits - before).toBe(4);
    state.down = false;
    await clock.advance(30_000);
    expect(waiters.filter((w) => w.permit !== undefined)).toHaveLength(51);
  });

  it('bounds each wait by its own deadline and signal, and leaves no timer behind', async () => {
    const { clock, limiter, state } = setup();
    state.down = true;
    const controller = new AbortController();
    const timed = track(limiter.acquire({ maxWaitMs: 1500 }));
    const aborted = track(limiter.acquire({ signal: controller.signal }));
    await clock.advance(1000);
    controller.abort(new Error('user gave up'));
    await clock.advance(0);
    expect(aborted.error).toBeInstanceOf(WaitAbortedError);
    expect(timed.error).toBeUndefined();
    await clock.advance(500);
    expect(timed.error).toBeInstanceOf(WaitTimeoutError);
    expect((timed.error as WaitTimeoutError).waitedMs).toBe(1500);
    // the queue is empty: the retry timer is gone too
    expect(clock.pendingTimers()).toBe(0);
  });

  it('rejects the waiters when the store fails in any other way', async () => {
    const { clock, limiter, state } = setup();
    state.failure = new Error('script error');
    const waiter = track(limiter.acquire());
    await clock.advance(0);
    expect(waiter.error).toBeInstanceOf(StoreError);
    expect((waiter.error as StoreError).cause).toBe(state.failure);
  });

  it('a new outage is reported again', async () => {
    const { clock, limiter, state, errors } = setup();
    state.down = true;
    const first = track(limiter.acquire());
    await clock.advance(300);
    state.down = false;
    await clock.advance(100);
    expect(first.permit).toBeDefined();
    state.down = true;
    const second = track(limiter.acquire());
    await clock.advance(300);
    state.down = false;
    await clock.advance(1000);
    expect(second.permit).toBeDefined();
    expect(errors).toHaveLength(2);
  });
});
