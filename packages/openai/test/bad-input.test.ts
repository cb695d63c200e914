/**
 * The README's "Bad input" table, walked row by row: every row is run here (the real SDK
 * against the simulator where a request is made) and must give what the row says — how the
 * caller gets it, the error's class, its `code` and its message. A row without a run, or a
 * run without a row, fails too.
 */
import { isTollgateError, Limiter } from '@tollgate/core';
import { presets } from '@tollgate/simulator';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { readmeTable } from '../../core/test/support/bad-inputs.js';
import {
  type TollgateCallOptions,
  type TollgateFetchOptions,
  tollgate,
  tollgateFetch,
  withTollgate,
} from '../src/index.js';
import { simulator, user } from './helpers.js';

/** How the caller got what it got. */
type Outcome =
  | { readonly kind: 'throws' | 'rejects'; readonly error: unknown }
  | { readonly kind: 'resolves'; readonly status: number; readonly booked: number };

const limiter = () => new Limiter({ quota: { rpm: 600, tpm: 100_000 } });
const HI = { model: 'qwen3-max', messages: user('Hi'), max_tokens: 20 };

function thrown(run: () => unknown): Outcome {
  try {
    run();
  } catch (error) {
    return { kind: 'throws', error };
  }
  throw new Error('did not throw');
}

const fetchOptions = (options: unknown) =>
  thrown(() => tollgateFetch(options as TollgateFetchOptions));
const callOptions = (options: unknown) => thrown(() => tollgate(options as TollgateCallOptions));

/** `create(body, options)` on a wrapped client against a fresh simulator. */
async function created(
  body: object,
  options: OpenAI.RequestOptions = {},
  quota = limiter(),
): Promise<Outcome> {
  const sim = await simulator({ ...presets.qwen3Max, timeScale: 10 });
  const client = withTollgate(new OpenAI({ baseURL: sim.url, apiKey: sim.apiKey }), {
    limiter: quota,
  });
  try {
    await client.chat.completions.create(body as typeof HI, options);
  } catch (error) {
    expect(sim.stats().totals.requests).toBe(0);
    return { kind: 'rejects', error };
  }
  throw new Error('did not reject');
}

