/**
 * Every bad input to @tollgate/core, one row each: where it enters, what it is, and the typed
 * error (or event) it gets there. The README's "Bad input" table is these rows, checked cell
 * for cell by the last test, so the table and the behaviour cannot drift apart.
 */
import { describe, expect } from 'vitest';
import {
  type Call,
  ConfigurationError,
  chatEstimator,
  defaultChatEstimator,
  InvalidArgumentError,
  type Layer,
  Limiter,
  LimiterClosedError,
  type LimiterOptions,
  limit,
  MemoryStore,
  type Permit,
  PermitStateError,
  pipeline,
  RequestTooLargeError,
  run,
  type TollgateErrorCode,
  WaitAbortedError,
} from '../src/index.js';
import { createFakeClock } from '../src/testing.js';
import { type BadInputRow, type ErrorClass, walkBadInputs } from './support/bad-inputs.js';

/** The code of each error class, as the README's errors table gives it. */
const CODES = new Map<ErrorClass, TollgateErrorCode>([
  [ConfigurationError, 'TOLLGATE_CONFIGURATION'],
  [InvalidArgumentError, 'TOLLGATE_INVALID_ARGUMENT'],
  [RequestTooLargeError, 'TOLLGATE_REQUEST_TOO_LARGE'],
  [WaitAbortedError, 'TOLLGATE_WAIT_ABORTED'],
  [PermitStateError, 'TOLLGATE_PERMIT_STATE'],
  [LimiterClosedError, 'TOLLGATE_LIMITER_CLOSED'],
]);

const QUOTA = { rpm: 60, tps: 1000 };
const newLimiter = (options: Partial<LimiterOptions> = {}) =>
  new Limiter({ quota: QUOTA, clock: createFakeClock(), ...options } as LimiterOptions);
const fakeClock = createFakeClock();
const identity: Layer<string, string> = (next) => next;
const echo: Call<string, string> = async (text) => text;

/** Runs one call through `limit(limiter, options)` and resolves to the limiter's first `error` event. */
async function errorEventOf(options: Parameters<typeof limit>[1], fail?: Error): Promise<unknown> {
  const limiter = newLimiter();
  const errors: unknown[] = [];
  limiter.on('error', ({ error }) => errors.push(error));
  const send = limit(limiter, { estimate: () => 10, ...options })(async () => {
    if (fail !== undefined) throw fail;
    return { usage: { prompt_tokens: 'twelve' } };
  });
  await run(send, { messages: [] }).catch((error: unknown) => {
    if (error !== fail) throw error;
  });
  await new Promise((resolve) => setImmediate(resolve));
  const { inFlight } = await limiter.snapshot();
  expect(inFlight).toBe(0); // settled all the same
  return errors[0];
}

