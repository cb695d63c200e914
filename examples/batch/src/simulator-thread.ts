/**
 * A simulator on its own thread. In one process, a simulator shares the client's event loop:
 * while the client builds a batch, the server cannot read the requests already sent, so they
 * arrive late — a delay a remote provider never adds. The quota benchmark runs each simulator
 * in a worker, on a clock in step with the one the client's limiter uses.
 */
import { Worker } from 'node:worker_threads';
import {
  type ClockAnchor,
  type SimulatorClock,
  type SimulatorConfig,
  type SimulatorStats,
  simulatorClock,
} from '@tollgate/simulator';
import type { BatchItem } from './workload.js';

/** What the worker (simulator-worker.mjs) posts once it listens. */
export interface Started {
  readonly url: string;
  readonly apiKey: string;
  /** The certificate to trust when the simulator serves HTTPS (a handshake delay), else undefined. */
  readonly ca: string | undefined;
  readonly timeScale: number;
  readonly anchor: ClockAnchor;
}

/** What the thread that started it may ask the worker. */
export type Request =
  | { readonly id: number; readonly op: 'reset' | 'stats' | 'close' }
  | {
      readonly id: number;
      readonly op: 'costs';
      readonly items: ReadonlyArray<BatchItem>;
      readonly accounting: 'reserved' | 'actual';
    };

export interface ThreadedSimulator {
  readonly url: string;
  readonly apiKey: string;
  /** The certificate to trust when the simulator serves HTTPS, else undefined. */
  readonly ca: string | undefined;
  /** In step with the simulator's clock. */
  readonly clock: SimulatorClock;
  reset(): Promise<void>;
  stats(): Promise<SimulatorStats>;
  /** What the simulator books per item: prompt + max_tokens (reserved) or its actual usage. */
  costs(items: ReadonlyArray<BatchItem>, accounting: 'reserved' | 'actual'): Promise<number[]>;
  close(): Promise<void>;
}

type Distribute<T> = T extends unknown ? Omit<T, 'id'> : never;

export async function startSimulatorThread(config: SimulatorConfig): Promise<ThreadedSimulator> {
  const worker = new Worker(new URL('./simulator-worker.mjs', import.meta.url), {
    workerData: config,
  });
  const started = await new Promise<Started>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  let nextId = 1;
  const pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  worker.on('message', (reply: { id: number; value?: unknown }) => {
    pending.get(reply.id)?.resolve(reply.value);
    pending.delete(reply.id);
  });
  // A worker that dies fails what was asked of it, rather than leaving it waiting forever.
  let gone: Error | undefined;
  const fail = (error: Error) => {
    gone ??= error;
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the simulator thread exited (code ${code})`)));
  const ask = <T>(request: Distribute<Request>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (gone !== undefined) {
        reject(gone);
        return;
      }
      const id = nextId++;
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ ...request, id });
    });
  return {
    url: started.url,
    apiKey: started.apiKey,
    ca: started.ca,
    clock: simulatorClock(started.timeScale, started.anchor),
    reset: () => ask<void>({ op: 'reset' }),
    stats: () => ask<SimulatorStats>({ op: 'stats' }),
    costs: (items, accounting) => ask<number[]>({ op: 'costs', items, accounting }),
    close: async () => {
      await ask<void>({ op: 'close' });
      await worker.terminate();
    },
  };
}
