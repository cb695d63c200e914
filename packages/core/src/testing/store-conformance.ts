import type { AdmitDecision, Store, StorePlan, StoreWindow } from '../store.js';
import { createFakeClock, type FakeClock } from './fake-clock.js';

/** One conformance check: register it with your test runner as `it(name, run)`. */
export interface ConformanceCase {
  readonly name: string;
  readonly run: () => Promise<void>;
}

export interface StoreConformanceOptions {
  /**
   * Creates a fresh, empty store whose decisions use `clock`. Stores that normally read
   * another clock (Redis reads the server's) must offer a way to take it for this suite.
   */
  readonly createStore: (clock: FakeClock) => Store | Promise<Store>;
  /** Releases what `createStore` made (connections, servers). */
  readonly disposeStore?: (store: Store) => void | Promise<void>;
}

class ConformanceError extends Error {
  override name = 'ConformanceError';
}

function expectEqual(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new ConformanceError(`${what}: expected ${e}, got ${a}`);
}

const window = (
  unit: StoreWindow['unit'],
  limit: number,
  windowMs: number,
  paced = false,
): StoreWindow => ({ name: `${unit}/${windowMs}ms`, unit, limit, windowMs, paced });

const plan = (...windows: StoreWindow[]): StorePlan => ({
  id: windows.map((w) => `${w.name}:${w.limit}${w.paced ? 'p' : ''}`).join(','),
  windows,
});

const admittedIndexes = (decision: AdmitDecision): number[] =>
  decision.tickets.flatMap((ticket, index) => (ticket === undefined ? [] : [index]));

let keyCounter = 0;
const freshKey = () => `conformance:${Date.now().toString(36)}:${keyCounter++}`;

/**
 * The behaviour every {@link Store} must have, as runner-independent cases. Each case gets
 * a fresh store on a fake clock starting at 1,000,000 ms.
 *
 * @example
 * for (const check of storeConformanceCases({ createStore: (clock) => new MemoryStore({ clock }) })) {
 *   it(check.name, check.run);
 * }
 */
