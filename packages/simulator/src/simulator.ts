import type { SimulatorConfig, SimulatorMode } from './config.js';
import { SimulatorConfigError } from './errors.js';
import { Engine } from './internal/engine.js';
import { DEFAULT_API_KEY, resolveConfig } from './internal/resolve-config.js';
import {
  type ClockAnchor,
  createScaledClock,
  type SimulatorClock,
} from './internal/scaled-clock.js';
import {
  type ChatMessageLike,
  completionTokens as countCompletion,
  promptTokens as countPrompt,
} from './internal/tokens.js';
import { listen } from './internal/transport.js';
import type { SimulatorStats } from './stats.js';

export type { ChatMessageLike, ClockAnchor, SimulatorClock };

/** A chat request as `completionTokens` reads it: the messages and the output cap. */
export interface CompletionRequestLike {
  readonly model?: string;
  readonly messages: ReadonlyArray<ChatMessageLike>;
  readonly max_tokens?: number | null;
  readonly max_completion_tokens?: number | null;
}

/** Options of {@link Simulator.reset}. */
export interface ResetOptions {
  /** Also forget every window and free-tier usage: quotas start empty. @default false */
  readonly quotas?: boolean;
}

/** A running simulator. */
export interface Simulator {
  /**
   * The OpenAI-style base URL, e.g. `http://127.0.0.1:53127/v1` (also served under
   * `/compatible-mode/v1`); `https:` with a `handshakeDelayMs`.
   */
  readonly url: string;
  /**
   * The certificate (PEM) a client must trust to reach an HTTPS simulator (one with a
   * `handshakeDelayMs`): the bundled test certificate for `localhost`, `127.0.0.1` and `::1`.
   * `undefined` over plain HTTP.
   *
   * @example
   * import { Agent } from 'undici';
   * const client = new OpenAI({
   *   baseURL: simulator.url,
   *   apiKey: simulator.apiKey,
   *   fetchOptions: { dispatcher: new Agent({ connect: { ca: simulator.ca } }) },
   * });
   */
  readonly ca: string | undefined;
  readonly port: number;
  readonly host: string;
  readonly mode: SimulatorMode;
  /** The first key of the first account: enough for a demo. */
  readonly apiKey: string;
  /**
   * The simulator's (scaled) time, shaped as `@tollgate/core`'s `Clock`: give it to a limiter
   * so both sides agree on what a minute is.
   */
  readonly clock: SimulatorClock;
  /** Counters, windows and admission samples; `GET /stats` returns the same. */
  stats(): SimulatorStats;
  /** Zeroes the counters, samples and window maxima (and the quotas themselves, if asked). */
  reset(options?: ResetOptions): void;
  /** The prompt tokens the simulator charges for these messages. */
  promptTokens(messages: ReadonlyArray<ChatMessageLike>): number;
  /** The completion tokens the simulator will answer this request with. */
  completionTokens(request: CompletionRequestLike): number;
  /** Stops listening, drops in-flight responses and closes every connection. */
  close(): Promise<void>;
}

/**
 * A clock in step with a simulator running in another thread or process on this machine: the
 * same simulated time and timers, from its `clock.timeScale` and `clock.anchor`. Give it to a
 * limiter there, so a benchmark's client does not share the simulator's event loop.
 *
 * @example
 * // in the simulator's thread: postMessage({ url: sim.url, timeScale: sim.clock.timeScale, anchor: sim.clock.anchor })
 * const clock = simulatorClock(message.timeScale, message.anchor);
 */
export function simulatorClock(timeScale: number, anchor: ClockAnchor): SimulatorClock {
  if (!(typeof timeScale === 'number' && timeScale > 0 && Number.isFinite(timeScale))) {
    throw new SimulatorConfigError('timeScale', `must be a finite number > 0, got ${timeScale}`);
  }
  if (
    typeof anchor !== 'object' ||
    anchor === null ||
    !Number.isFinite(anchor.realMs) ||
    !Number.isFinite(anchor.simulatedMs)
  ) {
    throw new SimulatorConfigError('anchor', 'must be { realMs, simulatedMs } of finite numbers');
  }
  return createScaledClock(timeScale, anchor);
}

/**
 * Starts an OpenAI-compatible server on `127.0.0.1` (a free port by default) that enforces the
 * configured quotas. The config is validated first; a bad one throws `SimulatorConfigError`.
 *
 * @example
 * const simulator = await startSimulator({ ...presets.qwen3Max, timeScale: 20 });
 * const client = new OpenAI({ baseURL: simulator.url, apiKey: simulator.apiKey, maxRetries: 0 });
 * // …
 * console.log(simulator.stats().rejected429);
 * await simulator.close();
 */
export async function startSimulator(config?: SimulatorConfig): Promise<Simulator> {
  const resolved = resolveConfig(config);
  const clock = createScaledClock(resolved.timeScale);
  const engine = new Engine(resolved, clock);
  const transport = await listen(engine.listener, {
    host: resolved.host,
    port: resolved.port,
    handshakeDelayMs: resolved.handshakeDelayMs,
    clock,
  });
  const { port } = transport;
  const hostInUrl = resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host;
  const firstModel = [...resolved.models.values()][0]!;
  let closing: Promise<void> | undefined;

  return {
    url: `${transport.protocol}://${hostInUrl}:${port}/v1`,
    ca: transport.ca,
    port,
    host: resolved.host,
    mode: resolved.mode,
    apiKey: resolved.accounts[0]?.keys[0] ?? DEFAULT_API_KEY,
    clock,
    stats: () => engine.stats(),
    reset: (options = {}) => engine.reset(options.quotas === true),
    promptTokens: (messages) => countPrompt(messages),
    completionTokens: (request) => {
      const model =
        (request.model === undefined ? undefined : resolved.models.get(request.model)) ??
        firstModel;
      const cap = request.max_tokens ?? request.max_completion_tokens ?? model.defaultMaxTokens;
      return countCompletion(request.messages, cap, resolved.completion);
    },
    close: () => {
      if (closing === undefined) {
        engine.close();
        closing = transport.close();
      }
      return closing;
    },
  };
}
