import {
  type AdmitDecision,
  type AdmitOptions,
  type Clock,
  ConfigurationError,
  InvalidArgumentError,
  type MarginWidening,
  MemoryStore,
  type Store,
  StoreError,
  type StorePlan,
  type StoreSnapshot,
  StoreUnavailableError,
  type Ticket,
} from '@tollgate/core';
import {
  checkClock,
  checkName,
  checkNumber,
  checkOneOf,
  checkOptions,
  mustBe,
} from '@tollgate/core/validate';
import type { Cluster, Redis } from 'ioredis';
import { checkPlan } from './internal/check.js';
import {
  blockedByName,
  packDoubles,
  packPlan,
  scalePlan,
  shortHash,
  unpackDoubles,
} from './internal/codec.js';
import { conflictingPlan, isUnavailable } from './internal/errors.js';
import { SCRIPTS, type ScriptName } from './internal/scripts.js';
import { withTimeout } from './internal/timeout.js';

/**
 * What the store does while Redis does not answer:
 *
 * - `'fail-closed'` — no admissions: `admit` rejects with core's `StoreUnavailableError`, and
 *   the limiter keeps its waiters waiting (each bounded by its own `maxWaitMs` and `signal`)
 *   until Redis answers again. Never more than the quota, at the price of waiting.
 * - `{ fallback: 'memory', share }` — this process decides on its own, in memory, against
 *   `share` of every limit (for N processes, `1 / N`), and goes back to Redis once it answers.
 *   Keeps serving, at the price of exactness during the outage (see the README).
 */
export type UnavailabilityPolicy =
  | 'fail-closed'
  | { readonly fallback: 'memory'; readonly share: number };

/** Where the store's decisions come from now; see {@link RedisStore.mode}. */
export type RedisStoreMode = 'redis' | 'fallback' | 'unavailable';

export interface RedisStoreOptions {
  /**
   * An ioredis `Redis` or `Cluster` client. The store borrows it: it defines its scripts on it
   * and never connects, quits or disconnects it.
   */
  readonly client: Redis | Cluster;
  /** Every key the store writes starts with `<prefix>:`. @default 'tollgate' */
  readonly prefix?: string;
  /**
   * For tests and simulations only: decide on this clock (its `now()` is sent with every call)
   * instead of the Redis server's. Keys still expire on the server's clock, so the clock must
   * not run slower than real time. @default the server's clock (`TIME` in the scripts)
   */
  readonly clock?: Clock;
  /**
   * How long any call waits for Redis before it counts as unavailable. Lower it to fail (or
   * fall back) faster; raise it for a distant server. @default 500
   */
  readonly commandTimeoutMs?: number;
  /** What to do while Redis does not answer. @default 'fail-closed' */
  readonly onUnavailable?: UnavailabilityPolicy;
}

const OPTION_KEYS = ['client', 'prefix', 'clock', 'commandTimeoutMs', 'onUnavailable'];
/**
 * While Redis is unavailable, a probe goes out at most this often (on the next call); the
 * limiter is told to ask again after it.
 */
const PROBE_INTERVAL_MS = 100;
/** ioredis states in which a command would only wait in the offline queue: Redis is away. */
const DISCONNECTED = new Set(['reconnecting', 'close', 'end']);
/** Fallback tickets carry this prefix, so settlement finds its way back to memory. */
const MEMORY_TICKET = 'm:';

type ScriptCommand = (this: unknown, ...args: Array<string | Buffer>) => Promise<unknown>;

const COMMAND_NAMES = Object.fromEntries(
  Object.entries(SCRIPTS).map(([name, lua]) => [name, `tollgate_${name}_${shortHash(lua)}`]),
) as Record<ScriptName, string>;

interface Outage {
  readonly cause: unknown;
  /** The Redis key of the call that failed: the probe asks the node serving it. */
  readonly key: string;
}

/**
 * A {@link Store} on Redis: every process (and machine) using the same Redis, prefix and key
 * shares one quota exactly. Each admission is one script call that decides every window of
 * the quota, every candidate, at once, on the Redis server's clock. Works on Redis Cluster:
 * all the keys of a quota live in one hash slot.
 *
 * @example
 * const redis = new Redis(process.env.REDIS_URL);
 * const limiter = new Limiter({
 *   quota: { rpm: 600, tpm: 1_000_000, rps: 10, tps: 16_667 },
 *   store: new RedisStore({ client: redis }),
 *   key: 'dashscope:acct-1:qwen3-max',
 * });
 */
