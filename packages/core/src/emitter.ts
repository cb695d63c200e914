import { InvalidArgumentError } from './errors.js';
import { checkFunction, checkOneOf } from './validate.js';

/**
 * A minimal typed event emitter, with no dependency on Node's `events`: what the limiter, and
 * Tollgate's pools and chains, hand out as `on(event, listener)`. For authors of layers and
 * stores; applications subscribe through those objects' `on`.
 *
 * `on` checks its arguments (an event of `events`, a function) and throws
 * `InvalidArgumentError` otherwise. A listener that throws is reported to `onListenerError`,
 * never to the code that emitted.
 *
 * @example
 * const events = new Emitter<{ held: { account: string } }>(['held'], (error) => log(error));
 * const off = events.on('held', ({ account }) => console.log(account));
 * events.emit('held', { account: 'acct-1' });
 */
export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<(event: never) => void>>();

  constructor(
    /** Every event there is: `on` refuses any other. */
    private readonly events: ReadonlyArray<keyof Events & string>,
    private readonly onListenerError: (error: unknown, event: keyof Events) => void,
  ) {}

  /** Subscribes `listener` to `event`; returns the function that unsubscribes it. */
  on<E extends keyof Events>(event: E, listener: (payload: Events[E]) => void): () => void {
    checkOneOf(event, 'event', this.events, InvalidArgumentError);
    checkFunction(listener, 'listener', InvalidArgumentError);
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  /** Whether anyone listens to `event`: skip building a payload nobody reads. */
  has(event: keyof Events): boolean {
    const set = this.listeners.get(event);
    return set !== undefined && set.size > 0;
  }

  emit<E extends keyof Events>(event: E, payload: Events[E]): void {
    const set = this.listeners.get(event);
    if (set === undefined) return;
    for (const listener of set) {
      try {
        (listener as (payload: Events[E]) => void)(payload);
      } catch (error) {
        this.onListenerError(error, event);
      }
    }
  }
}
