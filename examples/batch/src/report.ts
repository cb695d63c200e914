import type { Limiter } from '@tollgate/core';

/**
 * Wraps a fetch to count what the provider answered, below every retry layer: for a real
 * endpoint (the simulator counts its own 429s).
 */
export function countingFetch(inner: typeof fetch): { fetch: typeof fetch; status429: number } {
  const counter = {
    status429: 0,
    fetch: (async (input, init) => {
      const response = await inner(input, init);
      if (response.status === 429) counter.status429++;
      return response;
    }) as typeof fetch,
  };
  return counter;
}

/** A live progress line: done / waiting / in flight, and tokens booked in the last minute. */
export class Progress {
  done = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly tty = process.stdout.isTTY === true;

  constructor(
    private readonly limiter: Limiter,
    private readonly total: number,
    private readonly tpm: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.print(), this.tty ? 200 : 2000);
  }

  stop(): void {
    clearInterval(this.timer);
    if (this.tty) process.stdout.write('\n');
  }

  private async print(): Promise<void> {
    const snapshot = await this.limiter.snapshot();
    const tokensPerMinute = snapshot.windows.find(
      (w) => w.unit === 'tokens' && w.windowMs === 60_000,
    );
    const used = tokensPerMinute?.used ?? 0;
    const line =
      `done ${String(this.done).padStart(5)}/${this.total}  waiting ${String(snapshot.queued).padStart(5)}  ` +
      `in flight ${String(snapshot.inFlight).padStart(4)}  ` +
      `TPM ${Math.round(used).toLocaleString('en').padStart(9)} / ${this.tpm.toLocaleString('en')} ` +
      `(${((100 * used) / this.tpm).toFixed(0).padStart(3)}%)`;
    if (this.tty) process.stdout.write(`\r${line}`);
    else console.log(line);
  }
}

export interface Summary {
  readonly requests: number;
  readonly succeeded: number;
  readonly lost: number;
  /**
   * 429 responses the provider sent: the simulator's own count when it ran, else counted below
   * Tollgate.
   */
  readonly r429: number;
  /** The same 429s by reason, by the simulator's own counters, when it ran. */
  readonly r429Simulator: Readonly<Record<string, number>> | undefined;
  readonly makespanS: number;
  readonly lowerBoundS: number;
}

export function formatSummary(summary: Summary): string {
  const rows: Array<[string, string]> = [
    ['requests', String(summary.requests)],
    ['succeeded', String(summary.succeeded)],
    ['lost', String(summary.lost)],
    [
      '429 responses',
      summary.r429Simulator === undefined
        ? String(summary.r429)
        : `${summary.r429} (simulator: ${formatReasons(summary.r429Simulator)})`,
    ],
    ['makespan', `${summary.makespanS.toFixed(1)} s`],
    ['quota lower bound', `${summary.lowerBoundS.toFixed(1)} s`],
    ['makespan / bound', (summary.makespanS / summary.lowerBoundS).toFixed(3)],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return ['', ...rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`)].join('\n');
}

/** `{ burst: 1, 'token-rate': 0 }` → `burst 1`; `none` when every count is zero. */
export function formatReasons(counts: Readonly<Record<string, number>>): string {
  const parts = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${reason} ${n}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}
