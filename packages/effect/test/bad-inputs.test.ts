/**
 * Every bad input to @tollgate/effect, one row each: where it enters, what it is, and the typed
 * error it gets there. The README's "Bad input" table is these rows, checked cell for cell.
 * `rejects`: the effect dies with the error (a defect), so `Effect.runPromise` rejects with it.
 */
import { ConfigurationError, InvalidArgumentError } from '@tollgate/core';
import { Effect, Layer } from 'effect';
import { describe } from 'vitest';
import {
  type BadInputRow,
  type ErrorClass,
  walkBadInputs,
} from '../../core/test/support/bad-inputs.js';
import {
  classifyError,
  pipelineEffect,
  Quota,
  type QuotaOptions,
  QuotaStore,
  retrySchedule,
  withQuota,
} from '../src/index.js';

const VALID: QuotaOptions = { quota: { rps: 1, tps: 1000 } };
const underQuota = (effect: Effect.Effect<unknown, unknown, Quota>, options: object = VALID) =>
  Effect.runPromise(
    effect.pipe(
      Effect.provide(Quota.layer(options as QuotaOptions).pipe(Layer.provide(QuotaStore.memory))),
    ),
  );
const withOptions = (options: object) => () =>
  withQuota(Effect.void, options as Parameters<typeof withQuota>[1]);
const admitting = (options: object) => () =>
  underQuota(withQuota(Effect.void, options as Parameters<typeof withQuota>[1]));

const rows: ReadonlyArray<BadInputRow> = [
  {
    entry: '`Quota.layer(options)`, `makeQuota(options)`',
    input: 'an unknown option',
    act: () => underQuota(Effect.void, { ...VALID, quotaz: 1 }),
    via: 'rejects',
    error: ConfigurationError,
    message: 'Limiter.quotaz: unknown option',
  },
  {
    entry: '`Quota.layer(options)`, `makeQuota(options)`',
    input: "`clock` or `store` (Effect's `Clock` and the `QuotaStore` give them)",
    act: () => underQuota(Effect.void, { ...VALID, clock: Date }),
    via: 'rejects',
    error: ConfigurationError,
    message: "Quota.clock: not an option here: the clock is Effect's Clock",
  },
  {
    entry: '`Quota.layer(options)`, `makeQuota(options)`',
    input: 'a quota with a limit that is not a count, or with no window',
    act: () => underQuota(Effect.void, { quota: { rpm: 0 } }),
    via: 'rejects',
    error: ConfigurationError,
    message: 'quota.rpm: must be an integer > 0, got 0',
  },
  {
    entry: '`withQuota(effect, options)`',
    input: 'options not an object',
    act: withOptions(5 as unknown as object),
    via: 'throws',
    error: InvalidArgumentError,
    message: 'withQuota: must be an object, got 5',
  },
  {
    entry: '`withQuota(effect, options)`',
    input: 'an unknown option',
    act: withOptions({ tokens: 1, tokenz: 1 }),
    via: 'throws',
    error: InvalidArgumentError,
    message: 'withQuota.tokenz: unknown option',
  },
  {
    entry: '`withQuota(effect, options)`',
    input: '`usage`, `sent` or `feedback` not a function',
    act: withOptions({ tokens: 1, usage: 5 }),
    via: 'throws',
    error: InvalidArgumentError,
    message: 'withQuota.usage: must be a function, got 5',
  },
  {
    entry: '`withQuota(effect, options)`',
    input: '`tokens` negative, NaN or Infinity (nothing is booked)',
    act: admitting({ tokens: -1 }),
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'tokens: must be a finite number >= 0, got -1',
  },
  {
    entry: '`withQuota(effect, options)`',
    input: '`tokens` neither a count nor `{ prompt, output }`',
    act: admitting({ tokens: '5' }),
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'tokens: must be a token count or { prompt, output }, got "5"',
  },
  {
    entry: '`withQuota(effect, options)`',
    input: '`priority` not a finite number',
    act: admitting({ tokens: 1, priority: Number.NaN }),
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'priority: must be a finite number, got NaN',
  },
  {
    entry: '`withQuota(effect, options)`',
    input: '`maxWaitMs` < 0 or NaN',
    act: admitting({ tokens: 1, maxWaitMs: -1 }),
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'maxWaitMs: must be a finite number >= 0 or Infinity, got -1',
  },
  {
    entry: '`retrySchedule(options)`, `retrying(effect, options)`',
    input: 'an unknown option',
    act: () => retrySchedule({ maxRetries: 2 } as never),
    via: 'throws',
    error: ConfigurationError,
    message: 'retryPolicy.maxRetries: unknown option',
  },
  {
    entry: '`retrySchedule(options)`, `retrying(effect, options)`',
    input: "any option `retryPolicy` refuses, e.g. `maxAttempts` 0 (retry's README lists them)",
    act: () => retrySchedule({ maxAttempts: 0 }),
    via: 'throws',
    error: ConfigurationError,
    message: 'retryPolicy.maxAttempts: must be an integer >= 1 or Infinity, got 0',
  },
  {
    entry: '`classifyError(error, options)`',
    input: 'an unknown `provider`',
    act: () => classifyError({}, { provider: 'azure' as never }),
    via: 'throws',
    error: InvalidArgumentError,
    message: `classify.provider: must be one of 'dashscope', 'openai', 'generic', got "azure"`,
  },
  {
    entry: '`pipelineEffect(layers, call)`',
    input: '`layers` not an array',
    act: () => pipelineEffect(5 as never, () => Effect.void),
    via: 'throws',
    error: ConfigurationError,
    message: 'pipelineEffect.layers: must be an array, got 5',
  },
  {
    entry: '`pipelineEffect(layers, call)`',
    input: 'a layer not a function',
    act: () => pipelineEffect([undefined as never], () => Effect.void),
    via: 'throws',
    error: ConfigurationError,
    message: 'pipeline.layers[0]: must be a function, got undefined',
  },
  {
    entry: '`pipelineEffect(layers, call)`',
    input: '`call` not a function',
    act: () => pipelineEffect([], null as never),
    via: 'throws',
    error: ConfigurationError,
    message: 'pipelineEffect.call: must be a function, got null',
  },
];

const codes = new Map<ErrorClass, string>([
  [ConfigurationError, 'TOLLGATE_CONFIGURATION'],
  [InvalidArgumentError, 'TOLLGATE_INVALID_ARGUMENT'],
]);

describe('bad input', () => {
  walkBadInputs(rows, { readme: new URL('../README.md', import.meta.url), codes });
});
