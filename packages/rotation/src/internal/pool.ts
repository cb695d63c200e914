import {
  type CallContext,
  type Clock,
  ConfigurationError,
  defineQuota,
  InvalidArgumentError,
  isTollgateError,
  Limiter,
  type LimiterSnapshot,
  MemoryStore,
  type Quota,
  type Store,
  systemClock,
} from '@tollgate/core';
import { Emitter } from '@tollgate/core/emitter';
import {
  checkClock,
  checkFunction,
  checkName,
  checkNumber,
  checkOneOf,
  checkOptions,
  checkStore,
  mustBe,
} from '@tollgate/core/validate';
import { type Classification, type Classifier, createClassifier, PROVIDERS } from '@tollgate/retry';
import type { PoolEvents } from '../events.js';
import type {
  AccountDefinition,
  AccountPool,
  AccountPoolOptions,
  AccountState,
  Candidate,
  Chooser,
  LimiterFactory,
  PooledAccount,
} from '../pool.js';
import { mostHeadroom, roundRobin, weighted } from './strategies.js';

const POOL_KEYS = [
  'accounts',
  'strategy',
  'store',
  'clock',
  'probeAfterMs',
  'holdMs',
  'provider',
  'classifier',
];
const ACCOUNT_KEYS = [
  'id',
  'apiKey',
  'baseURL',
  'organization',
  'headers',
  'billingGroup',
  'weight',
  'quotas',
];
const STRATEGIES = ['most-headroom', 'round-robin', 'weighted'] as const;
const EVENTS: ReadonlyArray<keyof PoolEvents> = Object.keys({
  held: true,
  retired: true,
  restored: true,
  served: true,
  error: true,
} satisfies Record<keyof PoolEvents, true>) as ReadonlyArray<keyof PoolEvents>;

/**
 * The store's record of who is out. Per account, `rotation:<id>:restores` counts the restores
 * (one admission each, in a window no restore ever leaves): its count is the account's
 * generation. Being out for a model is a pause of `rotation:<id>:<model>:out:<generation>`, so
 * a restore — which cannot shorten a pause — moves every process on to a key that is not paused.
 */
const HEALTH_QUOTA = defineQuota({
  windows: [{ unit: 'requests', limit: 1e12, windowMs: 1e13 }],
});

/** Retry's give-up errors that carry the classification of the refusal behind them. */
const GIVE_UPS = ['TOLLGATE_RETRY_EXHAUSTED', 'TOLLGATE_RETRY_AFTER_TOO_LONG'] as const;

/** The outcome of a pick: an account, or every account's state when none can be taken. */
export type Pick =
  | { readonly account: PooledAccount; readonly release: () => void }
  | { readonly states: ReadonlyArray<AccountState> };

/** What `report()` did with a failure. */
export type Verdict = 'held' | 'retired' | undefined;

interface Member {
  readonly account: PooledAccount;
  /** Per model, the billing group's limiter. */
  readonly limiters: ReadonlyMap<string, Limiter>;
  readonly restores: Limiter;
}

interface View {
  readonly state: AccountState;
  readonly member: Member;
  readonly limiter: Limiter;
  readonly snapshot: LimiterSnapshot;
}

/** The pool behind `accountPool()`; `rotate()` uses `pick` and `report`. */
export class Pool implements AccountPool {
  readonly accounts: ReadonlyArray<PooledAccount>;
  readonly limiterFor = (context: CallContext): Limiter => {
    const id = context.account?.id;
    const member = id === undefined ? undefined : this.members.get(id);
    if (member === undefined) {
      throw new InvalidArgumentError(
        mustBe('an account of the pool, set by rotate(pool)', id),
        'context.account.id',
      );
    }
    return this.limiterOf(member, context.model, 'context.model');
  };