export class RedisStore implements Store {
  private readonly client: Redis | Cluster;
  private readonly prefix: string;
  private readonly clock: Clock | undefined;
  private readonly commandTimeoutMs: number;
  private readonly share: number | undefined;
  private fallbackStore: MemoryStore | undefined;
  private readonly scaledPlans = new WeakMap<StorePlan, StorePlan>();
  private outage: Outage | undefined;
  private probing: Promise<boolean> | undefined;
  private lastProbeAt = Number.NEGATIVE_INFINITY;

  constructor(options: RedisStoreOptions) {
    checkOptions(options, 'RedisStore', OPTION_KEYS);
    const { client, clock } = options;
    if (typeof (client as Partial<Redis> | null)?.defineCommand !== 'function') {
      throw new ConfigurationError(
        mustBe('an ioredis Redis or Cluster client', client),
        'RedisStore.client',
      );
    }
    this.client = client;
    this.prefix = checkName(options.prefix ?? 'tollgate', 'RedisStore.prefix');
    // the whole Clock: the in-memory fallback keeps its timers on it
    this.clock = clock === undefined ? undefined : checkClock(clock, 'RedisStore.clock');
    this.commandTimeoutMs = checkNumber(
      options.commandTimeoutMs ?? 500,
      'RedisStore.commandTimeoutMs',
      { above: 0 },
    );
    this.share = parsePolicy(options.onUnavailable ?? 'fail-closed');
    const commands = client as unknown as Record<string, unknown>;
    for (const [name, lua] of Object.entries(SCRIPTS)) {
      const command = COMMAND_NAMES[name as ScriptName];
      if (typeof commands[command] !== 'function') {
        client.defineCommand(command, { numberOfKeys: 1, lua });
      }
    }
  }

  /**
   * Where decisions come from now: `'redis'`; `'fallback'` while Redis is unavailable and the
   * policy is `{ fallback: 'memory' }`; `'unavailable'` while it is unavailable and the policy
   * is `'fail-closed'` (admissions reject). For health checks and metrics.
   */
  get mode(): RedisStoreMode {
    if (this.outage === undefined) return 'redis';
    return this.share === undefined ? 'unavailable' : 'fallback';
  }

  async admit(
    key: string,
    plan: StorePlan,
    costs: ReadonlyArray<number>,
    options?: AdmitOptions,
  ): Promise<AdmitDecision> {
    checkCall(key, plan);
    if (!Array.isArray(costs)) {
      throw new InvalidArgumentError(mustBe('an array of token counts', costs), 'costs');
    }
    for (let index = 0; index < costs.length; index++) {
      const cost = costs[index];
      // tested before any message is worded: this runs for every candidate of every decision
      if (!(typeof cost === 'number' && cost >= 0 && cost < Number.POSITIVE_INFINITY)) {
        checkNumber(cost, `costs[${index}]`, { min: 0 }, InvalidArgumentError);
      }
    }
    const latest = options?.headLatestStart;
    if (latest !== undefined) {
      checkNumber(latest, 'options.headLatestStart', { infinity: true }, InvalidArgumentError);
    }
    return this.run(
      key,
      plan,
      'admit',
      [latest ?? Number.NaN, ...costs],
      (reply) => parseDecision(reply, plan, costs.length),
      (memory, scaled) => {
        const decision = memory.admit(key, scaled, costs, options);
        return {
          ...decision,
          tickets: decision.tickets.map((ticket) =>
            ticket === undefined ? undefined : `${MEMORY_TICKET}${ticket}`,
          ),
        };
      },
    );
  }

  async rebook(key: string, plan: StorePlan, ticket: Ticket, tokens: number): Promise<void> {
    checkCall(key, plan);
    checkTicket(ticket);
    checkNumber(tokens, 'tokens', { min: 0 }, InvalidArgumentError);
    const memoryTicket = this.memoryTicket(ticket);
    if (memoryTicket !== undefined) {
      this.fallbackStore?.rebook(key, this.scaled(plan), memoryTicket, tokens);
      return;
    }
    await this.settle(key, plan, 'rebook', [Number(ticket), tokens]);
  }

