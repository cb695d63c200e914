/**
 * Whose wire format the simulator speaks:
 *
 * - `dashscope` (default): Alibaba Cloud Model Studio's compatible mode. Error bodies carry the
 *   lowercase compatible-mode codes (`limit_requests`, `limit_burst_rate`, `insufficient_quota`)
 *   and a `request_id`; no rate-limit headers are sent.
 * - `openai`: OpenAI's bodies (`rate_limit_exceeded` with `type: 'requests' | 'tokens'`),
 *   `x-ratelimit-*` headers on every chat response, `retry-after`/`retry-after-ms` on 429s.
 */
export type SimulatorMode = 'dashscope' | 'openai';

/**
 * What a request costs in the token windows:
 *
 * - `reserved` (default): prompt tokens + the output cap (`max_tokens`, else
 *   `max_completion_tokens`, else the model's `defaultMaxTokens`), booked at admission and never
 *   refunded — OpenAI's documented rule.
 * - `actual`: booked at admission the same way, then corrected to prompt + completion tokens when
 *   the response completes.
 */
export type AccountingMode = 'reserved' | 'actual';

/**
 * The burst guard: at most `limit` requests within any `windowMs` span. It models DashScope's
 * undocumented "Request rate increased too quickly" rejection as a surge above 1.6× the
 * per-second rate within a quarter of a second.
 */
export interface BurstGuardConfig {
  /** @default 250 */
  readonly windowMs?: number;
  /** @default max(2, ceil(rps × 0.25 × 1.6)) — 4 at 10 RPS */
  readonly limit?: number;
}

/** One model's quota (per account) and its size limits. */
export interface ModelConfig {
  /** Requests per minute. Omit for no per-minute request limit. */
  readonly rpm?: number;
  /** Tokens per minute. Omit for no per-minute token limit. */
  readonly tpm?: number;
  /**
   * Requests per second; `false` for none. A limit below 1 becomes one request per
   * `1000 / rps` ms.
   * @default rpm / 60 (as DashScope applies it)
   */
  readonly rps?: number | false;
  /**
   * Tokens per second; `false` for none.
   * @default tpm / 60
   */
  readonly tps?: number | false;
  /**
   * The burst guard; `false` for none. Give either field to override one default.
   * @default { windowMs: 250, limit: max(2, ceil(rps × 0.4)) } when a per-second rate is known
   */
  readonly burst?: BurstGuardConfig | false;
  /**
   * Prompt tokens + the output cap must fit, or the request fails with a context-length 400.
   * @default 131072
   */
  readonly contextWindow?: number;
  /**
   * The largest `max_tokens` a request may ask for (larger: 400).
   * @default min(16384, contextWindow)
   */
  readonly maxOutputTokens?: number;
  /**
   * The output cap of a request that sets neither `max_tokens` nor `max_completion_tokens`.
   * Real providers default to the model's maximum output; a smaller default keeps such requests
   * admissible under `reserved` accounting and per-second token windows.
   * @default min(4096, maxOutputTokens)
   */
  readonly defaultMaxTokens?: number;
}

/** A billing account: its keys share every model's quota (keys add no quota). */
export interface AccountConfig {
  /** A name for stats and messages. */
  readonly id: string;
  /** The API keys (Bearer tokens) of this account. Unique across accounts. */
  readonly keys: ReadonlyArray<string>;
  /**
   * A free-tier allowance per model, in tokens (prompt + completion of admitted requests). Once
   * used up, requests fail with a non-retryable 429 ("Free allocated quota exceeded.").
   * Omit for a paid account.
   */
  readonly freeTokens?: number;
}

/** Simulated latency of an admitted request, in simulated milliseconds. */
export interface LatencyConfig {
  /** Time to the first byte. @default 400 */
  readonly base?: number;
  /** Added per completion token. @default 0 */
  readonly perOutputToken?: number;
}

/**
 * How many completion tokens a request gets: a fraction of its output cap in
 * `[minRatio, maxRatio]`, picked by a hash of its messages (the same messages always get the
 * same answer), at least 1 and never above the cap.
 */
export interface CompletionConfig {
  /** @default 0.3 */
  readonly minRatio?: number;
  /** @default 1 */
  readonly maxRatio?: number;
}

/** Everything `startSimulator` accepts; every field is optional. */
export interface SimulatorConfig {
  /** @default 0 (any free port) */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 'dashscope' */
  readonly mode?: SimulatorMode;
  /**
   * Models by name, each with its quota.
   * @default { 'qwen3-max': presets.qwen3Max's quota }
   */
  readonly models?: Readonly<Record<string, ModelConfig>>;
  /**
   * Accounts and their keys.
   * @default [{ id: 'demo', keys: ['sk-tollgate-demo'] }]
   */
  readonly accounts?: ReadonlyArray<AccountConfig>;
  /** @default 'reserved' */
  readonly accounting?: AccountingMode;
  /**
   * Rate-limited (429) requests still count against the request windows (RPM, RPS, burst),
   * as OpenAI documents. They never count tokens.
   * @default true
   */
  readonly countRejected?: boolean;
  /**
   * Simulated time runs this many times faster than real time: with 20, a minute lasts 3 s.
   * Windows, resets, `retry-after` and latency are all in simulated time.
   * @default 1
   */
  readonly timeScale?: number;
  /** @default { base: 400, perOutputToken: 0 } */
  readonly latencyMs?: LatencyConfig;
  /**
   * The TCP + TLS handshake of a remote provider, in simulated milliseconds (50–300 ms in real
   * life). Above 0 the simulator serves HTTPS with its bundled test certificate (trust
   * `simulator.ca`) and makes each new connection wait this long before its handshake
   * completes, so the client cannot write its first request until then; requests on a
   * connection already open pay nothing. 0 serves plain HTTP, where a delay could not hold the
   * client's write back.
   * @default 0
   */
  readonly handshakeDelayMs?: number;
  /** @default { minRatio: 0.3, maxRatio: 1 } */
  readonly completion?: CompletionConfig;
  /**
   * The organization named in OpenAI-mode rate-limit messages.
   * @default 'org-tollgate-simulator'
   */
  readonly organization?: string;
}
