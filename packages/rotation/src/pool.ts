import type {
  CallAccount,
  CallContext,
  Clock,
  Limiter,
  Quota,
  QuotaDefinition,
  Store,
} from '@tollgate/core';
import type { Classification, Classifier, Provider } from '@tollgate/retry';
import type { PoolEvents } from './events.js';
import { Pool } from './internal/pool.js';

/** What a {@link LimiterFactory} is given: the pool's store and clock, and the quota's key. */
export interface LimiterFactoryOptions {
  readonly store: Store;
  /** `<billingGroup>:<model>`: every account of the group, in every process, shares it. */
  readonly key: string;
  readonly clock: Clock;
}

/** Builds a billing group's limiter for one model, for limiter options beyond the quota. */
export type LimiterFactory = (options: LimiterFactoryOptions) => Limiter;

/** A model's quota: a definition (`{ rpm, tpm, rps, tps }`), a defined quota, or a factory. */
export type AccountQuota = QuotaDefinition | Quota | LimiterFactory;

/** One account (one API key) of the pool: its credentials, billing group and quotas. */
export interface AccountDefinition extends CallAccount {
  /**
   * The provider account whose quota the key draws from. Keys of one group share one limiter
   * per model, so they add no capacity. @default the account's own `id`
   */
  readonly billingGroup?: string;
  /** Its share under the `'weighted'` strategy. @default 1 */
  readonly weight?: number;
  /**
   * Its quota per model name. Accounts of one billing group must give the same one for a model
   * (the same definition, or the same factory), or give none for it.
   */
  readonly quotas: Readonly<Record<string, AccountQuota>>;
}

/** An account as the pool holds it. */
export interface PooledAccount {
  readonly id: string;
  readonly billingGroup: string;
  readonly weight: number;
  /** What `rotate()` puts in `context.account`: the id and the credentials. */
  readonly credentials: CallAccount;
  /** The models it has a quota for (its own or its billing group's). */
  readonly models: ReadonlyArray<string>;
}

/**
 * `available`: may be picked. `held`: its billing group's quota for the model is paused after
 * a throttle refusal. `out`: retired (quota exhausted, key rejected) until its probe or
 * `pool.restore(id)`.
 */
export type AccountStatus = 'available' | 'held' | 'out';

/** An account's state for one model, as the store shows it now. */
export interface AccountState {
  readonly id: string;
  readonly billingGroup: string;
  readonly status: AccountStatus;
  /** Until it is available again (the hold's or the out period's rest); 0 when available. */
  readonly returnsInMs: number;
  /**
   * Why it is out, when this process retired it. The reason is kept in memory: an account
   * retired by another process sharing the store is `out` here with no reason.
   */
  readonly reason?: Classification;
}

/** What a strategy chooses from: the accounts that can take the request within its budget. */
export interface Candidate {
  readonly account: PooledAccount;
  /** The rest of its billing group's hold on the model; 0 when not held. */
  readonly heldForMs: number;
  /**
   * Room in its tightest window after this request, as a fraction of that window's limit:
   * `min over windows of (remaining − request − in progress) / limit`, where "in progress" is
   * what this process has sent to the group and not yet seen finish (so that concurrent picks
   * spread). Negative: the request does not fit now. A queue in this process's limiter counts
   * as no room.
   */
  readonly headroom: number;
}

/** The request a strategy chooses for. */
export interface PickRequest {
  readonly model: string;
  /** Its estimated cost in tokens. */
  readonly tokens: number;
}

/** A strategy of your own: returns the `account` of one of the candidates (never empty). */
export type Chooser = (candidates: ReadonlyArray<Candidate>, request: PickRequest) => PooledAccount;

/**
 * How the next account is picked among the candidates:
 *
 * - `'most-headroom'`: the one that can admit the request soonest — not held (else the
 *   earliest to return), fitting now, then the most headroom; ties in pool order.
 * - `'round-robin'`: the next one in pool order that is not held (else the earliest to return).
 * - `'weighted'`: smooth weighted round-robin by `weight` among those not held (else the
 *   earliest to return): over any run, each gets its share, evenly interleaved.
 * - a {@link Chooser}.
 */
export type Strategy = 'most-headroom' | 'round-robin' | 'weighted' | Chooser;

export interface AccountPoolOptions {
  /** The accounts, in the order ties are broken in. Ids are unique. */
  readonly accounts: ReadonlyArray<AccountDefinition>;
  /** @default 'most-headroom' */
  readonly strategy?: Strategy;
  /**
   * Where the quotas and the pool's health live. Give every process the same `RedisStore` and
   * they share the quotas, the holds and who is out. @default new MemoryStore({ clock })
   */
  readonly store?: Store;
  /** Timers of the limiters the pool builds. @default systemClock */
  readonly clock?: Clock;
  /**
   * How long a retired account stays out before it is tried again (the next call on it is the
   * probe; a failure retires it again). Finite. @default 300_000 (5 minutes)
   */
  readonly probeAfterMs?: number;
  /**
   * How long a throttle refusal holds the billing group when the provider gave no hint
   * (DashScope gives none). A longer hold in force is kept. @default 1_000
   */
  readonly holdMs?: number;
  /** Whose error table classifies failures (see `@tollgate/retry`). @default 'generic' */
  readonly provider?: Provider;
  /** A classifier of your own (a retry policy's, say); replaces `provider`. */
  readonly classifier?: Classifier;
}

/** A pool of accounts; build it with {@link accountPool}. */
export interface AccountPool {
  readonly accounts: ReadonlyArray<PooledAccount>;
  /**
   * The limiter of `context.account`'s billing group for `context.model`, both set by
   * `rotate(pool)`: give it to core's `limit()`. A bound function: pass it as it is.
   * Throws `InvalidArgumentError` when the context has no account of the pool or no model it
   * has a quota for.
   */
  readonly limiterFor: (context: CallContext) => Limiter;
  /** The limiter an account's billing group uses for a model (the same for every key of it). */
  limiter(accountId: string, model: string): Limiter;
  /** Every account with a quota for the model, in pool order, as the store shows it now. */
  states(model: string): Promise<ReadonlyArray<AccountState>>;
  /**
   * Brings a retired account back now, for every model and every process sharing the store.
   * It does not lift a hold: a hold is the provider's reset, shared by the billing group.
   */
  restore(accountId: string): Promise<void>;
  /** Subscribes to an event; returns the function that unsubscribes. */
  on<E extends keyof PoolEvents>(event: E, listener: (payload: PoolEvents[E]) => void): () => void;
}

/**
 * A pool of accounts for `rotate(pool)`. Options are validated here; a bad one throws core's
 * `ConfigurationError`.
 *
 * @example
 * const pool = accountPool({
 *   provider: 'dashscope',
 *   accounts: [
 *     { id: 'a1', apiKey: process.env.KEY_A1, quotas: { 'qwen3-max': qwen3Max } },
 *     { id: 'a2', apiKey: process.env.KEY_A2, quotas: { 'qwen3-max': qwen3Max } },
 *   ],
 * });
 */
export function accountPool(options: AccountPoolOptions): AccountPool {
  return new Pool(options);
}