  async release(key: string, plan: StorePlan, ticket: Ticket): Promise<void> {
    checkCall(key, plan);
    checkTicket(ticket);
    const memoryTicket = this.memoryTicket(ticket);
    if (memoryTicket !== undefined) {
      this.fallbackStore?.release(key, this.scaled(plan), memoryTicket);
      return;
    }
    await this.settle(key, plan, 'release', [Number(ticket)]);
  }

  async restamp(key: string, plan: StorePlan, ticket: Ticket, tokens: number): Promise<Ticket> {
    checkCall(key, plan);
    checkTicket(ticket);
    if (!(typeof tokens === 'number' && tokens >= 0 && tokens < Number.POSITIVE_INFINITY)) {
      checkNumber(tokens, 'tokens', { min: 0 }, InvalidArgumentError);
    }
    const memoryTicket = this.memoryTicket(ticket);
    if (memoryTicket !== undefined) {
      const moved = this.memory().restamp(key, this.scaled(plan), memoryTicket, tokens);
      return `${MEMORY_TICKET}${moved}`;
    }
    return parseInstant(await this.settle(key, plan, 'restamp', [Number(ticket), tokens]));
  }

  async pause(key: string, plan: StorePlan, durationMs: number): Promise<number> {
    checkCall(key, plan);
    checkNumber(durationMs, 'durationMs', { min: 0 }, InvalidArgumentError);
    return this.run(key, plan, 'pause', [durationMs], parseInstant, (memory, scaled) =>
      memory.pause(key, scaled, durationMs),
    );
  }

  async throttle(
    key: string,
    plan: StorePlan,
    factor: number,
    durationMs: number,
  ): Promise<number> {
    checkCall(key, plan);
    checkNumber(factor, 'factor', { above: 0, max: 1 }, InvalidArgumentError);
    checkNumber(durationMs, 'durationMs', { min: 0 }, InvalidArgumentError);
    return this.run(key, plan, 'throttle', [factor, durationMs], parseInstant, (memory, scaled) =>
      memory.throttle(key, scaled, factor, durationMs),
    );
  }

  async widen(key: string, plan: StorePlan, widening: MarginWidening): Promise<number> {
    checkCall(key, plan);
    const { stepMs, maxMs, decayMs } = widening;
    checkNumber(stepMs, 'widening.stepMs', { above: 0 }, InvalidArgumentError);
    checkNumber(decayMs, 'widening.decayMs', { above: 0 }, InvalidArgumentError);
    checkNumber(maxMs, 'widening.maxMs', { above: 0, max: decayMs }, InvalidArgumentError);
    return this.run(key, plan, 'widen', [stepMs, maxMs, decayMs], parseInstant, (memory, scaled) =>
      memory.widen(key, scaled, widening),
    );
  }

  async snapshot(key: string, plan: StorePlan): Promise<StoreSnapshot> {
    checkCall(key, plan);
    return this.run(
      key,
      plan,
      'snapshot',
      [],
      (reply) => parseSnapshot(reply, plan),
      (memory, scaled) => memory.snapshot(key, scaled),
    );
  }

  /** The Redis key holding `key`'s quota: one hash slot per quota, thanks to the hash tag. */
  private redisKey(key: string): string {
    return `${this.prefix}:{${key}}:q`;
  }

  /**
   * One script call on Redis, or — while Redis is unavailable — the policy: a `StoreError`,
   * or the in-memory fallback's answer.
   */
  private async run<T>(
    key: string,
    plan: StorePlan,
    script: ScriptName,
    extra: ReadonlyArray<number>,
    parse: (reply: unknown) => T,
    fallback: (memory: MemoryStore, scaled: StorePlan) => T,
  ): Promise<T> {
    const redisKey = this.redisKey(key);
    // a connection known to be down: no command that would wait commandTimeoutMs for nothing
    if (this.outage === undefined && DISCONNECTED.has(this.client.status)) {
      this.outage = { cause: new Error(`connection is ${this.client.status}`), key: redisKey };
    }
    if (this.outage !== undefined) {
      const probe = this.probe();
      if (this.share !== undefined) return fallback(this.memory(), this.scaled(plan));
      if (probe === undefined || !(await probe)) throw this.unavailableError(this.outage);
    }
    const args = this.arguments(redisKey, plan, extra);
    let reply: unknown;
    try {
      reply = await withTimeout(this.invoke(script, args), this.commandTimeoutMs);
    } catch (error) {
      const outage = this.failed(key, redisKey, script, error);
      if (this.share === undefined) throw this.unavailableError(outage);
      return fallback(this.memory(), this.scaled(plan));
    }
    return parse(reply);
  }