const rows: ReadonlyArray<BadInputRow<Permit>> = [
  // construction
  {
    entry: '`new Limiter(options)`',
    input: 'options not an object',
    via: 'throws',
    error: ConfigurationError,
    message: 'Limiter: must be an object',
    act: () => new Limiter(null as never),
  },
  {
    entry: '`new Limiter(options)`',
    input: 'an unknown option',
    via: 'throws',
    error: ConfigurationError,
    message: 'Limiter.maxWait: unknown option',
    act: () => newLimiter({ maxWait: 5 } as never),
  },
  {
    entry: '`new Limiter(options)`',
    input: '`quota` without a window',
    via: 'throws',
    error: ConfigurationError,
    message: 'quota: needs at least one window',
    act: () => newLimiter({ quota: {} }),
  },
  {
    entry: '`new Limiter(options)`',
    input: '`quota` limit ≤ 0, not finite, or a fractional request count',
    via: 'throws',
    error: ConfigurationError,
    message: 'quota.rpm: must be an integer > 0',
    act: () => newLimiter({ quota: { rpm: 1.5 } }),
  },
  {
    entry: '`new Limiter(options)`',
    input: '`quota.windows[i]` of an unknown unit or shape',
    via: 'throws',
    error: ConfigurationError,
    message: 'quota.windows[0].unit: must be one of',
    act: () =>
      newLimiter({ quota: { windows: [{ unit: 'words' as never, limit: 1, windowMs: 1000 }] } }),
  },
  {
    entry: '`new Limiter(options)`',
    input: '`quota` with one window twice',
    via: 'throws',
    error: ConfigurationError,
    message: 'quota: duplicate window requests/1s',
    act: () =>
      newLimiter({ quota: { rps: 1, windows: [{ unit: 'requests', limit: 2, windowMs: 1000 }] } }),
  },
  {
    entry: '`new Limiter(options)`',
    input: "`quota.accounting` not `'reserved'` or `'actual'`",
    via: 'throws',
    error: ConfigurationError,
    message: 'quota.accounting: must be one of',
    act: () => newLimiter({ quota: { rpm: 1, accounting: 'used' as never } }),
  },
  {
    entry: '`new Limiter(options)`',
    input: '`store` without every Store method (the message names those missing)',
    via: 'throws',
    error: ConfigurationError,
    message: 'Limiter.store: must be a Store (admit, rebook,',
    act: () => newLimiter({ store: { admit() {}, snapshot() {} } as never }),
  },
  {
    entry: '`new Limiter(options)`',
    input: '`key` not a non-empty string',
    via: 'throws',
    error: ConfigurationError,
    message: 'Limiter.key: must be a non-empty string',
    act: () => newLimiter({ key: '' }),
  },
  {
    entry: '`new Limiter(options)`',
    input: '`clock` without `now`, `setTimeout` and `clearTimeout`',
    via: 'throws',
    error: ConfigurationError,
    message: 'Limiter.clock: must be a Clock',
    act: () => newLimiter({ clock: { now: () => 0 } as never }),
  },
  {
    entry: '`new Limiter(options)`',
    input: '`clock.now()` not a finite number',
    via: 'throws',
    error: ConfigurationError,
    message: 'Limiter.clock.now(): must be a finite number, got NaN',
    act: () => newLimiter({ clock: { ...fakeClock, now: () => Number.NaN } }),
  },
  {
    entry: '`new Limiter(options)`',
    input: '`pacing` not a boolean',
    via: 'throws',
    error: ConfigurationError,
    message: 'Limiter.pacing: must be a boolean',
    act: () => newLimiter({ pacing: 'yes' as never }),
  },
  {
    entry: '`new Limiter(options)`',
    input: '`packing` neither a boolean nor an object',
    via: 'throws',
    error: ConfigurationError,
    message: 'Limiter.packing: must be a boolean or { lookahead, maxDelayMs }',
    act: () => newLimiter({ packing: 'on' as never }),
  },
  {
    entry: '`new Limiter(options)`',
    input: '`packing` with an unknown key, `lookahead` not an integer ≥ 1, `maxDelayMs` < 0',
    via: 'throws',
    error: ConfigurationError,
    message: 'Limiter.packing.lookahead: must be an integer >= 1',
    act: () => newLimiter({ packing: { lookahead: 0.5 } }),
  },
  {
    entry: '`new Limiter(options)`',
    input: '`margin` not an object, or with an unknown key',
    via: 'throws',
    error: ConfigurationError,
    message: 'Limiter.margin.msec: unknown option',
    act: () => newLimiter({ margin: { msec: 5 } as never }),
  },
  {
    entry: '`new Limiter(options)`',
    input: '`margin.ms` < 0, `margin.ratio` outside [0, 1)',
    via: 'throws',
    error: ConfigurationError,
    message: 'Limiter.margin.ratio: must be a finite number in [0, 1)',
    act: () => newLimiter({ margin: { ratio: 1 } }),
  },
  {
    entry: '`new Limiter(options)`',
    input: '`margin.ratio` that leaves a window a limit below 1',
    via: 'throws',
    error: ConfigurationError,
    message: 'Limiter.margin.ratio: leaves requests/1s a limit below 1',
    act: () => newLimiter({ quota: { rps: 1 }, margin: { ratio: 0.5 } }),
  },
  {
    entry: '`new Limiter(options)`',
    input: '`margin.widen` not `false` or an object; a step or decay ≤ 0; `maxMs` above `decayMs`',
    via: 'throws',
    error: ConfigurationError,
    message: 'Limiter.margin.widen.maxMs: must be a finite number in (0, 60000]',
    act: () => newLimiter({ margin: { widen: { maxMs: 70_000 } } }),
  },
  {
    entry: '`new Limiter(options)`',
    input: '`maxInFlight` not an integer ≥ 1 or Infinity',
    via: 'throws',
    error: ConfigurationError,
    message: 'Limiter.maxInFlight: must be an integer >= 1 or Infinity',
    act: () => newLimiter({ maxInFlight: 0.5 }),
  },
  {
    entry: '`new Limiter(options)`',
    input: '`maxWaitMs` < 0 or NaN',
    via: 'throws',
    error: ConfigurationError,
    message: 'Limiter.maxWaitMs: must be a finite number >= 0 or Infinity',
    act: () => newLimiter({ maxWaitMs: -1 }),
  },
  {
    entry: '`new Limiter(options)`',
    input: '`leaseMs` ≤ 0 or NaN',
    via: 'throws',
    error: ConfigurationError,
    message: 'Limiter.leaseMs: must be a finite number > 0 or Infinity, got 0',
    act: () => newLimiter({ leaseMs: 0 }),
  },
  {
    entry: '`new MemoryStore(options)`',
    input: 'an unknown option, a `clock` that is not one',
    via: 'throws',
    error: ConfigurationError,
    message: 'MemoryStore.clock: must be a Clock',
    act: () => new MemoryStore({ clock: {} as never }),
  },
  {
    entry: '`chatEstimator(options)`',
    input: 'an unknown option, a count not an integer ≥ 0',
    via: 'throws',
    error: ConfigurationError,
    message: 'chatEstimator.perMessageTokens: must be an integer >= 0',
    act: () => chatEstimator({ perMessageTokens: -1 }),
  },
  // acquire
  {
    entry: '`limiter.acquire(options)`',
    input: 'options not an object, or an unknown option',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'acquire.tokenz: unknown option',
    act: () => newLimiter().acquire({ tokenz: 5 } as never),
  },
  {
    entry: '`limiter.acquire(options)`',
    input: '`tokens` negative, NaN or Infinity',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'tokens: must be a finite number >= 0, got -1',
    act: () => newLimiter().acquire({ tokens: -1 }),
  },
  {
    entry: '`limiter.acquire(options)`',
    input: '`tokens` neither a count nor an estimate',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'tokens: must be a token count or { prompt, output }, got "100"',
    act: () => newLimiter().acquire({ tokens: '100' as never }),
  },
  {
    entry: '`limiter.acquire(options)`',
    input: '`tokens` estimate with a part missing or not a count',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'tokens.output: must be a finite number >= 0, got undefined',
    act: () => newLimiter().acquire({ tokens: { prompt: 10 } as never }),
  },
  {
    entry: '`limiter.acquire(options)`',
    input: '`tokens` estimate with an unknown part',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'tokens.input: unknown option',
    act: () => newLimiter().acquire({ tokens: { prompt: 1, output: 1, input: 1 } as never }),
  },
  {
    entry: '`limiter.acquire(options)`',
    input: '`tokens` above what the smallest token window holds',
    via: 'rejects',
    error: RequestTooLargeError,
    message: 'request needs 1001 in window tokens/1s, which never holds more than 1000',
    act: () => newLimiter().acquire({ tokens: 1001 }),
  },
  {
    entry: '`limiter.acquire(options)`',
    input: '`tokens` estimate above it',
    via: 'rejects',
    error: RequestTooLargeError,
    message: 'request needs 1100 in window tokens/1s',
    act: () => newLimiter().acquire({ tokens: { prompt: 900, output: 200 } }),
  },
  {
    entry: '`limiter.acquire(options)`',
    input: '`priority` not a finite number',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'priority: must be a finite number, got NaN',
    act: () => newLimiter().acquire({ priority: Number.NaN }),
  },
  {
    entry: '`limiter.acquire(options)`',
    input: '`maxWaitMs` < 0 or NaN',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'maxWaitMs: must be a finite number >= 0 or Infinity, got NaN',
    act: () => newLimiter().acquire({ maxWaitMs: Number.NaN }),
  },
  {
    entry: '`limiter.acquire(options)`',
    input: '`signal` not an AbortSignal',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'signal: must be an AbortSignal',
    act: () => newLimiter().acquire({ signal: {} as never }),
  },
  {
    entry: '`limiter.acquire(options)`',
    input: '`signal` already aborted',
    via: 'rejects',
    error: WaitAbortedError,
    message: 'wait aborted after 0 ms',
    act: () => newLimiter().acquire({ signal: AbortSignal.abort() }),
  },
  {
    entry: '`limiter.acquire(options)`',
    input: 'any, after `limiter.close()`',
    via: 'rejects',
    error: LimiterClosedError,
    message: 'limiter is closed',
    act: () => {
      const limiter = newLimiter();
      limiter.close();
      return limiter.acquire();
    },
  },
  // the limiter's other methods
  {
    entry: '`limiter.on(event, listener)`',
    input: 'an unknown event',
    via: 'throws',
    error: InvalidArgumentError,
    message: "event: must be one of 'admitted', 'waiting'",
    act: () => newLimiter().on('admited' as never, () => {}),
  },
  {
    entry: '`limiter.on(event, listener)`',
    input: '`listener` not a function',
    via: 'throws',
    error: InvalidArgumentError,
    message: 'listener: must be a function',
    act: () => newLimiter().on('error', undefined as never),
  },
  {
    entry: '`limiter.pause(durationMs)`',
    input: '`durationMs` < 0, NaN or Infinity',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'durationMs: must be a finite number >= 0, got Infinity',
    act: () => newLimiter().pause(Number.POSITIVE_INFINITY),
  },
  {
    entry: '`limiter.throttle(factor, durationMs)`',
    input: '`factor` outside (0, 1], `durationMs` < 0',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'factor: must be a finite number in (0, 1]',
    act: () => newLimiter().throttle(0, 1000),
  },
  {
    entry: '`limiter.heed(feedback)`',
    input: 'an unknown key, `pauseMs` < 0, a `throttle` out of range, `widenMargin` not a boolean',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'feedback.pauseMs: must be a finite number >= 0',
    act: () => newLimiter().heed({ pauseMs: -1 }),
  },
  {
    entry: '`permit.settle(usage)`',
    input: 'an unknown field, a field not a finite number ≥ 0 (the permit stays active)',
    via: 'throws',
    error: InvalidArgumentError,
    message: 'usage.promptTokens: must be a finite number >= 0, got -1',
    prepare: () => newLimiter().acquire(),
    act: (permit) => {
      try {
        permit.settle({ promptTokens: -1 });
      } finally {
        expect(permit.state).toBe('active');
      }
    },
  },
  {
    entry: '`permit.settle(usage)`, `permit.cancel()`',
    input: 'a permit already settled or cancelled (not one that expired: that is no error)',
    via: 'throws',
    error: PermitStateError,
    message: 'cannot cancel a permit that is already settled',
    prepare: async () => {
      const permit = await newLimiter().acquire();
      permit.settle();
      return permit;
    },
    act: (permit) => permit.cancel(),
  },
  {
    entry: '`defaultChatEstimator.estimate(request)`',
    input: '`max_tokens`, `max_completion_tokens` or `n` not a count',
    via: 'throws',
    error: InvalidArgumentError,
    message: 'request.max_tokens: must be an integer >= 0, got 1.5',
    act: () => defaultChatEstimator.estimate({ messages: [], max_tokens: 1.5 }),
  },
  {
    entry: '`defaultChatEstimator.estimate(request)`',
    input: '`tools` not serialisable to JSON',
    via: 'throws',
    error: InvalidArgumentError,
    message: 'request.tools: must be serialisable to JSON',
    act: () => defaultChatEstimator.estimate({ messages: [], tools: [{ size: 1n }] }),
  },
  // composition
  {
    entry: '`pipeline(...layers)`',
    input: 'a layer not a function',
    via: 'throws',
    error: ConfigurationError,
    message: 'pipeline.layers[1]: must be a function, got undefined',
    act: () => pipeline(identity, undefined as never),
  },
  {
    entry: '`pipeline(...layers)(call)`',
    input: '`call` not a function',
    via: 'throws',
    error: ConfigurationError,
    message: 'pipeline.call: must be a function, got null',
    act: () => pipeline(identity)(null as never),
  },
  {
    entry: '`pipeline(...layers)(call)`',
    input: 'a layer that returns no call',
    via: 'throws',
    error: ConfigurationError,
    message: 'pipeline.layers[0](next): must be a function, got undefined',
    act: () => pipeline<string, string>((() => undefined) as never, identity)(echo),
  },
  {
    entry: '`run(call, request, context)`',
    input: '`call` not a function',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'run.call: must be a function, got an object',
    act: () => run({} as never, 'x'),
  },
  {
    entry: '`limit(limiter, options)`',
    input: '`limiter` neither a Limiter nor a function',
    via: 'throws',
    error: ConfigurationError,
    message: 'limit.limiter: must be a Limiter or a function of the context',
    act: () => limit({} as never),
  },
  {
    entry: '`limit(limiter, options)`',
    input: 'options not an object, or an unknown option',
    via: 'throws',
    error: ConfigurationError,
    message: 'limit.estimat: unknown option',
    act: () => limit(newLimiter(), { estimat: () => 1 } as never),
  },
  {
    entry: '`limit(limiter, options)`',
    input: '`estimate`, `usage`, `feedback` or `sent` not a function',
    via: 'throws',
    error: ConfigurationError,
    message: 'limit.usage: must be a function, got an object',
    act: () => limit(newLimiter(), { usage: {} as never }),
  },
  {
    entry: '`limit(limiter, options)`',
    input: '`priority` neither a finite number nor a function',
    via: 'throws',
    error: ConfigurationError,
    message: 'limit.priority: must be a finite number or a function, got "1"',
    act: () => limit(newLimiter(), { priority: '1' as never }),
  },
  {
    entry: '`limit(limiter, options)`',
    input: '`maxWaitMs` < 0 or NaN',
    via: 'throws',
    error: ConfigurationError,
    message: 'limit.maxWaitMs: must be a finite number >= 0 or Infinity',
    act: () => limit(newLimiter(), { maxWaitMs: -1 }),
  },
  // a call through limit()
  {
    entry: 'a call through `limit()`',
    input: '`estimate` throws an error that is not a Tollgate error (nothing is booked)',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'request: could not be estimated (TypeError:',
    act: () => run(limit(newLimiter())(echo as never), 'not a chat request' as never),
  },
  {
    entry: 'a call through `limit()`',
    input: '`estimate` returns neither a count nor `{ prompt, output }` (nothing is booked)',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'limit.estimate(request): must be a token count or { prompt, output }, got undefined',
    act: () =>
      run(limit<string, string>(newLimiter(), { estimate: () => undefined as never })(echo), 'x'),
  },
  {
    entry: 'a call through `limit()`',
    input: '`priority` returns a value that is not a finite number (nothing is booked)',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'priority: must be a finite number, got Infinity',
    act: () =>
      run(
        limit<string, string>(newLimiter(), {
          estimate: () => 1,
          priority: () => Number.POSITIVE_INFINITY,
        })(echo),
        'x',
      ),
  },
  {
    entry: 'a call through `limit()`',
    input: '`feedback` returns feedback out of range',
    via: 'rejects',
    error: InvalidArgumentError,
    message: 'feedback.pauseMs: must be a finite number >= 0',
    act: () =>
      run(
        limit<string, string>(newLimiter(), {
          estimate: () => 1,
          feedback: () => ({ pauseMs: -1 }),
        })(echo),
        'x',
      ),
  },
  {
    entry: 'a call through `limit()`, settling',
    input: '`usage` returns or resolves to a field that is not a count (the reservation is kept)',
    via: 'error event',
    error: InvalidArgumentError,
    message: 'usage.promptTokens: must be a finite number >= 0, got -1',
    act: () => errorEventOf({ usage: async () => ({ promptTokens: -1 }) }),
  },
  {
    entry: 'a call through `limit()`, settling',
    input: 'the default reader: a `usage` field that is not a count (the reservation is kept)',
    via: 'error event',
    error: InvalidArgumentError,
    message: 'response.usage.prompt_tokens: must be a finite number >= 0, got "twelve"',
    act: () => errorEventOf({}),
  },
  {
    entry: 'a call through `limit()`, settling',
    input: '`usage` throws or its promise rejects (the reservation is kept)',
    via: 'error event',
    error: undefined,
    message: 'stream broke',
    act: () => errorEventOf({ usage: () => Promise.reject(new Error('stream broke')) }),
  },
  {
    entry: 'a call through `limit()`, failing',
    input: '`sent` throws (the reservation is kept; the call fails with its own error)',
    via: 'error event',
    error: undefined,
    message: 'sent is broken',
    act: () =>
      errorEventOf(
        {
          sent: () => {
            throw new Error('sent is broken');
          },
        },
        new Error('connection reset'),
      ),
  },
];

describe('every bad input gets a typed error at its point of entry', () => {
  walkBadInputs(rows, { readme: new URL('../README.md', import.meta.url), codes: CODES });
});
