/** How many recent settlements the peak ratio is taken over. */
const WINDOW = 256;
/** Headroom while few settlements are known: 10% after one, 1% after a hundred. */
const SMALL_SAMPLE = 0.1;
const MIN = 0.25;
const MAX = 4;

/**
 * What the limiter learns from settlements: the ratio of reported to estimated prompt tokens.
 * Bookings use the highest ratio among the last 256 settlements — raised by
 * `10% / √settlements` while the sample is small, and clamped to 0.25–4 — because a request
 * booked below what the provider counts overflows a full window: the bias errs high. A
 * stationary workload is then under-booked only by a request whose ratio beats all of the last
 * 256 (about 1 in 257), and by little; a workload whose ratio rises is followed at once, one
 * whose ratio falls within 256 settlements.
 */
export class PromptBias {
  private samples = 0;
  private readonly recent = new Float64Array(WINDOW);
  private peak = 1;

  /** The factor to book estimated prompt tokens at: 1 until settlements teach otherwise. */
  get value(): number {
    if (this.samples === 0) return 1;
    const headroom = 1 + SMALL_SAMPLE / Math.sqrt(this.samples);
    return Math.min(MAX, Math.max(MIN, this.peak * headroom));
  }

  learn(estimatedPrompt: number, reportedPrompt: number): void {
    const ratio = reportedPrompt / estimatedPrompt;
    const slot = this.samples % WINDOW;
    const leaving = this.samples < WINDOW ? Number.NEGATIVE_INFINITY : this.recent[slot]!;
    this.recent[slot] = ratio;
    this.samples++;
    if (this.samples === 1 || ratio >= this.peak) {
      this.peak = ratio;
    } else if (leaving === this.peak) {
      // the peak left the window: the next highest of those still in it
      const kept = Math.min(this.samples, WINDOW);
      let peak = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < kept; i++) peak = Math.max(peak, this.recent[i]!);
      this.peak = peak;
    }
  }
}
