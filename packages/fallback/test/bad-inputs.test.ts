/**
 * Every bad input to @tollgate/fallback, one row each: where it enters, what it is, and the typed
 * error it gets there. The README's "Bad input" table is these rows, checked cell for cell.
 */
import { ConfigurationError, InvalidArgumentError, Limiter, run } from '@tollgate/core';
import { describe } from 'vitest';
import {
  type BadInputRow,
  type ErrorClass,
  walkBadInputs,
} from '../../core/test/support/bad-inputs.js';
import { fallback, type ModelChainOptions, modelChain } from '../src/index.js';
import { chained, perTwoMinutes, request } from './helpers.js';

const QUOTA = perTwoMinutes(10);
const chainOf = (options: object) => () => modelChain(options as ModelChainOptions);
const models = (...extra: ReadonlyArray<object>) => ({
  models: [{ model: 'max', quota: QUOTA, ...Object.assign({}, ...extra) }],
});
const valid = () => chained([{ model: 'max', quota: QUOTA }]);

const rows: ReadonlyArray<BadInputRow> = [
  {
    entry: '`modelChain(options)`',
    input: 'an unknown option',
    act: chainOf({ ...models(), fallbacks: [] }),
    via: 'throws',
    error: ConfigurationError,
    message: 'modelChain.fallbacks: unknown option',
  },
  {
    entry: '`modelChain(options)`',
    input: '`models` empty or not an array',
    act: chainOf({ models: [] }),
    via: 'throws',
    error: ConfigurationError,
    message: 'modelChain.models: must be a non-empty array',
  },
  {
    entry: '`modelChain(options)`',
    input: 'two models with one name',
    act: chainOf({
      models: [
        { model: 'max', quota: QUOTA },
        { model: 'max', quota: QUOTA },
      ],
    }),
    via: 'throws',
    error: ConfigurationError,
    message: "modelChain.models[1].model: duplicate model 'max'",
  },
  {
    entry: '`modelChain(options)`',
    input: 'a model with two of `quota`, `limiter` and `layer`',
    act: chainOf({
      models: [{ model: 'max', quota: QUOTA, limiter: new Limiter({ quota: QUOTA }) }],
    }),
    via: 'throws',
    error: ConfigurationError,
    message: 'modelChain.models[0]: give at most one of quota, limiter and layer',
  },
  {
    entry: '`modelChain(options)`',
    input: '`layer` without `limiterFor`, or the other way round',
    act: chainOf({ models: [{ model: 'max', layer: (next: unknown) => next }] }),
    via: 'throws',
    error: ConfigurationError,
    message: 'modelChain.models[0]: give layer and limiterFor together',
  },
  {
    entry: '`modelChain(options)`',
    input: '`layer` or `limiterFor` not a function',
    act: chainOf({ models: [{ model: 'max', layer: 'rotate', limiterFor: () => undefined }] }),
    via: 'throws',
    error: ConfigurationError,
    message: 'modelChain.models[0].layer: must be a function',
  },
  {
    entry: '`modelChain(options)`',
    input: '`maxWaitMs` on a model with no `quota`',
    act: chainOf({ models: [{ model: 'max', maxWaitMs: 10 }] }),
    via: 'throws',
    error: ConfigurationError,
    message: 'modelChain.models[0].maxWaitMs: only with quota',
  },
  {
    entry: '`modelChain(options)`',
    input: '`spillAfterMs` < 0 or not a number',
    act: chainOf(models({ spillAfterMs: -1 })),
    via: 'throws',
    error: ConfigurationError,
    message: 'modelChain.models[0].spillAfterMs: must be a finite number >= 0 or Infinity',
  },
  {
    entry: '`modelChain(options)`',
    input: "a model's `quota` invalid",
    act: chainOf({ models: [{ model: 'max', quota: { rpm: 0 } }] }),
    via: 'throws',
    error: ConfigurationError,
    message: 'quota.rpm: must be an integer > 0',
  },
  {
    entry: '`modelChain(options)`',
    input: 'a `limiter` that is not a `Limiter`',
    act: chainOf({ models: [{ model: 'max', limiter: { acquire() {} } }] }),
    via: 'throws',
    error: ConfigurationError,
    message: 'modelChain.models[0].limiter: must be a Limiter',
  },
  {
    entry: '`modelChain(options)`',
    input: '`maxWaitMs` with a `limiter`',
    act: chainOf({
      models: [{ model: 'max', limiter: new Limiter({ quota: QUOTA }), maxWaitMs: 10 }],
    }),
    via: 'throws',
    error: ConfigurationError,
    message: "modelChain.models[0].maxWaitMs: set it on the limiter: a limiter's own maxWaitMs",
  },
  {
    entry: '`modelChain(options)`',
    input: '`maxWaitMs` < 0',
    act: chainOf(models({ maxWaitMs: -1 })),
    via: 'throws',
    error: ConfigurationError,
    message: 'modelChain.models[0].maxWaitMs: must be a finite number >= 0 or Infinity',
  },
  {
    entry: '`modelChain(options)`',
    input: '`contextWindow` not an integer > 0',
    act: chainOf(models({ contextWindow: 0.5 })),
    via: 'throws',
    error: ConfigurationError,
    message: 'modelChain.models[0].contextWindow: must be an integer > 0',
  },
  {
    entry: '`modelChain(options)`',
    input: '`probeAfterMs` < 0 or not finite',
    act: chainOf({ ...models(), probeAfterMs: Number.POSITIVE_INFINITY }),
    via: 'throws',
    error: ConfigurationError,
    message: 'modelChain.probeAfterMs: must be a finite number >= 0',
  },
  {
    entry: '`modelChain(options)`',
    input: 'an unknown kind in `fallbackOn`',
    act: chainOf({ ...models(), fallbackOn: ['throttled'] }),
    via: 'throws',
    error: ConfigurationError,
    message: "modelChain.fallbackOn[0]: must be one of 'request-rate'",
  },
  {
    entry: '`fallback(chain, options)`',
    input: '`chain` not made by `modelChain()`',
    act: () => fallback({} as never),
    via: 'throws',
    error: ConfigurationError,
    message: 'fallback.chain: must be a chain made by modelChain()',
  },
  {
    entry: '`fallback(chain, options)`',
    input: 'an unknown option',
    act: () => fallback(valid().chain, { pinned: 'max' } as never),
    via: 'throws',
    error: ConfigurationError,
    message: 'fallback.pinned: unknown option',
  },
  {
    entry: 'a call through `fallback()`',
    input: 'a pinned model not in the chain',
    act: () => run(valid().send, request(), { model: 'qwen-max' }),
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'pinned model: must be a model of the chain, got "qwen-max"',
  },
  {
    entry: '`chain.limiterFor(context)`',
    input: 'no model of the chain in the context',
    act: () => valid().chain.limiterFor({ attempt: 1 }),
    via: 'throws',
    error: InvalidArgumentError,
    message: 'context.model: must be a model of the chain',
  },
  {
    entry: '`chain.limiterFor(context)`',
    input: 'a model whose quota is limited below the chain (no `quota`, no `limiter`)',
    act: () => modelChain({ models: [{ model: 'max' }] }).limiterFor({ attempt: 1, model: 'max' }),
    via: 'throws',
    error: InvalidArgumentError,
    message: "context.model: model 'max' has no quota in the chain",
  },
  {
    entry: '`chain.limiter(model)`',
    input: 'a model whose calls each have their own limiter (`layer` + `limiterFor`)',
    act: () =>
      modelChain({
        models: [
          { model: 'max', layer: (next) => next, limiterFor: () => new Limiter({ quota: QUOTA }) },
        ],
      }).limiter('max'),
    via: 'throws',
    error: InvalidArgumentError,
    message: "model: model 'max' has one limiter per call (its limiterFor)",
  },
  {
    entry: '`chain.on(event, listener)`',
    input: 'an unknown event',
    act: () => valid().chain.on('gone' as never, () => {}),
    via: 'throws',
    error: InvalidArgumentError,
    message: "event: must be one of 'fallback', 'served', 'out', 'error'",
  },
];

const codes = new Map<ErrorClass, string>([
  [ConfigurationError, 'TOLLGATE_CONFIGURATION'],
  [InvalidArgumentError, 'TOLLGATE_INVALID_ARGUMENT'],
]);

describe('bad input', () => {
  walkBadInputs(rows, { readme: new URL('../README.md', import.meta.url), codes });
});