  private readonly members = new Map<string, Member>();
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly probeAfterMs: number;
  private readonly holdMs: number;
  private readonly classifier: Classifier;
  private readonly choose: Chooser;
  /** Per `id \n model`, the out marker of the generation last seen. */
  private readonly markers = new Map<string, { generation: number; limiter: Limiter }>();
  /** Why this process retired an account for a model, per `id \n model`. */
  private readonly reasons = new Map<string, Classification>();
  /** Per `id \n model`, how to stop this process's calls waiting for admission on it. */
  private readonly waiting = new Map<string, Set<() => void>>();
  /** What this process has picked on each limiter and not yet seen finish. */
  private readonly inProgress = new Map<Limiter, { requests: number; tokens: number }>();
  private readonly events = new Emitter<PoolEvents>(EVENTS, (error, event) => {
    if (event !== 'error') this.fail(error);
  });

  constructor(options: AccountPoolOptions) {
    checkOptions(options, 'accountPool', POOL_KEYS);
    this.clock = checkClock(options.clock ?? systemClock, 'accountPool.clock');
    this.store =
      options.store === undefined
        ? new MemoryStore({ clock: this.clock })
        : checkStore(options.store, 'accountPool.store');
    this.probeAfterMs = checkNumber(options.probeAfterMs ?? 300_000, 'accountPool.probeAfterMs', {
      min: 0,
    });
    this.holdMs = checkNumber(options.holdMs ?? 1_000, 'accountPool.holdMs', { min: 0 });
    this.classifier =
      options.classifier === undefined
        ? createClassifier({
            provider: checkOneOf(options.provider ?? 'generic', 'accountPool.provider', PROVIDERS),
          })
        : checkFunction(options.classifier, 'accountPool.classifier');
    this.accounts = this.build(options.accounts);
    this.choose = chooserOf(options.strategy ?? 'most-headroom', this.accounts);
  }

  limiter(accountId: string, model: string): Limiter {
    return this.limiterOf(this.memberOf(accountId), model, 'model');
  }

  async states(model: string): Promise<ReadonlyArray<AccountState>> {
    const views = await this.views(model);
    return views.map((view) => view.state);
  }

  async restore(accountId: string): Promise<void> {
    const member = this.memberOf(accountId);
    (await member.restores.acquire()).settle();
    for (const model of member.account.models) this.reasons.delete(markerKey(accountId, model));
    this.emit('restored', { account: accountId, model: undefined, by: 'restore' });
  }

  on<E extends keyof PoolEvents>(event: E, listener: (payload: PoolEvents[E]) => void): () => void {
    return this.events.on(event, listener);
  }