  /**
   * Settlement (and a departure's move) is not gated by an outage: ioredis may still deliver
   * it once Redis is back. Answers the script's reply.
   */
  private async settle(
    key: string,
    plan: StorePlan,
    script: 'rebook' | 'release' | 'restamp',
    extra: ReadonlyArray<number>,
  ): Promise<unknown> {
    const redisKey = this.redisKey(key);
    const args = this.arguments(redisKey, plan, extra);
    try {
      return await withTimeout(this.invoke(script, args), this.commandTimeoutMs);
    } catch (error) {
      const outage = this.failed(key, redisKey, script, error);
      throw new StoreError(`Redis ${script} may not have been recorded: ${messageOf(error)}`, {
        cause: outage.cause,
      });
    }
  }

  /**
   * Classifies a failed call: a plan conflict or a script error is thrown at once; anything
   * that means Redis is unreachable opens an outage (returned).
   */
  private failed(key: string, redisKey: string, script: ScriptName, error: unknown): Outage {
    const storedPlan = conflictingPlan(error);
    if (storedPlan !== undefined) {
      throw new ConfigurationError(
        `already holds a different quota (${storedPlan}); give each quota its own key`,
        `key '${key}'`,
      );
    }
    if (!isUnavailable(error)) {
      throw new StoreError(`Redis ${script} failed: ${messageOf(error)}`, { cause: error });
    }
    this.outage = { cause: error, key: redisKey };
    return this.outage;
  }

  /** A script's arguments: the quota's key, the call (clock, then numbers), the plan. */
  private arguments(
    redisKey: string,
    plan: StorePlan,
    extra: ReadonlyArray<number>,
  ): ReadonlyArray<string | Buffer> {
    const now = this.clock === undefined ? Number.NaN : this.clock.now();
    return [redisKey, packDoubles([now, ...extra]), plan.id, packPlan(plan)];
  }

  /** Sends one script call; its packed reply comes back as a Buffer (the command's Buffer form). */
  private invoke(script: ScriptName, args: ReadonlyArray<string | Buffer>): Promise<unknown> {
    const command = (this.client as unknown as Record<string, ScriptCommand>)[
      `${COMMAND_NAMES[script]}Buffer`
    ];
    if (command === undefined) return Promise.reject(new Error(`script ${script} not defined`));
    return command.call(this.client, ...args);
  }

  /**
   * While Redis is unavailable: asks the node serving the failed key whether it answers again,
   * at most once per {@link PROBE_INTERVAL_MS}. Returns the probe when one is running.
   */
  private probe(): Promise<boolean> | undefined {
    const outage = this.outage;
    if (outage === undefined) return Promise.resolve(true);
    if (this.probing !== undefined) return this.probing;
    // ioredis reconnects on its own: until it has, a probe could only time out
    if (this.client.status !== 'ready') return undefined;
    const now = Date.now();
    if (now - this.lastProbeAt < PROBE_INTERVAL_MS) return undefined;
    this.lastProbeAt = now;
    const probing = withTimeout(this.client.exists(outage.key), this.commandTimeoutMs).then(
      () => {
        if (this.outage === outage) this.outage = undefined;
        return true;
      },
      () => false,
    );
    this.probing = probing;
    probing.then(() => {
      if (this.probing === probing) this.probing = undefined;
    });
    return probing;
  }

  private unavailableError(outage: Outage): StoreUnavailableError {
    return new StoreUnavailableError(`Redis is unavailable: ${messageOf(outage.cause)}`, {
      cause: outage.cause,
      retryInMs: PROBE_INTERVAL_MS,
    });
  }

  private memory(): MemoryStore {
    this.fallbackStore ??= new MemoryStore(this.clock === undefined ? {} : { clock: this.clock });
    return this.fallbackStore;
  }

