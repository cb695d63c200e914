import type { Classification } from '@tollgate/retry';

/** What `pool.on(event, listener)` hands each listener. */
export interface PoolEvents {
  /**
   * A throttle refusal (request-rate, token-rate, burst) held the account's billing group for
   * the model: every account of the group, in every process sharing the store.
   */
  held: {
    readonly account: string;
    readonly billingGroup: string;
    readonly model: string;
    /** The hold asked for; a longer hold already in force is kept. */
    readonly forMs: number;
    readonly reason: Classification;
  };
  /**
   * An account was taken out for the model: its quota is exhausted (free tier, billing) — every
   * account of its billing group goes out — or its key was rejected (401/403).
   */
  retired: {
    readonly account: string;
    readonly billingGroup: string;
    readonly model: string;
    /** Until the probe: `probeAfterMs`. */
    readonly forMs: number;
    readonly reason: Classification;
  };
  /**
   * An account this process had seen out is back: by `pool.restore(id)` (`by: 'restore'`: this
   * process's for every model at once, another process's when this one next looks at the
   * account for a model), or because its probe time came (`by: 'probe'`, seen at the next pick).
   */
  restored: {
    readonly account: string;
    readonly model: string | undefined;
    readonly by: 'restore' | 'probe';
  };
  /** An account served a call (its response is going up): which one, for which model. */
  served: { readonly account: string; readonly billingGroup: string; readonly model: string };
  /** Recording a hold or a retirement in the store failed, or a listener threw. */
  error: { readonly error: unknown };
}