  /**
   * Picks an account for a request of `tokens` to `model`, among those neither out, nor held
   * longer than `maxWaitMs`, nor in `tried`. `release` ends its count as in progress.
   */
  async pick(
    model: string,
    tokens: number,
    maxWaitMs: number,
    tried: ReadonlySet<string>,
  ): Promise<Pick> {
    const views = await this.views(model);
    // ranked on what is in progress now, after the awaits: concurrent picks see each other
    const candidates = views
      .filter(
        ({ state }) =>
          state.status !== 'out' && state.returnsInMs <= maxWaitMs && !tried.has(state.id),
      )
      .map(
        ({ member, limiter, snapshot }): Candidate => ({
          account: member.account,
          heldForMs: snapshot.pausedForMs,
          headroom: this.headroom(limiter, snapshot, tokens),
        }),
      );
    if (candidates.length === 0) return { states: views.map((view) => view.state) };
    const chosen = this.choose(candidates, { model, tokens });
    if (!candidates.some((candidate) => candidate.account === chosen)) {
      throw new InvalidArgumentError(
        mustBe("one of the candidates' accounts", chosen),
        'accountPool.strategy(candidates)',
      );
    }
    const limiter = this.limiterOf(this.memberOf(chosen.id), model, 'model');
    const counts = this.inProgress.get(limiter) ?? { requests: 0, tokens: 0 };
    this.inProgress.set(limiter, { requests: counts.requests + 1, tokens: counts.tokens + tokens });
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const now = this.inProgress.get(limiter)!;
      if (now.requests === 1) this.inProgress.delete(limiter);
      else
        this.inProgress.set(limiter, { requests: now.requests - 1, tokens: now.tokens - tokens });
    };
    return { account: chosen, release };
  }

  /**
   * Records what a failed call on `account` says about it: a throttle holds its billing group
   * for the model, an exhausted quota retires the group for the model, a rejected key retires
   * the account for all its models. Anything else is not the account's fault: `undefined`.
   */
  async report(account: PooledAccount, model: string, error: unknown): Promise<Verdict> {
    const reason = this.classificationOf(error);
    switch (reason.kind) {
      case 'request-rate':
      case 'token-rate':
      case 'burst': {
        const forMs = Math.ceil(reason.retryAfterMs ?? this.holdMs);
        const limiter = this.limiterOf(this.memberOf(account.id), model, 'model');
        if (forMs > 0) await limiter.pause(forMs).catch((problem) => this.fail(problem));
        this.emit('held', {
          account: account.id,
          billingGroup: account.billingGroup,
          model,
          forMs,
          reason,
        });
        return 'held';
      }
      case 'quota-exhausted': {
        const group = [...this.members.values()].filter(
          (member) =>
            member.account.billingGroup === account.billingGroup && member.limiters.has(model),
        );
        await Promise.all(group.map((member) => this.retire(member, model, reason)));
        return 'retired';
      }
      case 'auth': {
        const member = this.memberOf(account.id);
        await Promise.all(account.models.map((each) => this.retire(member, each, reason)));
        return 'retired';
      }
      default:
        return undefined;
    }
  }

  /**
   * Registers a call of this process waiting for admission on the account for the model:
   * retiring the account for it calls `stop`. Returns the function that unregisters.
   */
  watch(account: PooledAccount, model: string, stop: () => void): () => void {
    const key = markerKey(account.id, model);
    const stops = this.waiting.get(key) ?? new Set();
    this.waiting.set(key, stops);
    stops.add(stop);
    return () => {
      stops.delete(stop);
      if (stops.size === 0 && this.waiting.get(key) === stops) this.waiting.delete(key);
    };
  }

  private async retire(member: Member, model: string, reason: Classification): Promise<void> {
    const { id, billingGroup } = member.account;
    // calls still waiting on it go elsewhere now rather than be sent and refused in turn
    for (const stop of [...(this.waiting.get(markerKey(id, model)) ?? [])]) stop();
    try {
      const marker = await this.marker(member, model);
      await marker.pause(this.probeAfterMs);
    } catch (problem) {
      this.fail(problem);
    }
    this.reasons.set(markerKey(id, model), reason);
    this.emit('retired', { account: id, billingGroup, model, forMs: this.probeAfterMs, reason });
  }

  private classificationOf(error: unknown): Classification {
    for (const code of GIVE_UPS) {
      if (isTollgateError(error, code) && error.classification !== undefined) {
        return error.classification;
      }
    }
    return this.classifier(error);
  }

  /** Every account with a quota for the model, with its state and its limiter's snapshot. */
  private async views(model: string): Promise<ReadonlyArray<View>> {
    const members = [...this.members.values()].filter((member) => member.limiters.has(model));
    if (members.length === 0) {
      throw new InvalidArgumentError(
        `no account of the pool has a quota for it`,
        `model '${model}'`,
      );
    }
    // accounts of one billing group share a limiter: one snapshot each
    const snapshots = new Map<Limiter, Promise<LimiterSnapshot>>();
    const snapshotOf = (limiter: Limiter) => {
      let snapshot = snapshots.get(limiter);
      if (snapshot === undefined) {
        snapshot = limiter.snapshot();
        snapshots.set(limiter, snapshot);
      }
      return snapshot;
    };
    return Promise.all(
      members.map(async (member): Promise<View> => {
        const limiter = member.limiters.get(model)!;
        const { id, billingGroup } = member.account;
        const key = markerKey(id, model);
        const generation = this.markers.get(key)?.generation;
        const [snapshot, outForMs] = await Promise.all([
          snapshotOf(limiter),
          this.outForMs(member, model),
        ]);
        const reason = this.reasons.get(key);
        let state: AccountState;
        if (outForMs > 0) {
          state = {
            id,
            billingGroup,
            status: 'out',
            returnsInMs: outForMs,
            ...(reason === undefined ? {} : { reason }),
          };
        } else {
          if (reason !== undefined) {
            this.reasons.delete(key);
            // a new generation: restored (by any process sharing the store), not probed
            const by = this.markers.get(key)?.generation === generation ? 'probe' : 'restore';
            this.emit('restored', { account: id, model, by });
          }
          const held = snapshot.pausedForMs > 0;
          state = {
            id,
            billingGroup,
            status: held ? 'held' : 'available',
            returnsInMs: snapshot.pausedForMs,
          };
        }
        return { state, member, limiter, snapshot };
      }),
    );
  }

  private headroom(limiter: Limiter, snapshot: LimiterSnapshot, tokens: number): number {
    const busy = this.inProgress.get(limiter) ?? { requests: 0, tokens: 0 };
    let headroom = Number.POSITIVE_INFINITY;
    for (const window of snapshot.windows) {
      const need = window.unit === 'tokens' ? tokens + busy.tokens : 1 + busy.requests;
      headroom = Math.min(headroom, (window.remaining - need) / window.limit);
    }
    return headroom;
  }

  /** How long the account stays out for the model; 0 when it is not out. */
  private async outForMs(member: Member, model: string): Promise<number> {
    // the generation and the marker last seen read together: one round trip while no restore
    // has moved the account on (then the new generation's marker is read)
    const known = this.markers.get(markerKey(member.account.id, model));
    const [generation, seen] = await Promise.all([
      this.generationOf(member),
      known?.limiter.snapshot(),
    ]);
    if (known !== undefined && known.generation === generation && seen !== undefined) {
      return seen.pausedForMs;
    }
    return (await this.markerOf(member, model, generation).snapshot()).pausedForMs;
  }

  /** The out marker of the account's current generation for the model. */
  private async marker(member: Member, model: string): Promise<Limiter> {
    return this.markerOf(member, model, await this.generationOf(member));
  }

  /** How many times the account was restored: its generation. */
  private async generationOf(member: Member): Promise<number> {
    return (await member.restores.snapshot()).windows[0]!.used;
  }

  private markerOf(member: Member, model: string, generation: number): Limiter {
    const key = markerKey(member.account.id, model);
    const known = this.markers.get(key);
    if (known !== undefined && known.generation === generation) return known.limiter;
    const limiter = this.healthLimiter(`rotation:${member.account.id}:${model}:out:${generation}`);
    this.markers.set(key, { generation, limiter });
    return limiter;
  }

  private healthLimiter(key: string): Limiter {
    return new Limiter({
      quota: HEALTH_QUOTA,
      store: this.store,
      key,
      clock: this.clock,
      pacing: false,
      margin: { ms: 0 },
    });
  }

  private memberOf(accountId: string): Member {
    const member = this.members.get(accountId);
    if (member === undefined) {
      throw new InvalidArgumentError(
        mustBe('the id of an account of the pool', accountId),
        'accountId',
      );
    }
    return member;
  }

  private limiterOf(member: Member, model: string | undefined, path: string): Limiter {
    const limiter = model === undefined ? undefined : member.limiters.get(model);
    if (limiter === undefined) {
      throw new InvalidArgumentError(
        mustBe(`a model account '${member.account.id}' has a quota for`, model),
        path,
      );
    }
    return limiter;
  }

  /** Says which account served a call. */
  served(account: PooledAccount, model: string): void {
    this.emit('served', { account: account.id, billingGroup: account.billingGroup, model });
  }

  private emit<E extends keyof PoolEvents>(event: E, payload: PoolEvents[E]): void {
    this.events.emit(event, payload);
  }

  private fail(error: unknown): void {
    this.emit('error', { error });
  }

  /** Validates the accounts and builds one limiter per billing group and model. */
  private build(input: unknown): ReadonlyArray<PooledAccount> {
    if (!Array.isArray(input) || input.length === 0) {
      throw new ConfigurationError(mustBe('a non-empty array', input), 'accountPool.accounts');
    }
    const definitions = input as ReadonlyArray<AccountDefinition>;
    /** Per billing group, per model: the quota and the account that gave it first. */
    const groups = new Map<string, Map<string, { quota: Quota | LimiterFactory; from: string }>>();
    for (const [index, definition] of definitions.entries()) {
      const path = `accountPool.accounts[${index}]`;
      checkOptions(definition, path, ACCOUNT_KEYS);
      const id = checkName(definition.id, `${path}.id`);
      if (definitions.slice(0, index).some((other) => other.id === id)) {
        throw new ConfigurationError(`duplicate account id '${id}'`, `${path}.id`);
      }
      const group = checkName(definition.billingGroup ?? id, `${path}.billingGroup`);
      checkNumber(definition.weight ?? 1, `${path}.weight`, { above: 0 });
      checkOptions(definition.quotas, `${path}.quotas`, Object.keys(definition.quotas ?? {}));
      const quotas = groups.get(group) ?? new Map();
      groups.set(group, quotas);
      for (const [model, value] of Object.entries(definition.quotas)) {
        const quotaPath = `${path}.quotas['${model}']`;
        const quota = typeof value === 'function' ? value : quotaOf(value, quotaPath);
        const known = quotas.get(model);
        if (known === undefined) quotas.set(model, { quota, from: id });
        else if (!sameQuota(known.quota, quota)) {
          throw new ConfigurationError(
            `differs from account '${known.from}''s; the accounts of billing group '${group}' share one quota`,
            quotaPath,
          );
        }
      }
    }
    const limiters = new Map<string, ReadonlyMap<string, Limiter>>();
    for (const [group, quotas] of groups) {
      const byModel = new Map<string, Limiter>();
      for (const [model, { quota }] of quotas) {
        byModel.set(model, this.quotaLimiter(`${group}:${model}`, quota));
      }
      limiters.set(group, byModel);
    }
    return definitions.map((definition) => {
      const group = definition.billingGroup ?? definition.id;
      const byModel = limiters.get(group)!;
      const { id, apiKey, baseURL, organization, headers } = definition;
      const account: PooledAccount = {
        id,
        billingGroup: group,
        weight: definition.weight ?? 1,
        credentials: {
          id,
          ...(apiKey === undefined ? {} : { apiKey }),
          ...(baseURL === undefined ? {} : { baseURL }),
          ...(organization === undefined ? {} : { organization }),
          ...(headers === undefined ? {} : { headers }),
        },
        models: [...byModel.keys()],
      };
      this.members.set(id, {
        account,
        limiters: byModel,
        restores: this.healthLimiter(`rotation:${id}:restores`),
      });
      return account;
    });
  }

  private quotaLimiter(key: string, quota: Quota | LimiterFactory): Limiter {
    if (typeof quota !== 'function') {
      return new Limiter({ quota, store: this.store, key, clock: this.clock });
    }
    const limiter = quota({ store: this.store, key, clock: this.clock });
    if (!(limiter instanceof Limiter)) {
      throw new ConfigurationError(mustBe('a Limiter', limiter), `limiter factory of '${key}'`);
    }
    return limiter;
  }
}

function chooserOf(strategy: unknown, accounts: ReadonlyArray<PooledAccount>): Chooser {
  if (typeof strategy === 'function') return strategy as Chooser;
  switch (checkOneOf(strategy, 'accountPool.strategy', STRATEGIES)) {
    case 'most-headroom':
      return mostHeadroom;
    case 'round-robin':
      return roundRobin(accounts);
    case 'weighted':
      return weighted();
  }
}

/** A quota definition, validated, with any error naming the account's option. */
function quotaOf(value: unknown, path: string): Quota {
  try {
    return defineQuota(value as Parameters<typeof defineQuota>[0]);
  } catch (error) {
    if (!isTollgateError(error, 'TOLLGATE_CONFIGURATION')) throw error;
    const problem = error.message.slice(error.option.length + 2);
    throw new ConfigurationError(problem, error.option.replace(/^quota/, path));
  }
}

function sameQuota(a: Quota | LimiterFactory, b: Quota | LimiterFactory): boolean {
  if (typeof a === 'function' || typeof b === 'function') return a === b;
  return JSON.stringify(a) === JSON.stringify(b);
}

const markerKey = (id: string, model: string) => `${id}\n${model}`;
