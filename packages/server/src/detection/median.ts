/**
 * IODA's moving-median detector (research/outage-detection.md §1.2): the expected value of a step
 * is the median of the values stored over a sliding history window, and the step is a warning or
 * critical when value / expected falls below the signal family's ratios.
 *
 * What keeps it honest on real signals:
 * - in-painting: while a step looks abnormal, the prediction (not the value) enters the history,
 *   so an outage does not drag the baseline down and end itself; after `maxInpaintSeconds` of
 *   continuous in-painting the real values go in again, so a lasting level shift becomes normal;
 * - `minPrediction`: no judgement on tiny baselines, where one lost /24 is half the signal;
 * - `warmupSeconds`: no judgement until the history covers that much time;
 * - hysteresis: a level must hold `minDurationSeconds` before it is alerted and normal must hold
 *   `recoverySeconds` before a recovery is declared; both alerts are dated at the first step of
 *   the run, so the start and end stay precise while flapping is ignored.
 *
 * Missing steps (null) are no evidence: they neither enter the history nor count towards a run.
 * The detector is a pure function of the series and config.
 */
import type { SignalSeries } from '../signals/types.js';
import type { Alert, AlertLevel, Detector } from './types.js';

export interface MedianConfig {
  /** Length of the history window, seconds (IODA: 24 h for BGP, 7 days for the others). */
  historySeconds: number;
  /** History that must be covered before any prediction, seconds. */
  warmupSeconds: number;
  /** Predictions below this are too small to judge (IODA's minprediction). */
  minPrediction: number;
  /** value / expected below this is a warning. */
  warningRatio: number;
  /** value / expected below this is critical. */
  criticalRatio: number;
  /** Steps with value / expected below this store the prediction instead of the value. */
  inpaintBelow: number;
  /** …or above this (a spike should not lift the baseline either). */
  inpaintAbove: number;
  /** Longest continuous in-painting, seconds; after it a level shift is taken as the new normal. */
  maxInpaintSeconds: number;
  /** An abnormal level must last this long (seconds, at least one step) before it is alerted. */
  minDurationSeconds: number;
  /** Normal must last this long before the recovery is declared. */
  recoverySeconds: number;
}

export const MEDIAN_DEFAULTS: MedianConfig = {
  historySeconds: 7 * 86400,
  warmupSeconds: 3600,
  minPrediction: 20,
  warningRatio: 0.8,
  criticalRatio: 0.5,
  inpaintBelow: 0.8,
  inpaintAbove: 2,
  maxInpaintSeconds: 7 * 86400,
  minDurationSeconds: 0,
  recoverySeconds: 0,
};

/** A multiset of numbers kept sorted, for the median of a sliding window. */
class SortedWindow {
  private readonly sorted: number[] = [];

  get size(): number {
    return this.sorted.length;
  }

  private lowerBound(x: number): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.sorted[mid] as number) < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  add(x: number): void {
    this.sorted.splice(this.lowerBound(x), 0, x);
  }

  remove(x: number): void {
    const i = this.lowerBound(x);
    if (this.sorted[i] === x) this.sorted.splice(i, 1);
  }

  median(): number {
    const n = this.sorted.length;
    const mid = n >> 1;
    return n % 2 === 1
      ? (this.sorted[mid] as number)
      : ((this.sorted[mid - 1] as number) + (this.sorted[mid] as number)) / 2;
  }
}

function levelOf(ratio: number, config: MedianConfig): AlertLevel {
  if (ratio < config.criticalRatio) return 'critical';
  if (ratio < config.warningRatio) return 'warning';
  return 'normal';
}

export function detectMedian(series: SignalSeries, config: MedianConfig): Alert[] {
  const { step } = series;
  const historySteps = Math.max(1, Math.round(config.historySeconds / step));
  const warmupSteps = Math.max(1, Math.ceil(config.warmupSeconds / step));
  const minSteps = Math.max(1, Math.ceil(config.minDurationSeconds / step));
  const recoverySteps = Math.max(1, Math.ceil(config.recoverySeconds / step));
  const maxInpaintSteps = Math.max(0, Math.floor(config.maxInpaintSeconds / step));

  const window = new SortedWindow();
  // What entered the history at each step index (null: nothing), to drop it when it slides out.
  const stored: Array<number | null> = new Array(series.values.length).fill(null);
  let inpaintRun = 0;

  const alerts: Alert[] = [];
  let state: AlertLevel = 'normal';
  // The run of raw levels differing from the state: its level, where it started, its length.
  let pending: { level: AlertLevel; index: number; length: number; value: number; expected: number } | null =
    null;

  for (let i = 0; i < series.values.length; i++) {
    const leaving = i - historySteps;
    if (leaving >= 0 && stored[leaving] !== null) window.remove(stored[leaving] as number);
    const value = series.values[i];
    if (value === null || value === undefined) continue;

    const warm = window.size > 0 && window.size >= warmupSteps;
    const expected = warm ? window.median() : null;
    let raw: AlertLevel = 'normal';
    let inpaint = false;
    if (expected !== null && expected >= config.minPrediction) {
      const ratio = value / expected;
      raw = levelOf(ratio, config);
      inpaint = ratio < config.inpaintBelow || ratio > config.inpaintAbove;
    }
    if (inpaint && inpaintRun < maxInpaintSteps) {
      inpaintRun++;
      stored[i] = expected;
    } else {
      inpaintRun = inpaint ? inpaintRun + 1 : 0;
      stored[i] = value;
    }
    window.add(stored[i] as number);

    if (expected === null) continue;
    if (raw === state) {
      pending = null;
      continue;
    }
    // A change of severity inside an anomaly is reported at once; entering or leaving one waits
    // for its run to last.
    if (state !== 'normal' && raw !== 'normal') {
      state = raw;
      pending = null;
      alerts.push(alertAt(series, i, raw, value, expected, i + 1));
      continue;
    }
    if (pending === null || (pending.level === 'normal') !== (raw === 'normal')) {
      pending = { level: raw, index: i, length: 0, value, expected };
    }
    pending.length++;
    // Within an abnormal run, report its worst level once it is confirmed.
    if (raw === 'critical') pending.level = 'critical';
    const needed = raw === 'normal' ? recoverySteps : minSteps;
    if (pending.length >= needed) {
      state = pending.level;
      alerts.push(alertAt(series, pending.index, pending.level, pending.value, pending.expected, i + 1));
      pending = null;
    }
  }
  return alerts;
}

function alertAt(
  series: SignalSeries,
  index: number,
  level: AlertLevel,
  value: number,
  expected: number,
  knownIndex: number,
): Alert {
  return {
    entity: series.entity,
    signal: series.signal,
    detector: 'median',
    level,
    time: series.from + index * series.step,
    value,
    expected,
    raisedAt: series.from + knownIndex * series.step,
  };
}

export const medianDetector: Detector<MedianConfig> = { name: 'median', detect: detectMedian };
