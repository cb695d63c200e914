import { createServer } from 'node:net';
import { Limiter, type LimiterOptions, type QuotaDefinition } from '@tollgate/core';
import { type Simulator, type SimulatorConfig, startSimulator } from '@tollgate/simulator';
import { Agent } from 'undici';
import { afterEach } from 'vitest';

const running = new Set<Simulator>();
const dispatchers = new Set<Agent>();

afterEach(async () => {
  await Promise.all([...dispatchers].map((dispatcher) => dispatcher.close()));
  dispatchers.clear();
  await Promise.all([...running].map((simulator) => simulator.close()));
  running.clear();
});

/** A simulator closed after the test. */
export async function simulator(config: SimulatorConfig): Promise<Simulator> {
  const started = await startSimulator(config);
  running.add(started);
  return started;
}

/**
 * A dispatcher for Node's global fetch that trusts an HTTPS simulator's test certificate
 * (`new OpenAI({ fetchOptions: { dispatcher } })`), closed after the test. npm undici's types
 * and `@types/node`'s copy of them differ in details, hence the cast; at run time the global
 * fetch takes the Agent as its own.
 */
export function trustingDispatcher(sim: Simulator): NonNullable<RequestInit['dispatcher']> {
  const dispatcher = new Agent({ connect: { ca: sim.ca } });
  dispatchers.add(dispatcher);
  return dispatcher as unknown as NonNullable<RequestInit['dispatcher']>;
}

/**
 * A limiter on the simulator's scaled clock, so both agree on what a minute is. Its margin is
 * 50 real milliseconds whatever the scale: event-loop jitter between the limiter's admission
 * and the simulator's arrival is real time, not simulated time.
 */
export function limiterFor(
  sim: Simulator,
  quota: QuotaDefinition,
  options: Omit<LimiterOptions, 'quota' | 'clock'> = {},
): Limiter {
  return new Limiter({
    quota,
    clock: sim.clock,
    margin: { ms: 50 * sim.clock.timeScale },
    ...options,
  });
}

/** A user message of about `words` English words (the simulator counts o200k tokens). */
export function prompt(words: number, seed = 0): string {
  const vocabulary = ['quota', 'window', 'token', 'request', 'limit', 'minute', 'second', 'model'];
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(vocabulary[(i * 7 + seed * 13) % vocabulary.length]!);
  return `Summarise item ${seed}: ${out.join(' ')}.`;
}

export const user = (content: string) => [{ role: 'user' as const, content }];

/** A port with nothing listening on it. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