/** Runs by `entry point | bad input`, as the README's rows name them. */
const runs: Record<string, () => Outcome | Promise<Outcome>> = {
  'withTollgate(client, options) | `client` is not an OpenAI client (`{}`)': () =>
    thrown(() => withTollgate({} as OpenAI, { limiter: limiter() })),
  'withTollgate(client, options) | a `fetch` option': () =>
    thrown(() =>
      withTollgate(new OpenAI({ apiKey: 'sk-test' }), {
        limiter: limiter(),
        fetch: globalThis.fetch,
      } as never),
    ),
  'withTollgate(client, options) | no `limiter` (every `tollgateFetch` option is checked alike)':
    () => thrown(() => withTollgate(new OpenAI({ apiKey: 'sk-test' }), {} as never)),
  'tollgateFetch(options) | options that are not an object': () => fetchOptions(undefined),
  'tollgateFetch(options) | `limiter: {}`': () => fetchOptions({ limiter: {} }),
  'tollgateFetch(options) | an unknown option (`retries: 3`)': () =>
    fetchOptions({ limiter: limiter(), retries: 3 }),
  "tollgateFetch(options) | `provider: 'azure'`": () =>
    fetchOptions({ limiter: limiter(), provider: 'azure' }),
  "tollgateFetch(options) | `fetch: 'fetch'`": () =>
    fetchOptions({ limiter: limiter(), fetch: 'fetch' }),
  'tollgateFetch(options) | `estimate: 100`': () =>
    fetchOptions({ limiter: limiter(), estimate: 100 }),
  'tollgateFetch(options) | `priority: NaN`': () =>
    fetchOptions({ limiter: limiter(), priority: Number.NaN }),
  'tollgateFetch(options) | `maxWaitMs: -1`': () =>
    fetchOptions({ limiter: limiter(), maxWaitMs: -1 }),
  'tollgateFetch(options) | `retry: 5`': () => fetchOptions({ limiter: limiter(), retry: 5 }),
  'tollgateFetch(options) | `retry: { maxAttempts: 0 }`': () =>
    fetchOptions({ limiter: limiter(), retry: { maxAttempts: 0 } }),
  'tollgateFetch(options) | `retry: { defaultPauseMs: 10 }` (a `feedback` option)': () =>
    fetchOptions({ limiter: limiter(), retry: { defaultPauseMs: 10 } }),
  'tollgateFetch(options) | `feedback: { header: false }`': () =>
    fetchOptions({ limiter: limiter(), feedback: { header: false } }),
  'tollgateFetch(options) | `feedback: { maxPauseMs: -1 }`': () =>
    fetchOptions({ limiter: limiter(), feedback: { maxPauseMs: -1 } }),
  'tollgateFetch(options) | `layers: {}`': () => fetchOptions({ limiter: limiter(), layers: {} }),
  "tollgateFetch(options) | `layers: [layer, 'rotate']`": () =>
    fetchOptions({ limiter: limiter(), layers: [(next: unknown) => next, 'rotate'] }),
  'tollgate(options) | options that are not an object': () => callOptions(undefined),
  "tollgate(options) | `priority: 'high'`": () => callOptions({ priority: 'high' }),
  'tollgate(options) | `maxWaitMs: -5`': () => callOptions({ maxWaitMs: -5 }),
  'tollgate(options) | `deadline: 5`': () => callOptions({ deadline: 5 }),
  'create(body, options) | header `x-tollgate-priority: high`, set by hand': () =>
    created(HI, { headers: { 'x-tollgate-priority': 'high' } }),
  'create(body, options) | header `x-tollgate-max-wait-ms: soon`': () =>
    created(HI, { headers: { 'x-tollgate-max-wait-ms': 'soon' } }),
  'create(body, options) | header `x-tollgate-deadline: 5` (unknown)': () =>
    created(HI, { headers: { 'x-tollgate-deadline': '5' } }),
  'create(body) | `max_tokens: 1.5`': () => created({ ...HI, max_tokens: 1.5 }),
  'create(body) | `max_completion_tokens: -1`': () =>
    created({ ...HI, max_tokens: undefined, max_completion_tokens: -1 }),
  'create(body) | `n: 0`': () => created({ ...HI, n: 0 }),
  'create(body) | `max_tokens: 5000` on a 1,000 TPM limiter': () =>
    created({ ...HI, max_tokens: 5_000 }, {}, new Limiter({ quota: { tpm: 1_000 } })),
  'fetch(url, init) | a body that is not a JSON object (`tollgateFetch`)': async () => {
    const sim = await simulator({ ...presets.qwen3Max, timeScale: 10 });
    const quota = limiter();
    const response = await tollgateFetch({ limiter: quota })(`${sim.url}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sim.apiKey}`, 'content-type': 'application/json' },
      body: 'model=qwen3-max',
    });
    const booked = (await quota.snapshot()).windows.reduce((sum, window) => sum + window.used, 0);
    return { kind: 'resolves', status: response.status, booked };
  },
};

interface Row {
  readonly key: string;
  readonly gets: string;
  readonly errorClass: string;
  readonly code: string;
  readonly message: string;
}

/** The rows of the README's table under `## Bad input`. */
function tableRows(): Row[] {
  const unquote = (cell: string) => cell.replace(/^`(.*)`$/, '$1');
  return readmeTable(new URL('../README.md', import.meta.url)).map((cells) => {
    const [entry = '', input = '', gets = '', errorClass = '', code = '', message = ''] = cells;
    return {
      key: `${unquote(entry)} | ${input}`,
      gets,
      errorClass: unquote(errorClass),
      code: unquote(code),
      message: unquote(message),
    };
  });
}

const rows = tableRows();

describe('the README’s bad-input table', () => {
  it('has a run here for every row, and a row for every run', () => {
    expect(rows.map((row) => row.key).sort()).toEqual(Object.keys(runs).sort());
  });

  it.each(rows)('$key: $gets', async (row) => {
    const run = runs[row.key];
    if (run === undefined) throw new Error(`no run for ${row.key}`);
    const outcome = await run();
    expect(row.gets.startsWith(outcome.kind), `${row.gets} vs ${outcome.kind}`).toBe(true);
    if (outcome.kind === 'resolves') {
      expect([row.errorClass, row.code, row.message]).toEqual(['—', '—', '—']);
      expect(row.gets).toContain(`provider's ${outcome.status}`);
      expect(outcome.booked).toBe(0); // unlimited: passed through as it came
      return;
    }
    const { error } = outcome;
    expect(isTollgateError(error, row.code as never)).toBe(true);
    expect((error as Error).constructor.name).toBe(row.errorClass);
    const message = (error as Error).message;
    if (row.message.endsWith('…')) expect(message.startsWith(row.message.slice(0, -1))).toBe(true);
    else expect(message).toBe(row.message);
  });
});
