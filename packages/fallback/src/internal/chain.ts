import {
  type CallContext,
  type Clock,
  ConfigurationError,
  InvalidArgumentError,
  isTollgateError,
  Limiter,
  MemoryStore,
  type Store,
  systemClock,
  type WaitTimeoutError,
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
import {
  type Classification,
  type Classifier,
  createClassifier,
  type ErrorKind,
  PROVIDERS,
} from '@tollgate/retry';
import type {
  ChainedModel,
  ModelChain,
  ModelChainOptions,
  ModelDefinition,
  ModelLayer,
} from '../chain.js';
import type { ChainEvents, ModelSkip } from '../events.js';

const CHAIN_KEYS = [
  'models',
  'fallbackOn',
  'probeAfterMs',
  'store',
  'clock',
  'provider',
  'classifier',
];
const MODEL_KEYS = [
  'model',
  'quota',
  'limiter',
  'layer',
  'limiterFor',
  'spillAfterMs',
  'maxWaitMs',
  'contextWindow',
];
const DEFAULT_SPILL_AFTER_MS = 1_000;
const EVENTS = keysOf<ChainEvents>({ fallback: true, served: true, out: true, error: true });
const ERROR_KINDS = keysOf<Record<ErrorKind, unknown>>({
  'request-rate': true,
  'token-rate': true,
  burst: true,
  'quota-exhausted': true,
  auth: true,
  'context-length': true,
  'bad-request': true,
  server: true,
  timeout: true,
  network: true,
  unknown: true,
});

/** The code of @tollgate/rotation's `AllAccountsUnavailableError`. */
const NO_ACCOUNT = 'TOLLGATE_ALL_ACCOUNTS_UNAVAILABLE';

/** Retry's give-up errors that carry the last attempt's error and its classification. */
const GIVE_UPS = ['TOLLGATE_RETRY_EXHAUSTED', 'TOLLGATE_RETRY_AFTER_TOO_LONG'] as const;

/**
 * A model of the chain with its limiter; or the layer its calls go through (`rotate(pool)`)
 * and the limiter for each of them (`pool.limiterFor`); or neither, when a layer below the
 * chain limits it.
 */
export interface Member extends ChainedModel {
  readonly limiter: Limiter | undefined;
  readonly layer: ModelLayer | undefined;
  readonly limiterFor: ((context: CallContext) => Limiter) | undefined;
}

/**
 * The chain behind `modelChain()`; `fallback()` uses `members`, `member`, `clock`, `skipOf` and
 * `emit`.
 */
export class Chain implements ModelChain {
  readonly models: ReadonlyArray<ChainedModel>;
  readonly members: ReadonlyArray<Member>;
  readonly clock: Clock;
  readonly limiterFor = (context: CallContext): Limiter => {
    const member = this.member(context.model, 'context.model');
    return member.limiterFor?.(context) ?? this.limiterOf(member, 'context.model');
  };

  private readonly fallbackOn: ReadonlySet<ErrorKind>;
  private readonly probeAfterMs: number;
  /** Models whose quota a refusal said is exhausted, until when, and that refusal. */
  private readonly out = new Map<Member, { until: number; classification: Classification }>();
  private readonly classifier: Classifier;
  private readonly events = new Emitter<ChainEvents>(EVENTS, (error, event) => {
    if (event !== 'error') this.events.emit('error', { error });
  });

  constructor(options: ModelChainOptions) {
    checkOptions(options, 'modelChain', CHAIN_KEYS);
    const clock = checkClock(options.clock ?? systemClock, 'modelChain.clock');
    this.clock = clock;
    const store =
      options.store === undefined
        ? new MemoryStore({ clock })
        : checkStore(options.store, 'modelChain.store');
    this.classifier =
      options.classifier === undefined
        ? createClassifier({
            provider: checkOneOf(options.provider ?? 'generic', 'modelChain.provider', PROVIDERS),
          })
        : checkFunction(options.classifier, 'modelChain.classifier');
    const fallbackOn: unknown = options.fallbackOn ?? ['quota-exhausted', 'context-length'];
    if (!Array.isArray(fallbackOn)) {
      throw new ConfigurationError(mustBe('an array', fallbackOn), 'modelChain.fallbackOn');
    }
    this.fallbackOn = new Set(
      fallbackOn.map((kind, index) =>
        checkOneOf(kind, `modelChain.fallbackOn[${index}]`, ERROR_KINDS),
      ),
    );
    this.probeAfterMs = checkNumber(options.probeAfterMs ?? 300_000, 'modelChain.probeAfterMs', {
      min: 0,
    });
    this.members = buildMembers(options.models, store, clock);
    this.models = this.members.map(({ model, spillAfterMs, contextWindow }) => ({
      model,
      spillAfterMs,
      contextWindow,
    }));
  }

  limiter(model: string): Limiter {
    return this.limiterOf(this.member(model, 'model'), 'model');
  }

  private limiterOf(member: Member, path: string): Limiter {
    if (member.limiter !== undefined) return member.limiter;
    if (member.limiterFor !== undefined) {
      throw new InvalidArgumentError(
        `model '${member.model}' has one limiter per call (its limiterFor), not one for the chain`,
        path,
      );
    }
    throw new InvalidArgumentError(
      `model '${member.model}' has no quota in the chain (a layer below limits it, such as rotate(pool) with limit(pool.limiterFor))`,
      path,
    );
  }

  on<E extends keyof ChainEvents>(
    event: E,
    listener: (payload: ChainEvents[E]) => void,
  ): () => void {
    return this.events.on(event, listener);
  }

  member(model: unknown, path: string): Member {
    const member = this.members.find((each) => each.model === model);
    if (member === undefined) {
      throw new InvalidArgumentError(mustBe('a model of the chain', model), path);
    }
    return member;
  }

  /**
   * Why a failed call lets the request go down the chain: its limiter gave up on it, no account
   * of its pool can take it, or the failure is of a kind in `fallbackOn`. `undefined`: it may
   * not.
   */
  skipOf(error: unknown): ModelSkip | undefined {
    const giveUp = GIVE_UPS.find((code) => isTollgateError(error, code));
    const failure = giveUp === undefined ? error : (error as { lastError: unknown }).lastError;
    if (isTollgateError(failure, 'TOLLGATE_WAIT_TIMEOUT')) return overBudget(failure);
    if (isTollgateError(failure, 'TOLLGATE_REQUEST_TOO_LARGE')) {
      const { window, limit, requested } = failure;
      return { kind: 'too-large', window, limit, requested };
    }
    // @tollgate/rotation's, read by its code: this package does not depend on it
    if (isTollgateError(failure) && (failure.code as string) === NO_ACCOUNT) {
      const { returnsInMs } = failure as { returnsInMs?: unknown };
      return { kind: 'no-account', returnsInMs: typeof returnsInMs === 'number' ? returnsInMs : 0 };
    }
    const classification: Classification =
      (giveUp === undefined
        ? undefined
        : (error as { classification: Classification | undefined }).classification) ??
      this.classifier(failure);
    return this.fallbackOn.has(classification.kind)
      ? { kind: 'refused', classification }
      : undefined;
  }

  /**
   * Records a refusal that is the model's, not the request's: an exhausted quota takes the model
   * out for `probeAfterMs` (in this process), so that later requests are not sent to it to be
   * refused in turn. A model limited below the chain (a pool's) is left to the pool.
   */
  refused(member: Member, classification: Classification): void {
    if (classification.kind !== 'quota-exhausted' || member.limiter === undefined) return;
    if (this.probeAfterMs === 0) return;
    this.out.set(member, { until: this.clock.now() + this.probeAfterMs, classification });
    this.emit('out', { model: member.model, forMs: this.probeAfterMs, classification });
  }

  /** The refusal that has the model out now, if any; the first call after it is the probe. */
  outOf(member: Member): Classification | undefined {
    const out = this.out.get(member);
    if (out === undefined) return undefined;
    if (this.clock.now() < out.until) return out.classification;
    this.out.delete(member);
    return undefined;
  }

  emit<E extends keyof ChainEvents>(event: E, payload: ChainEvents[E]): void {
    this.events.emit(event, payload);
  }
}

function overBudget(error: WaitTimeoutError): ModelSkip {
  return {
    kind: 'over-budget',
    maxWaitMs: error.maxWaitMs,
    expectedWaitMs: error.expectedWaitMs,
  };
}

/** Validates the models and builds a limiter for each one given by its quota. */
function buildMembers(
  input: unknown,
  store: Store,
  clock: NonNullable<ModelChainOptions['clock']>,
): ReadonlyArray<Member> {
  if (!Array.isArray(input) || input.length === 0) {
    throw new ConfigurationError(mustBe('a non-empty array', input), 'modelChain.models');
  }
  const definitions = input as ReadonlyArray<ModelDefinition>;
  return definitions.map((definition, index): Member => {
    const path = `modelChain.models[${index}]`;
    checkOptions(definition, path, MODEL_KEYS);
    const model = checkName(definition.model, `${path}.model`);
    if (definitions.slice(0, index).some((other) => other.model === model)) {
      throw new ConfigurationError(`duplicate model '${model}'`, `${path}.model`);
    }
    const contextWindow =
      definition.contextWindow === undefined
        ? undefined
        : checkNumber(definition.contextWindow, `${path}.contextWindow`, {
            above: 0,
            integer: true,
          });
    const given = (['quota', 'limiter', 'layer'] as const).filter(
      (key) => definition[key] !== undefined,
    );
    if (given.length > 1) {
      throw new ConfigurationError(`give at most one of quota, limiter and layer`, path);
    }
    if ((definition.layer === undefined) !== (definition.limiterFor === undefined)) {
      throw new ConfigurationError('give layer and limiterFor together', path);
    }
    const spillAfterMs = checkNumber(
      definition.spillAfterMs ?? DEFAULT_SPILL_AFTER_MS,
      `${path}.spillAfterMs`,
      { min: 0, infinity: true },
    );
    const common = { model, spillAfterMs, contextWindow };
    if (definition.limiter !== undefined) {
      if (definition.maxWaitMs !== undefined) {
        throw new ConfigurationError(
          "set it on the limiter: a limiter's own maxWaitMs is how long it is waited for",
          `${path}.maxWaitMs`,
        );
      }
      if (!(definition.limiter instanceof Limiter)) {
        throw new ConfigurationError(mustBe('a Limiter', definition.limiter), `${path}.limiter`);
      }
      return { ...common, limiter: definition.limiter, layer: undefined, limiterFor: undefined };
    }
    if (definition.quota === undefined) {
      if (definition.maxWaitMs !== undefined) {
        throw new ConfigurationError(
          'only with quota: the layer that limits this model decides how long it waits',
          `${path}.maxWaitMs`,
        );
      }
      const layer =
        definition.layer === undefined
          ? undefined
          : checkFunction(definition.layer, `${path}.layer`);
      const limiterFor =
        definition.limiterFor === undefined
          ? undefined
          : checkFunction(definition.limiterFor, `${path}.limiterFor`);
      return { ...common, limiter: undefined, layer, limiterFor };
    }
    const maxWaitMs = checkNumber(
      definition.maxWaitMs ?? Number.POSITIVE_INFINITY,
      `${path}.maxWaitMs`,
      { min: 0, infinity: true },
    );
    const limiter = new Limiter({
      quota: definition.quota,
      store,
      key: `fallback:${model}`,
      clock,
      maxWaitMs,
    });
    return { ...common, limiter, layer: undefined, limiterFor: undefined };
  });
}

function keysOf<T>(record: Record<keyof T, unknown>): ReadonlyArray<keyof T & string> {
  return Object.keys(record) as Array<keyof T & string>;
}