  private scaled(plan: StorePlan): StorePlan {
    let scaled = this.scaledPlans.get(plan);
    if (scaled === undefined) {
      scaled = scalePlan(plan, this.share ?? 1);
      this.scaledPlans.set(plan, scaled);
    }
    return scaled;
  }

  /** The memory store's ticket inside a fallback ticket (`m:12` → 12), else undefined. */
  private memoryTicket(ticket: Ticket): number | undefined {
    if (typeof ticket !== 'string' || !ticket.startsWith(MEMORY_TICKET)) return undefined;
    return Number(ticket.slice(MEMORY_TICKET.length));
  }
}

/** What every call names: a non-empty `key` and a plan. */
function checkCall(key: string, plan: StorePlan): void {
  checkName(key, 'key', InvalidArgumentError);
  checkPlan(plan);
}

/** A ticket this store issued: a number from Redis, `m:<number>` from the in-memory fallback. */
function checkTicket(ticket: Ticket): void {
  const ours =
    (typeof ticket === 'number' && Number.isFinite(ticket)) ||
    (typeof ticket === 'string' &&
      ticket.startsWith(MEMORY_TICKET) &&
      ticket.length > MEMORY_TICKET.length &&
      Number.isFinite(Number(ticket.slice(MEMORY_TICKET.length))));
  if (!ours) throw new InvalidArgumentError(mustBe('a ticket of this store', ticket), 'ticket');
}

function parsePolicy(policy: UnavailabilityPolicy): number | undefined {
  if (policy === 'fail-closed') return undefined;
  const path = 'RedisStore.onUnavailable';
  if (typeof policy !== 'object' || policy === null) {
    throw new ConfigurationError(
      mustBe("'fail-closed' or { fallback: 'memory', share }", policy),
      path,
    );
  }
  checkOptions(policy, path, ['fallback', 'share']);
  checkOneOf(policy.fallback, `${path}.fallback`, ['memory']);
  return checkNumber(policy.share, `${path}.share`, { above: 0, max: 1 });
}

const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

const unexpected = (what: string, reply: unknown): StoreError =>
  new StoreError(`Redis answered ${what} with an unexpected reply`, { cause: reply });

/** NaN is the scripts' "absent". */
const present = (value: number | undefined): value is number =>
  value !== undefined && !Number.isNaN(value);

function parseDecision(reply: unknown, plan: StorePlan, count: number): AdmitDecision {
  const values = unpackDoubles(reply);
  if (values === undefined || values.length !== 4 + count) throw unexpected('admit', reply);
  const tickets: Array<Ticket | undefined> = [];
  for (let i = 4; i < values.length; i++) {
    const ticket = values[i];
    tickets.push(present(ticket) ? ticket : undefined);
  }
  const decision: {
    now: number;
    tickets: Array<Ticket | undefined>;
    retryAt?: number;
    wakeAt?: number;
    blockedBy?: string;
  } = { now: values[0]!, tickets };
  if (present(values[1])) decision.retryAt = values[1];
  if (present(values[2])) decision.wakeAt = values[2];
  const blocked = blockedByName(values[3]!, plan);
  if (blocked !== undefined) decision.blockedBy = blocked;
  return decision;
}

function parseInstant(reply: unknown): number {
  const values = unpackDoubles(reply);
  if (values?.length !== 1) throw unexpected('pause/throttle/widen', reply);
  return values[0]!;
}

function parseSnapshot(reply: unknown, plan: StorePlan): StoreSnapshot {
  const values = unpackDoubles(reply);
  if (values === undefined || values.length !== 5 + 2 * plan.windows.length) {
    throw unexpected('snapshot', reply);
  }
  const widenedMs = values[4]!;
  const snapshot: StoreSnapshot = {
    now: values[0]!,
    windows: plan.windows.map((window, k) => ({
      name: window.name,
      used: values[5 + 2 * k]!,
      limit: values[6 + 2 * k]!,
    })),
    pausedUntil: values[1]!,
    ...(present(values[2]) ? { throttle: { factor: values[2], until: values[3]! } } : {}),
    ...(widenedMs > 0 ? { widenedMs } : {}),
  };
  return snapshot;
}
