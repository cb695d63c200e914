import { type Clock, systemClock } from './clock.js';
import { ConfigurationError } from './errors.js';
import { QuotaState } from './internal/quota-state.js';
import type {
  AdmitDecision,
  AdmitOptions,
  MarginWidening,
  Store,
  StorePlan,
  StoreSnapshot,
  Ticket,
} from './store.js';
import { checkClock, checkOptions } from './validate.js';

export interface MemoryStoreOptions {
  /** The clock every decision is made on. @default systemClock */
  readonly clock?: Clock;
}

/**
 * Keeps quotas in this process's memory. The default store: exact, synchronous (each call
 * answers at once), and shared by every limiter in the process given the same instance and key.
 */
export class MemoryStore implements Store {
  private readonly clock: Clock;
  private readonly quotas = new Map<string, QuotaState>();

  constructor(options: MemoryStoreOptions = {}) {
    checkOptions(options, 'MemoryStore', ['clock']);
    this.clock = checkClock(options.clock ?? systemClock, 'MemoryStore.clock');
  }

  admit(
    key: string,
    plan: StorePlan,
    costs: ReadonlyArray<number>,
    options?: AdmitOptions,
  ): AdmitDecision {
    return this.state(key, plan).admit(this.clock.now(), costs, options?.headLatestStart);
  }

  rebook(key: string, plan: StorePlan, ticket: Ticket, tokens: number): void {
    this.state(key, plan).rebook(this.clock.now(), ticket, tokens);
  }

  release(key: string, plan: StorePlan, ticket: Ticket): void {
    this.state(key, plan).release(this.clock.now(), ticket);
  }

  restamp(key: string, plan: StorePlan, ticket: Ticket, tokens: number): Ticket {
    return this.state(key, plan).restamp(this.clock.now(), ticket, tokens);
  }

  pause(key: string, plan: StorePlan, durationMs: number): number {
    return this.state(key, plan).pause(this.clock.now(), durationMs);
  }

  throttle(key: string, plan: StorePlan, factor: number, durationMs: number): number {
    return this.state(key, plan).throttle(this.clock.now(), factor, durationMs);
  }

  widen(key: string, plan: StorePlan, widening: MarginWidening): number {
    return this.state(key, plan).widen(this.clock.now(), widening);
  }

  snapshot(key: string, plan: StorePlan): StoreSnapshot {
    return this.state(key, plan).snapshot(this.clock.now());
  }

  private state(key: string, plan: StorePlan): QuotaState {
    let state = this.quotas.get(key);
    if (state === undefined) {
      state = new QuotaState(plan);
      this.quotas.set(key, state);
    } else if (state.plan !== plan && state.plan.id !== plan.id) {
      throw new ConfigurationError(
        `already holds a different quota (${state.plan.id}); give each quota its own key`,
        `key '${key}'`,
      );
    }
    return state;
  }
}
