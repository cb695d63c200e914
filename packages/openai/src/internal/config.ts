import {
  type CallOutcome,
  type ChatRequestLike,
  ConfigurationError,
  defaultChatEstimator,
  type Layer,
  limit,
  type TokenEstimate,
} from '@tollgate/core';
import {
  checkFunction,
  checkLimiter,
  checkOneOf,
  checkOptions,
  mustBe,
} from '@tollgate/core/validate';
import {
  isRetryPolicy,
  PROVIDERS,
  type Provider,
  quotaFeedback,
  type RetryPolicy,
  type RetryPolicyOptions,
  retry,
  retryPolicy,
} from '@tollgate/retry';
import type { TollgateCallOptions } from '../call-options.js';
import type { FetchLike, TollgateFetchOptions } from '../options.js';
import { checkMaxWaitMs, checkPriority } from './call-headers.js';
import type { ChatCompletionBody } from './request.js';
import type { Answer } from './transport.js';

const OPTION_KEYS = [
  'limiter',
  'retry',
  'provider',
  'fetch',
  'estimate',
  'priority',
  'maxWaitMs',
  'feedback',
  'layers',
];

/** The layers a chat completion to one provider goes through, below the caller's. */
export interface Route {
  /** Retries of refused attempts, each a new admission; absent with `retry: false`. */
  readonly retry: Layer<ChatCompletionBody, Response> | undefined;
  /**
   * Admission, settlement and the provider's feedback, around the transport, with a call's own
   * priority and deadline in place of the client's.
   */
  limit(call: TollgateCallOptions): Layer<ChatCompletionBody, Answer>;
}

export interface Config {
  readonly fetch: FetchLike;
  readonly layers: ReadonlyArray<Layer<ChatCompletionBody, Response>>;
  /** Undefined: detected from each request's URL. */
  readonly provider: Provider | undefined;
  routeFor(provider: Provider): Route;
}

const option = (name: string) => `tollgateFetch.${name}`;

/** Validates the options once, resolves their defaults, and builds the layers. */
export function resolveOptions(options: TollgateFetchOptions): Config {
  checkOptions(options, 'tollgateFetch', OPTION_KEYS);
  checkLimiter(options.limiter, option('limiter'));
  const provider =
    options.provider === undefined
      ? undefined
      : checkOneOf(options.provider, option('provider'), PROVIDERS);
  const estimate =
    options.estimate === undefined
      ? defaultEstimate
      : checkFunction(options.estimate, option('estimate'));
  const { priority, maxWaitMs } = options;
  if (priority !== undefined) checkPriority(priority, option('priority'));
  if (maxWaitMs !== undefined) checkMaxWaitMs(maxWaitMs, option('maxWaitMs'));
  const feedbackOptions = options.feedback ?? {};
  if (feedbackOptions !== false) checkOptions(feedbackOptions, option('feedback'), FEEDBACK_KEYS);
  const layers = options.layers ?? [];
  if (!Array.isArray(layers)) {
    throw new ConfigurationError(mustBe('an array', layers), option('layers'));
  }
  for (const [index, layer] of layers.entries()) {
    checkFunction(layer, `${option('layers')}[${index}]`);
  }

  const policies = policiesFor(options.retry);
  const routes = new Map<Provider, Route>();
  const routeFor = (name: Provider): Route => {
    let route = routes.get(name);
    if (route === undefined) {
      const policy = policies(name);
      const feedback =
        feedbackOptions === false
          ? undefined
          : quotaFeedback({
              ...(policy === undefined
                ? { provider: name }
                : { classifier: policy.classifier, maxPauseMs: policy.maxRetryAfterMs }),
              ...feedbackOptions,
            });
      const limitOptions = {
        estimate,
        usage: (answer: Answer) => answer.usage,
        ...(feedback === undefined
          ? {}
          : {
              feedback: (outcome: CallOutcome<Answer>) =>
                feedback(outcome.ok ? { ok: true, response: outcome.response.response } : outcome),
            }),
        ...(priority === undefined ? {} : { priority }),
        ...(maxWaitMs === undefined ? {} : { maxWaitMs }),
      };
      const limited = limit<ChatCompletionBody, Answer>(options.limiter, limitOptions);
      route = {
        retry: policy === undefined ? undefined : retry(policy),
        limit: (call) =>
          call.priority === undefined && call.maxWaitMs === undefined
            ? limited
            : limit<ChatCompletionBody, Answer>(options.limiter, { ...limitOptions, ...call }),
      };
      routes.set(name, route);
    }
    return route;
  };
  // Built now, so that bad limiter, retry or feedback options throw at construction.
  routeFor(provider ?? 'generic');
  return {
    // The global is looked up per call, so a fetch installed later (a polyfill) is used.
    fetch:
      options.fetch === undefined
        ? (input, init) => globalThis.fetch(input, init)
        : checkFunction(options.fetch, option('fetch')),
    layers,
    provider,
    routeFor,
  };
}

const FEEDBACK_KEYS = ['defaultPauseMs', 'maxPauseMs', 'burstThrottle', 'headers'];

/** Core's chat estimator; a body without `messages` is charged its output cap. */
function defaultEstimate(request: ChatCompletionBody): TokenEstimate {
  const messages = Array.isArray(request.messages) ? request.messages : [];
  return defaultChatEstimator.estimate({ ...request, messages } as ChatRequestLike);
}

/**
 * The retry policy for each provider, built on first use (validated now for the default
 * provider). A policy given as such, or options naming their provider or classifier, serve
 * every request; `false` is no policy at all.
 */
function policiesFor(
  retryOption: RetryPolicy | RetryPolicyOptions | false | undefined,
): (provider: Provider) => RetryPolicy | undefined {
  if (retryOption === false) return () => undefined;
  if (retryOption !== undefined) {
    if (typeof retryOption !== 'object' || retryOption === null) {
      throw new ConfigurationError(
        mustBe('a RetryPolicy, retry options or false', retryOption),
        option('retry'),
      );
    }
    if (
      isRetryPolicy(retryOption) ||
      retryOption.provider !== undefined ||
      retryOption.classifier !== undefined
    ) {
      const fixed = retryPolicy(retryOption);
      return () => fixed;
    }
  }
  const options: RetryPolicyOptions = retryOption ?? {};
  const byProvider = new Map<Provider, RetryPolicy>();
  const get = (name: Provider): RetryPolicy => {
    let policy = byProvider.get(name);
    if (policy === undefined) {
      policy = retryPolicy({ ...options, provider: name });
      byProvider.set(name, policy);
    }
    return policy;
  };
  return get;
}
