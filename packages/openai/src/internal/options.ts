import {
  type ChatRequestLike,
  ConfigurationError,
  defaultChatEstimator,
  type Limiter,
  type TokenEstimate,
} from '@tollgate/core';
import {
  isRetryPolicy,
  type Provider,
  type RetryLayer,
  type RetryPolicy,
  type RetryPolicyOptions,
  retry,
  retryPolicy,
} from '@tollgate/retry';
import type { FetchLike, TollgateFetchOptions } from '../fetch.js';
import type { ChatCompletionBody } from './request.js';

const OPTION_KEYS = [
  'limiter',
  'retry',
  'provider',
  'fetch',
  'estimate',
  'priority',
  'maxWaitMs',
  'syncHeaders',
] as const;
const PROVIDERS: ReadonlyArray<Provider> = ['dashscope', 'openai', 'generic'];

/** A policy and the retry layer built on it. */
export interface Retrier {
  readonly policy: RetryPolicy;
  readonly layer: RetryLayer;
}

export interface Config {
  readonly limiter: Limiter;
  readonly fetch: FetchLike;
  /** Undefined: detected from each request's URL. */
  readonly provider: Provider | undefined;
  readonly estimate: (request: ChatCompletionBody) => number | TokenEstimate;
  readonly priority: number | undefined;
  readonly maxWaitMs: number | undefined;
  readonly syncHeaders: boolean;
  retrierFor(provider: Provider): Retrier;
}

const option = (name: string) => `tollgateFetch.${name}`;

/** Validates the options once and resolves their defaults. */
export function resolveOptions(options: TollgateFetchOptions): Config {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigurationError('must be an object', 'tollgateFetch options');
  }
  for (const key of Object.keys(options)) {
    if (!(OPTION_KEYS as ReadonlyArray<string>).includes(key)) {
      throw new ConfigurationError(
        `unknown option '${key}' (known: ${OPTION_KEYS.join(', ')})`,
        option(key),
      );
    }
  }
  const { limiter, provider, estimate, priority, maxWaitMs, syncHeaders = true } = options;
  const candidate = limiter as Partial<Record<'acquire' | 'pause' | 'throttle', unknown>> | null;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.acquire !== 'function' ||
    typeof candidate.pause !== 'function' ||
    typeof candidate.throttle !== 'function'
  ) {
    throw new ConfigurationError('must be a Limiter from @tollgate/core', option('limiter'));
  }
  if (provider !== undefined && !PROVIDERS.includes(provider)) {
    throw new ConfigurationError(
      `must be one of ${PROVIDERS.join(', ')}, got ${String(provider)}`,
      option('provider'),
    );
  }
  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    throw new ConfigurationError('must be a function', option('fetch'));
  }
  if (estimate !== undefined && typeof estimate !== 'function') {
    throw new ConfigurationError('must be a function', option('estimate'));
  }
  if (priority !== undefined && (typeof priority !== 'number' || !Number.isFinite(priority))) {
    throw new ConfigurationError('must be a finite number', option('priority'));
  }
  if (maxWaitMs !== undefined && (typeof maxWaitMs !== 'number' || !(maxWaitMs >= 0))) {
    throw new ConfigurationError('must be a number >= 0 or Infinity', option('maxWaitMs'));
  }
  if (typeof syncHeaders !== 'boolean') {
    throw new ConfigurationError('must be a boolean', option('syncHeaders'));
  }
  const baseFetch = options.fetch;
  return {
    limiter,
    // The global is looked up per call, so a fetch installed later (a polyfill) is used.
    fetch: baseFetch ?? ((input, init) => globalThis.fetch(input, init)),
    provider,
    estimate: estimate ?? defaultEstimate,
    priority,
    maxWaitMs,
    syncHeaders,
    retrierFor: retriers(options.retry, provider),
  };
}

/** Core's chat estimator; a body without `messages` is charged its output cap. */
function defaultEstimate(request: ChatCompletionBody): TokenEstimate {
  const messages = Array.isArray(request.messages) ? request.messages : [];
  return defaultChatEstimator.estimate({ ...request, messages } as ChatRequestLike);
}

/**
 * One policy per provider, built on first use (a policy built here is validated now, so bad
 * retry options throw at construction). A policy given as such, or options naming their
 * provider or classifier, serve every request.
 */
function retriers(
  retryOption: RetryPolicy | RetryPolicyOptions | false | undefined,
  provider: Provider | undefined,
): (provider: Provider) => Retrier {
  const build = (policy: RetryPolicy): Retrier => ({ policy, layer: retry(policy) });
  if (retryOption !== undefined && retryOption !== false) {
    if (typeof retryOption !== 'object' || retryOption === null) {
      throw new ConfigurationError(
        'must be a RetryPolicy, retry options or false',
        option('retry'),
      );
    }
    if (
      isRetryPolicy(retryOption) ||
      retryOption.provider !== undefined ||
      retryOption.classifier !== undefined
    ) {
      const fixed = build(retryPolicy(retryOption));
      return () => fixed;
    }
  }
  const options: RetryPolicyOptions =
    retryOption === false
      ? // One attempt: a refusal still pauses or throttles the limiter, then the caller gets it.
        { maxAttempts: 1, budget: false }
      : (retryOption ?? {});
  const byProvider = new Map<Provider, Retrier>();
  const get = (name: Provider): Retrier => {
    let retrier = byProvider.get(name);
    if (retrier === undefined) {
      retrier = build(retryPolicy({ ...options, provider: name }));
      byProvider.set(name, retrier);
    }
    return retrier;
  };
  get(provider ?? 'generic');
  return get;
}
