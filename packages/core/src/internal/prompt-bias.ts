const RATE = 0.1;
/** How fast the recent peak ratio decays toward the mean, per settlement (~50 settlements). */
const PEAK_DECAY = 0.02;
/** Headroom while few settlements are known: 10% after one, 1% after a hundred. */
const SMALL_SAMPLE = 0.1;
const MIN = 0.25;
const MAX = 4;

/**
 * What the limiter learns from settlements: the ratio of reported to estimated prompt tokens.
 * The mean starts exact (1/n) and becomes exponential (rate 0.1) so it follows a drifting
 * workload. Bookings use the recent peak ratio — the highest seen, decaying toward the mean
 * over about fifty settlements — raised by `10% / √settlements` while the sample is small, and
 * clamped to 0.25–4: a request booked below what the provider counts overflows a full window,
 * so the bias errs high.
 */
export class PromptBias {
  private samples = 0;
  private mean = 1;
  private peak = 1;

  /** The factor to book estimated prompt tokens at: 1 until settlements teach otherwise. */
  get value(): number {
    if (this.samples === 0) return 1;
    const headroom = 1 + SMALL_SAMPLE / Math.sqrt(this.samples);
    return Math.min(MAX, Math.max(MIN, this.peak * headroom));
  }

  learn(estimatedPrompt: number, reportedPrompt: number): void {
    const ratio = reportedPrompt / estimatedPrompt;
    this.samples++;
    if (this.samples === 1) {
      this.mean = ratio;
      this.peak = ratio;
      return;
    }
    this.mean += Math.max(RATE, 1 / this.samples) * (ratio - this.mean);
    this.peak = Math.max(ratio, this.peak + PEAK_DECAY * (this.mean - this.peak));
  }
}
