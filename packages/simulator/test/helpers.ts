import { afterEach } from 'vitest';
import { type Simulator, type SimulatorConfig, startSimulator } from '../src/index.js';

export type Json = Record<string, unknown>;

const running: Simulator[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((simulator) => simulator.close()));
});

/** Starts a simulator closed after the test; no latency unless asked. */
export async function start(config: SimulatorConfig = {}): Promise<Simulator> {
  const simulator = await startSimulator({ latencyMs: { base: 0 }, ...config });
  running.push(simulator);
  return simulator;
}

export interface ChatOptions {
  readonly key?: string | null;
  readonly model?: string;
  readonly content?: string;
  readonly body?: Json;
  readonly path?: string;
}

/** POSTs a chat completion; `key: null` sends no Authorization header. */
export function chat(simulator: Simulator, options: ChatOptions = {}): Promise<Response> {
  const key = options.key === undefined ? simulator.apiKey : options.key;
  const body = options.body ?? {
    model: options.model ?? 'm',
    messages: [{ role: 'user', content: options.content ?? 'hello' }],
    max_tokens: 10,
  };
  return fetch(`${simulator.url}${options.path ?? '/chat/completions'}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
    },
    body: JSON.stringify(body),
  });
}

/** Sends requests one after another; returns their statuses. */
export async function statuses(
  simulator: Simulator,
  count: number,
  options: ChatOptions = {},
): Promise<number[]> {
  const result: number[] = [];
  for (let i = 0; i < count; i++) {
    const response = await chat(simulator, options);
    await response.arrayBuffer();
    result.push(response.status);
  }
  return result;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
