import type {
  AdmissionSample,
  RateLimitReason,
  RejectReason,
  RequestCounters,
  SimulatorStats,
  WindowReport,
} from '../stats.js';

const REASONS: ReadonlyArray<RejectReason> = [
  'request-rate',
  'burst',
  'token-rate',
  'quota-exhausted',
  'auth',
  'not-found',
  'context-length',
  'bad-request',
];
const RATE_LIMIT_REASONS: ReadonlyArray<RateLimitReason> = [
  'request-rate',
  'burst',
  'token-rate',
  'quota-exhausted',
];

interface MutableCounters {
  requests: number;
  admitted: number;
  rejected: number;
  rejectedBy: Record<RejectReason, number>;
  promptTokens: number;
  completionTokens: number;
}

function emptyCounters(): MutableCounters {
  return {
    requests: 0,
    admitted: 0,
    rejected: 0,
    rejectedBy: Object.fromEntries(REASONS.map((reason) => [reason, 0])) as Record<
      RejectReason,
      number
    >,
    promptTokens: 0,
    completionTokens: 0,
  };
}

function copy(counters: MutableCounters): RequestCounters {
  return { ...counters, rejectedBy: { ...counters.rejectedBy } };
}

/** Who a request was from, as far as it got: unknown keys and models have no entry. */
export interface Attribution {
  readonly key?: string | undefined;
  readonly account?: string | undefined;
  readonly model?: string | undefined;
}

/** Counters in totals and per key, account and model, plus the admission samples. */
export class StatsRecorder {
  private totals = emptyCounters();
  private byKey = new Map<string, MutableCounters>();
  private byAccount = new Map<string, MutableCounters>();
  private byModel = new Map<string, MutableCounters>();
  private admissions: AdmissionSample[] = [];

  private each(who: Attribution, update: (counters: MutableCounters) => void): void {
    update(this.totals);
    const bucket = (map: Map<string, MutableCounters>, name: string | undefined) => {
      if (name === undefined) return;
      let counters = map.get(name);
      if (counters === undefined) {
        counters = emptyCounters();
        map.set(name, counters);
      }
      update(counters);
    };
    bucket(this.byKey, who.key);
    bucket(this.byAccount, who.account);
    bucket(this.byModel, who.model);
  }

  rejected(who: Attribution, reason: RejectReason): void {
    this.each(who, (counters) => {
      counters.requests++;
      counters.rejected++;
      counters.rejectedBy[reason]++;
    });
  }

  admitted(sample: AdmissionSample): void {
    this.each(sample, (counters) => {
      counters.requests++;
      counters.admitted++;
      counters.promptTokens += sample.promptTokens;
      counters.completionTokens += sample.completionTokens;
    });
    this.admissions.push(sample);
  }

  reset(): void {
    this.totals = emptyCounters();
    this.byKey = new Map();
    this.byAccount = new Map();
    this.byModel = new Map();
    this.admissions = [];
  }

  snapshot(elapsedMs: number, windows: ReadonlyArray<WindowReport>): SimulatorStats {
    const table = (map: Map<string, MutableCounters>) =>
      Object.fromEntries([...map].map(([name, counters]) => [name, copy(counters)]));
    const rejected429ByReason = Object.fromEntries(
      RATE_LIMIT_REASONS.map((reason) => [reason, this.totals.rejectedBy[reason]]),
    ) as Record<RateLimitReason, number>;
    return {
      elapsedMs,
      totals: copy(this.totals),
      rejected429: RATE_LIMIT_REASONS.reduce((sum, reason) => sum + rejected429ByReason[reason], 0),
      rejected429ByReason,
      byKey: table(this.byKey),
      byAccount: table(this.byAccount),
      byModel: table(this.byModel),
      windows: [...windows],
      admissions: [...this.admissions],
    };
  }
}