export function storeConformanceCases(options: StoreConformanceOptions): ConformanceCase[] {
  const scenario =
    (body: (store: Store, clock: FakeClock, key: string) => Promise<void>) => async () => {
      const clock = createFakeClock(1_000_000);
      const store = await options.createStore(clock);
      try {
        await body(store, clock, freshKey());
      } finally {
        await options.disposeStore?.(store);
      }
    };

  return [
    {
      name: 'admits up to a request limit and gives the instant the oldest request leaves',
      run: scenario(async (store, clock, key) => {
        const p = plan(window('requests', 3, 1000));
        const first = await store.admit(key, p, [0, 0]);
        expectEqual(admittedIndexes(first), [0, 1], 'first two admitted');
        await clock.advance(400);
        const second = await store.admit(key, p, [0, 0]);
        expectEqual(admittedIndexes(second), [0], 'third admitted, fourth refused');
        expectEqual(second.retryAt! - second.now, 600, 'wait until the first leaves');
        await clock.advance(599);
        expectEqual(admittedIndexes(await store.admit(key, p, [0])), [], 'still full 1 ms before');
        await clock.advance(1);
        expectEqual(
          admittedIndexes(await store.admit(key, p, [0])),
          [0],
          'admitted when it leaves',
        );
      }),
    },
    {
      name: 'books tokens and computes when enough of them leave the window',
      run: scenario(async (store, clock, key) => {
        const p = plan(window('tokens', 1000, 1000));
        await store.admit(key, p, [300]);
        await clock.advance(100);
        await store.admit(key, p, [500]);
        await clock.advance(100);
        const refused = await store.admit(key, p, [600]);
        expectEqual(admittedIndexes(refused), [], '600 does not fit beside 800');
        expectEqual(refused.retryAt! - refused.now, 900, 'fits once the 500 leaves (at +1100)');
        expectEqual(admittedIndexes(await store.admit(key, p, [200])), [0], '200 fits exactly');
      }),
    },
    {
      name: 'decides every window at once: a refusal books nothing anywhere',
      run: scenario(async (store, _clock, key) => {
        const p = plan(window('requests', 10, 1000), window('tokens', 100, 1000));
        expectEqual(admittedIndexes(await store.admit(key, p, [90])), [0], 'first admitted');
        const refused = await store.admit(key, p, [20]);
        expectEqual(admittedIndexes(refused), [], 'tokens window refuses');
        expectEqual(refused.blockedBy, 'tokens/1000ms', 'names the blocking window');
        const snapshot = await store.snapshot(key, p);
        expectEqual(
          snapshot.windows.map((w) => w.used),
          [1, 90],
          'the refusal booked no request and no tokens',
        );
      }),
    },
    {
      name: 'backfills a later candidate that fits now without delaying the head',
      run: scenario(async (store, clock, key) => {
        const p = plan(window('tokens', 1000, 1000));
        await store.admit(key, p, [600]);
        await clock.advance(500);
        // head needs 700 (fits when the 600 leaves at +1000); 300 fits now and leaves room for the head
        const decision = await store.admit(key, p, [700, 300, 500]);
        expectEqual(admittedIndexes(decision), [1], 'only the 300 is backfilled');
        expectEqual(
          decision.retryAt! - decision.now,
          500,
          'the head still starts when the 600 leaves',
        );
        await clock.advance(500);
        expectEqual(
          admittedIndexes(await store.admit(key, p, [700])),
          [0],
          'head admitted on time',
        );
      }),
    },
    {
      name: 'does not backfill a candidate that would delay the head',
      run: scenario(async (store, clock, key) => {
        const p = plan(window('tokens', 1000, 1000));
        await store.admit(key, p, [600]);
        await clock.advance(500);
        const decision = await store.admit(key, p, [900, 200]);
        expectEqual(
          admittedIndexes(decision),
          [],
          '200 would still be inside when the head starts',
        );
        expectEqual(decision.retryAt! - decision.now, 500, 'head waits for the 600 to leave');
      }),
    },
    {
      name: 'answers one ticket slot per candidate, undefined when refused (a dense array)',
      run: scenario(async (store, _clock, key) => {
        const p = plan(window('requests', 2, 1000));
        const decision = await store.admit(key, p, [0, 0, 0, 0]);
        expectEqual(decision.tickets.length, 4, 'one slot per candidate');
        expectEqual(Object.keys(decision.tickets).length, 4, 'no holes');
        expectEqual(decision.tickets.indexOf(undefined), 2, 'the first refused is the head');
      }),
    },
    {
      name: 'backfilling may delay the head up to headLatestStart, never beyond',
      run: scenario(async (store, clock, key) => {
        const p = plan(window('tokens', 1000, 1000));
        await store.admit(key, p, [600]);
        await clock.advance(500);
        // the head (900) starts when the 600 leaves, at +500; a 200 booked now moves it to +1000
        const strict = await store.admit(key, p, [900, 200], {
          headLatestStart: clock.now() + 999,
        });
        expectEqual(admittedIndexes(strict), [], 'one ms short: the 200 waits');
        expectEqual(strict.retryAt! - strict.now, 500, 'the head keeps its start');
        const relaxed = await store.admit(key, p, [900, 200], {
          headLatestStart: clock.now() + 1000,
        });
        expectEqual(admittedIndexes(relaxed), [1], 'within the bound: the 200 is backfilled');
        expectEqual(relaxed.retryAt! - relaxed.now, 1000, 'retryAt is the head start after it');
      }),
    },
    {
      name: 'backfills the largest candidate that fits first',
      run: scenario(async (store, clock, key) => {
        const p = plan(window('tokens', 1000, 1000));
        await store.admit(key, p, [600]);
        await clock.advance(500);
        // 400 free: the 300 goes in before the 200 queued ahead of it, then nothing else fits
        const decision = await store.admit(key, p, [900, 200, 300, 150], {
          headLatestStart: clock.now() + 1000,
        });
        expectEqual(admittedIndexes(decision), [2], 'the 300, not the 200 and the 150');
      }),
    },
    {
      name: 'rebooking above the reservation makes the next admissions wait',
      run: scenario(async (store, clock, key) => {
        const p = plan(window('tokens', 1000, 1000));
        const first = await store.admit(key, p, [200]);
        await store.rebook(key, p, first.tickets[0]!, 900);
        await clock.advance(100);
        const refused = await store.admit(key, p, [200]);
        expectEqual(admittedIndexes(refused), [], 'the charge is booked');
        expectEqual(refused.retryAt! - refused.now, 900, 'at the instant it was admitted');
      }),
    },
    {
      name: 'rebooking below the reservation refunds the difference at once',
      run: scenario(async (store, _clock, key) => {
        const p = plan(window('tokens', 1000, 1000));
        const first = await store.admit(key, p, [900]);
        expectEqual(
          admittedIndexes(await store.admit(key, p, [500])),
          [],
          'full before the refund',
        );
        await store.rebook(key, p, first.tickets[0]!, 400);
        expectEqual(admittedIndexes(await store.admit(key, p, [600])), [0], 'refunded');
      }),
    },
    {
      name: 'releasing refunds the request and its tokens',
      run: scenario(async (store, _clock, key) => {
        const p = plan(window('requests', 1, 1000), window('tokens', 100, 1000));
        const first = await store.admit(key, p, [100]);
        expectEqual(admittedIndexes(await store.admit(key, p, [0])), [], 'full');
        await store.release(key, p, first.tickets[0]!);
        expectEqual(admittedIndexes(await store.admit(key, p, [100])), [0], 'refunded');
        await store.release(key, p, first.tickets[0]!);
        expectEqual(
          (await store.snapshot(key, p)).windows.map((w) => w.used),
          [1, 100],
          'a second release changes nothing',
        );
      }),
    },
    {
      name: 'restamping moves an admission to now: it counts from then, with its tokens',
      run: scenario(async (store, clock, key) => {
        const p = plan(window('requests', 2, 1000), window('tokens', 100, 10_000));
        const first = await store.admit(key, p, [60]);
        await clock.advance(300);
        const moved = await store.restamp(key, p, first.tickets[0]!, 60);
        expectEqual(
          (await store.snapshot(key, p)).windows.map((w) => w.used),
          [1, 60],
          'counted once, in every window',
        );
        await clock.advance(700); // 1000 ms after admission, 700 after the move
        const second = await store.admit(key, p, [0, 0]);
        expectEqual(admittedIndexes(second), [0], 'still in the request window');
        expectEqual(second.retryAt! - second.now, 300, 'until 1000 ms after the move');
        await store.rebook(key, p, moved, 20);
        expectEqual((await store.snapshot(key, p)).windows[1]!.used, 20, 'the new ticket settles');
        await store.release(key, p, first.tickets[0]!);
        expectEqual((await store.snapshot(key, p)).windows[1]!.used, 20, 'the old one is gone');
      }),
    },
    {
      name: 'restamping at the admission instant keeps the ticket; one that left every window is booked again',
      run: scenario(async (store, clock, key) => {
        const p = plan(window('requests', 5, 1000), window('tokens', 100, 1000));
        const first = await store.admit(key, p, [10]);
        const ticket = first.tickets[0]!;
        expectEqual(await store.restamp(key, p, ticket, 10), ticket, 'same instant: same ticket');
        await clock.advance(1500); // it left every window; its request leaves only now
        await store.restamp(key, p, ticket, 10);
        expectEqual(
          (await store.snapshot(key, p)).windows.map((w) => w.used),
          [1, 10],
          'counted again from now',
        );
        await clock.advance(1000);
        expectEqual(
          (await store.snapshot(key, p)).windows.map((w) => w.used),
          [0, 0],
          'and leaves a window later',
        );
      }),
    },
    {
      name: 'a widened margin books later admissions that much later, and decays',
      run: scenario(async (store, clock, key) => {
        const p = plan(window('requests', 1, 1000));
        const widening = { stepMs: 200, maxMs: 500, decayMs: 10_000 };
        expectEqual(await store.widen(key, p, widening), 200, 'widened by a step');
        const first = await store.admit(key, p, [0]);
        expectEqual(admittedIndexes(first), [0], 'a widening admits as before');
        await clock.advance(1000);
        const held = await store.admit(key, p, [0]);
        expectEqual(held.retryAt! - held.now, 200, 'it leaves the window 200 ms later');
        await clock.advance(200);
        expectEqual(admittedIndexes(await store.admit(key, p, [0])), [0], 'and then it has');
        await clock.advance(3800); // 5000 ms after the widening, half of its decay
        expectEqual((await store.snapshot(key, p)).widenedMs, 100, 'half decayed');
        await clock.advance(5000);
        expectEqual((await store.snapshot(key, p)).widenedMs, undefined, 'decayed to nothing');
      }),
    },
    {
      name: 'widenings grow by a step, then double, up to their maximum; an admission made before them is not moved',
      run: scenario(async (store, clock, key) => {
        const p = plan(window('requests', 1, 1000));
        await store.admit(key, p, [0]);
        const widening = { stepMs: 100, maxMs: 500, decayMs: 10_000 };
        const widened: number[] = [];
        for (let i = 0; i < 4; i++) widened.push(await store.widen(key, p, widening));
        expectEqual(widened, [100, 200, 400, 500], 'a step, then doubling, up to the maximum');
        await clock.advance(1000);
        const decision = await store.admit(key, p, [0]);
        expectEqual(admittedIndexes(decision), [0], 'the earlier admission left on time');
        await clock.advance(1000);
        const held = await store.admit(key, p, [0]);
        expectEqual(held.retryAt! - held.now, 450, 'the later one leaves 1450 ms after it');
      }),
    },
    {
      name: 'a pause holds every admission until it ends',
      run: scenario(async (store, clock, key) => {
        const p = plan(window('requests', 100, 1000));
        const until = await store.pause(key, p, 2500);
        const held = await store.admit(key, p, [0, 0]);
        expectEqual(admittedIndexes(held), [], 'nothing admitted, not even by backfilling');
        expectEqual([held.retryAt! - held.now, held.blockedBy], [2500, 'pause'], 'until the end');
        expectEqual(until - held.now, 2500, 'pause returns its end');
        await clock.advance(2500);
        expectEqual(admittedIndexes(await store.admit(key, p, [0])), [0], 'admitted after');
      }),
    },
    {
      name: 'a throttle lowers every limit until it ends',
      run: scenario(async (store, clock, key) => {
        const p = plan(window('requests', 10, 10_000));
        await store.throttle(key, p, 0.5, 3000);
        const decision = await store.admit(key, p, [0, 0, 0, 0, 0, 0]);
        expectEqual(admittedIndexes(decision), [0, 1, 2, 3, 4], 'five of ten');
        expectEqual(
          decision.retryAt! - decision.now,
          3000,
          'the sixth waits for the throttle to end',
        );
        expectEqual((await store.snapshot(key, p)).throttle?.factor, 0.5, 'snapshot shows it');
        await clock.advance(3000);
        expectEqual(admittedIndexes(await store.admit(key, p, [0])), [0], 'full limit again');
      }),
    },
    {
      name: 'paces a paced window at windowMs / limit per unit',
      run: scenario(async (store, clock, key) => {
        const p = plan(window('requests', 10, 1000, true), window('tokens', 1000, 1000, true));
        expectEqual(admittedIndexes(await store.admit(key, p, [0, 0])), [0], 'one at a time');
        const next = await store.admit(key, p, [0]);
        expectEqual(
          [next.retryAt! - next.now, next.blockedBy],
          [100, 'pace:requests/1000ms'],
          'next in 100 ms',
        );
        await clock.advance(100);
        expectEqual(
          admittedIndexes(await store.admit(key, p, [500])),
          [0],
          'paced request admitted',
        );
        const after = await store.admit(key, p, [0]);
        expectEqual(
          after.retryAt! - after.now,
          500,
          '500 tokens of 1000/s pace the next by 500 ms',
        );
      }),
    },
    {
      name: 'keeps quotas under different keys apart',
      run: scenario(async (store, _clock, key) => {
        const p = plan(window('requests', 1, 1000));
        expectEqual(admittedIndexes(await store.admit(key, p, [0])), [0], 'first key');
        expectEqual(admittedIndexes(await store.admit(`${key}:other`, p, [0])), [0], 'second key');
      }),
    },
    {
      name: 'reports usage and limits in a snapshot, and forgets what left every window',
      run: scenario(async (store, clock, key) => {
        const p = plan(window('requests', 5, 1000), window('tokens', 500, 2000));
        await store.admit(key, p, [100, 50]);
        await clock.advance(1000);
        const snapshot = await store.snapshot(key, p);
        expectEqual(
          snapshot.windows.map((w) => [w.name, w.used, w.limit]),
          [
            ['requests/1000ms', 0, 5],
            ['tokens/2000ms', 150, 500],
          ],
          'per-window usage',
        );
        expectEqual(snapshot.pausedUntil, 0, 'not paused');
        await clock.advance(1000);
        expectEqual(
          (await store.snapshot(key, p)).windows.map((w) => w.used),
          [0, 0],
          'all gone after the longest window',
        );
      }),
    },
  ];
}
