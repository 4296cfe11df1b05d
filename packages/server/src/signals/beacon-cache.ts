/**
 * Beacon signals for a running server, derived an hour at a time and kept until beacons arrive for
 * that hour. A pass looks back 8 days; deriving 8 days of one-minute beacons from 1,000 probes
 * again every minute would cost most of a CPU (bench:detect), while only the current hour, and the
 * hours a late beacon's missed attempts fall in, change between passes.
 *
 * An hour is dirty when a beacon row with a time in it (or in the step just before the next hour,
 * which that hour's first step compares against) arrived after the hour was derived: the
 * `received` column says when each row came in. Silence is filled here, after assembly, rather than
 * inside each hour's derivation: an entity whose probes all went quiet gets zeros for up to a day
 * after it was last heard, across hour boundaries.
 */
import { BEACONS_TABLE, ensureBeaconsTable } from '../beacons/table.js';
import { beaconSignals } from './beacon-signals.js';
import type { SignalsDatabase } from './database.js';
import { SIGNAL_KINDS, type SignalPoint, stepStart } from './types.js';

const HOUR = 3600;
/** How long after its last probe was heard an entity's silence is filled with zeros. */
export const SILENCE_FILL_SECONDS = 86_400;

export class BeaconSignalCache {
  private readonly hours = new Map<number, SignalPoint[]>();
  /**
   * Rows received at or after this (epoch seconds) may not be in the cached hours. At or after:
   * more rows can arrive within the second the newest one did.
   */
  private watermark = Number.NEGATIVE_INFINITY;
  /** The latest end of a range asked for: hours are kept up to `retainSeconds` before it. */
  private newest = Number.NEGATIVE_INFINITY;

  /**
   * `retainSeconds`: how far back from the latest range asked for derived hours are kept (the
   * engine's look-back). Older ranges (a request for last month's signals) are derived but not
   * kept, so they neither grow the cache nor evict the hours the passes reuse.
   */
  constructor(
    private readonly db: SignalsDatabase,
    readonly step: number,
    private readonly retainSeconds = Number.POSITIVE_INFINITY,
  ) {
    if (!(Number.isInteger(step) && step > 0 && HOUR % step === 0))
      throw new RangeError(`the beacon step must divide an hour in whole seconds, not ${step}`);
  }

  /** Every beacon signal point over [from, until), silence filled. */
  async points(range: { from: number; until: number }): Promise<SignalPoint[]> {
    await ensureBeaconsTable(this.db);
    const first = stepStart(range.from - SILENCE_FILL_SECONDS, HOUR);
    const last = stepStart(range.until - 1, HOUR);
    await this.invalidate();
    this.newest = Math.max(this.newest, range.until);
    const keepFrom = this.newest - this.retainSeconds - SILENCE_FILL_SECONDS - HOUR;
    for (const hour of this.hours.keys()) if (hour < keepFrom) this.hours.delete(hour);

    const out: SignalPoint[] = [];
    for (let hour = first; hour <= last; hour += HOUR) {
      let points = this.hours.get(hour);
      if (!points) {
        points = await beaconSignals(this.db, {
          from: hour,
          until: hour + HOUR,
          step: this.step,
          silenceFillSeconds: 0,
        });
        // The hour still in progress is derived again on every pass.
        if (hour + HOUR <= range.until && hour >= keepFrom) this.hours.set(hour, points);
      }
      for (const p of points) out.push(p);
    }
    return fillSilence(out, this.step, range);
  }

  /** Forgets the hours that rows received since the last pass fall in. */
  private async invalidate(): Promise<void> {
    const since = this.watermark;
    const rows = await this.db.all<{ hour: bigint | number | null; newest: bigint | number | null }>(
      `SELECT DISTINCT (time + ${this.step}) // ${HOUR} * ${HOUR} AS hour, max(received) OVER () AS newest
       FROM ${BEACONS_TABLE} WHERE received >= $since
       UNION ALL
       SELECT DISTINCT time // ${HOUR} * ${HOUR}, NULL FROM ${BEACONS_TABLE} WHERE received >= $since`,
      { since: Number.isFinite(since) ? since : -1 },
    );
    for (const row of rows) {
      if (row.hour !== null) this.hours.delete(Number(row.hour));
      if (row.newest !== null) this.watermark = Math.max(this.watermark, Number(row.newest));
    }
  }
}

/**
 * Adds zero points (count 0) for each entity's steps in [from, until) without a point, for up to
 * SILENCE_FILL_SECONDS after the entity's last point: total silence reads as zeros, not as missing
 * data. Points before `from` only set where the silence began. Result in time order, within range.
 */
export function fillSilence(
  points: readonly SignalPoint[],
  step: number,
  range: { from: number; until: number },
): SignalPoint[] {
  const seen = new Map<string, Set<number>>();
  for (const p of points) {
    const times = seen.get(p.entity);
    if (times) times.add(p.time);
    else seen.set(p.entity, new Set([p.time]));
  }
  const out: SignalPoint[] = points.filter((p) => p.time >= range.from && p.time < range.until);
  const fillSteps = Math.floor(SILENCE_FILL_SECONDS / step);
  const firstStep = stepStart(range.from, step);
  for (const [entity, times] of seen) {
    const sorted = [...times].sort((a, b) => a - b);
    for (let i = 0; i < sorted.length; i++) {
      const at = sorted[i] as number;
      const next = sorted[i + 1] ?? Number.POSITIVE_INFINITY;
      const end = Math.min(next, at + (fillSteps + 1) * step, range.until);
      for (let t = Math.max(at + step, firstStep); t < end; t += step) {
        out.push(
          { entity, signal: SIGNAL_KINDS.beaconActive, time: t, step, value: 0, count: 0 },
          { entity, signal: SIGNAL_KINDS.beaconDisconnected, time: t, step, value: 0, count: 0 },
        );
      }
    }
  }
  return out;
}
