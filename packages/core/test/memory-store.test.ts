import { describe, expect, it } from 'vitest';
import { ConfigurationError, MemoryStore, type StorePlan } from '../src/index.js';
import { createFakeClock, storeConformanceCases } from '../src/testing.js';

describe('MemoryStore conformance', () => {
  for (const check of storeConformanceCases({
    createStore: (clock) => new MemoryStore({ clock }),
  })) {
    it(check.name, check.run);
  }
});

const plan = (limit: number, windowMs: number): StorePlan => ({
  id: `requests:${limit}/${windowMs}`,
  windows: [{ name: 'requests/1s', unit: 'requests', limit, windowMs, paced: false }],
});

describe('MemoryStore', () => {
  it('refuses a second, different plan under the same key', async () => {
    const store = new MemoryStore({ clock: createFakeClock() });
    await store.admit('k', plan(1, 1000), [0]);
    expect(() => store.admit('k', plan(2, 1000), [0])).toThrow(ConfigurationError);
    expect(() => store.admit('k', plan(1, 1000), [0])).not.toThrow();
  });

  it('does not bring entries back when the clock steps backwards', async () => {
    const clock = createFakeClock(10_000);
    let offset = 0;
    const store = new MemoryStore({ clock: { ...clock, now: () => clock.now() - offset } });
    const p = plan(1, 1000);
    await store.admit('k', p, [0]);
    await clock.advance(1000);
    expect((await store.admit('k', p, [0])).tickets[0]).toBeDefined();
    offset = 5000;
    const decision = await store.admit('k', p, [0]);
    expect(decision.tickets[0]).toBeUndefined();
    expect(decision.retryAt! - decision.now).toBe(1000);
  });

  it('keeps exact sums while its log wraps and grows over many admissions', async () => {
    const clock = createFakeClock();
    const store = new MemoryStore({ clock });
    const p = plan(100, 1000);
    for (let i = 0; i < 3000; i++) {
      await store.admit('k', p, [0]);
      await clock.advance(20);
    }
    // admissions every 20 ms; at the last one + 20 ms, those of the last 980 ms remain
    const snapshot = await store.snapshot('k', p);
    expect(snapshot.windows[0]!.used).toBe(49);
  });

  it('rejects unknown options', () => {
    expect(() => new MemoryStore({ clok: 1 } as never)).toThrow(ConfigurationError);
  });
});
