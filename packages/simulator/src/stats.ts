import type { WindowName, WindowUnit } from './internal/sliding-window.js';

export type { WindowName, WindowUnit };

/**
 * Why a chat request was refused:
 *
 * | reason | status | when |
 * |---|---|---|
 * | `request-rate` | 429 | an RPM or RPS window is full |
 * | `burst` | 429 | the burst guard fired |
 * | `token-rate` | 429 | a TPM or TPS window has no room for the request's cost |
 * | `quota-exhausted` | 429 | the account's free-tier tokens for the model are used up |
 * | `auth` | 401 | no key, or a key no account has |
 * | `not-found` | 404 | the model is not configured |
 * | `context-length` | 400 | prompt + output cap exceed the context window |
 * | `bad-request` | 400 | malformed JSON or parameters, or an output cap above the model's |
 */
export type RejectReason =
  | 'request-rate'
  | 'burst'
  | 'token-rate'
  | 'quota-exhausted'
  | 'auth'
  | 'not-found'
  | 'context-length'
  | 'bad-request';

/** The 429 reasons. */
export type RateLimitReason = 'request-rate' | 'burst' | 'token-rate' | 'quota-exhausted';

/** Counters of chat-completion requests. `requests = admitted + rejected`. */
export interface RequestCounters {
  readonly requests: number;
  readonly admitted: number;
  readonly rejected: number;
  readonly rejectedBy: Readonly<Record<RejectReason, number>>;
  /** Prompt tokens of admitted requests. */
  readonly promptTokens: number;
  /** Completion tokens of admitted requests (counted at admission). */
  readonly completionTokens: number;
}

/** One window of one (account, model) quota. */
export interface WindowReport {
  readonly account: string;
  readonly model: string;
  readonly window: WindowName;
  readonly unit: WindowUnit;
  /** The effective limit (a per-second limit below 1 is shown as 1 per a longer window). */
  readonly limit: number;
  readonly windowMs: number;
  /** Units counted now (rate-limited requests included when `countRejected`). */
  readonly used: number;
  /**
   * The most *admitted* units the window ever held at once since start or `reset()`, as booked
   * at admission. Never above `limit`: the proof that the referee held the line.
   */
  readonly maxUsed: number;
}

/** One admitted request, as the token windows booked it. */
export interface AdmissionSample {
  /** Simulated milliseconds since the simulator started. */
  readonly at: number;
  readonly account: string;
  readonly key: string;
  readonly model: string;
  readonly promptTokens: number;
  /** The output cap the request was charged for. */
  readonly maxTokens: number;
  readonly completionTokens: number;
  /** Tokens booked at admission: `promptTokens + maxTokens`. */
  readonly cost: number;
}

/** What `stats()` and `GET /stats` return. */
export interface SimulatorStats {
  /** Simulated milliseconds since the simulator started. */
  readonly elapsedMs: number;
  readonly totals: RequestCounters;
  /** All 429s (rate limits and exhausted free tiers). */
  readonly rejected429: number;
  readonly rejected429ByReason: Readonly<Record<RateLimitReason, number>>;
  /** Per API key (requests with an unknown or missing key count in `totals` only). */
  readonly byKey: Readonly<Record<string, RequestCounters>>;
  readonly byAccount: Readonly<Record<string, RequestCounters>>;
  /** Per configured model (requests for unknown models count in `totals` only). */
  readonly byModel: Readonly<Record<string, RequestCounters>>;
  readonly windows: ReadonlyArray<WindowReport>;
  /** Every admission since start or `reset()`, in order. */
  readonly admissions: ReadonlyArray<AdmissionSample>;
}
