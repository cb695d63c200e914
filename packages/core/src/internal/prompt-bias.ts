/** How many recent settlements the bias is taken over. */
const WINDOW = 256;
/** Headroom while few settlements are known: 10% / √settlements. */
const SMALL_SAMPLE = 0.1;
/** The range of a settlement's ratio, and so of the bias. */
const MIN = 0.25;
const MAX = 4;
/** Settlements before the bias moves: with the highest set aside, two more must agree. */
const MIN_SAMPLES = 3;

/**
 * What the limiter learns from settlements: the ratio of reported to estimated prompt tokens.
 *
 * The rule: each settlement's ratio is clamped to 0.25–4 (a report outside that range says
 * more about the usage reader than about the estimator); bookings use the **second-highest**
 * ratio among the last 256 settlements, raised by `10% / √settlements` while the sample is
 * small, and 1 until three settlements are known.
 *
 * The bias errs high, because a request booked below what the provider counts overflows a full
 * window: a stationary workload is under-booked only by a request whose ratio beats all but
 * one of the last 256 (about 2 in 257), and by little. Setting the highest aside is what makes
 * one report harmless, however absurd (a cumulative count, a wrong field, a zero): from the
 * third settlement on, the bias is one of the honest ratios around it — never above the
 * highest of them, never below the second-highest. A workload whose ratio rises is followed
 * after two settlements at the new ratio; one whose ratio falls within 256.
 */
export class PromptBias {
  private samples = 0;
  private readonly recent = new Float64Array(WINDOW);
  /** The highest and second-highest ratio among `recent`. */
  private highest = Number.NEGATIVE_INFINITY;
  private second = Number.NEGATIVE_INFINITY;

  /** The factor to book estimated prompt tokens at: 1 until settlements teach otherwise. */
  get value(): number {
    if (this.samples < MIN_SAMPLES) return 1;
    const headroom = 1 + SMALL_SAMPLE / Math.sqrt(this.samples);
    return Math.min(MAX, this.second * headroom);
  }

  learn(estimatedPrompt: number, reportedPrompt: number): void {
    const ratio = Math.min(MAX, Math.max(MIN, reportedPrompt / estimatedPrompt));
    const slot = this.samples % WINDOW;
    const full = this.samples >= WINDOW;
    const leaving = this.recent[slot]!;
    this.recent[slot] = ratio;
    this.samples++;
    if (!full || leaving < this.second) {
      this.add(ratio);
    } else if (ratio >= leaving) {
      // one of the top two leaves for a ratio at least as high: the other and it are the top two
      const kept = leaving === this.highest ? this.second : this.highest;
      this.highest = Math.max(kept, ratio);
      this.second = Math.min(kept, ratio);
    } else {
      // one of the top two left for a lower ratio: the top two of those in the window
      this.highest = Number.NEGATIVE_INFINITY;
      this.second = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < WINDOW; i++) this.add(this.recent[i]!);
    }
  }

  private add(ratio: number): void {
    if (ratio >= this.highest) {
      this.second = this.highest;
      this.highest = ratio;
    } else if (ratio > this.second) {
      this.second = ratio;
    }
  }
}
