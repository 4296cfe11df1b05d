/**
 * Per-key token buckets, counted in measurements. A key is charged only for batches that verified,
 * so nobody can drain a probe's allowance with junk under its (public) key.
 */

interface Bucket {
  tokens: number;
  updated: number;
}

export interface RateDecision {
  ok: boolean;
  /** When refused: whole seconds until the batch would fit. */
  retryAfterSeconds: number;
}

export class KeyRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    /** Buckets kept at most; idle ones (full again) are dropped first. */
    private readonly maxKeys = 100_000,
  ) {}

  /**
   * Charges every key its count, all or nothing: either each key had enough tokens and all are
   * charged, or none is and the answer says how long the neediest key must wait.
   */
  take(counts: ReadonlyMap<string, number>, now = Date.now()): RateDecision {
    let wait = 0;
    for (const [key, count] of counts) {
      const tokens = this.refilled(key, now);
      if (tokens < count) wait = Math.max(wait, (count - tokens) / this.perSecond);
    }
    if (wait > 0) return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(wait)) };
    for (const [key, count] of counts) {
      const tokens = this.refilled(key, now) - count;
      // Re-inserted so the Map's order is least recently charged first, which sweep() relies on.
      this.buckets.delete(key);
      this.buckets.set(key, { tokens, updated: now });
    }
    if (this.buckets.size > this.maxKeys) this.sweep(now);
    return { ok: true, retryAfterSeconds: 0 };
  }

  private refilled(key: string, now: number): number {
    const bucket = this.buckets.get(key);
    if (!bucket) return this.burst;
    return Math.min(this.burst, bucket.tokens + ((now - bucket.updated) / 1000) * this.perSecond);
  }

  /** Forgets full buckets (a fresh one is the same), then the least recently charged if still too many. */
  private sweep(now: number): void {
    for (const key of this.buckets.keys()) {
      if (this.refilled(key, now) >= this.burst) this.buckets.delete(key);
    }
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= this.maxKeys) break;
      this.buckets.delete(key);
    }
  }

  get size(): number {
    return this.buckets.size;
  }
}
