/**
 * What detectors produce (docs/detection.md). A detector is a pure function of a series and its
 * configuration: the same inputs always give the same alerts, so a pass can be re-run whenever late
 * data fills a gap, and every alert can be reconstructed from the stored signals.
 */
import type { SignalSeries } from '../signals/types.js';

export type DetectorName = 'median' | 'cusum' | 'burst';
export type AlertLevel = 'normal' | 'warning' | 'critical';

/** A change of level of one (entity, signal, detector), IODA's alert shape. */
export interface Alert {
  entity: string;
  signal: string;
  detector: DetectorName;
  level: AlertLevel;
  /** Start of the step at which the level changed, epoch seconds. */
  time: number;
  /** The signal's value at that step (null when the step had no data and the detector counts that). */
  value: number | null;
  /** What the detector expected there (the history median, the OK mean, the usual silence). */
  expected: number;
  /**
   * Epoch seconds at which a live pass would first have known this (the end of the step that
   * confirmed it); later than `time` when a level must last before it is alerted. For time to detect.
   */
  raisedAt?: number;
}

/**
 * One anomaly: from the first non-normal alert to the next normal one (end null while it lasts).
 * What the incident builder consumes.
 */
export interface AnomalyWindow {
  entity: string;
  signal: string;
  detector: DetectorName;
  step: number;
  /** Epoch seconds of the first abnormal step. */
  start: number;
  /** Epoch seconds of the first step back to normal, or null while ongoing. */
  end: number | null;
  /** Worst level reached. */
  level: Exclude<AlertLevel, 'normal'>;
  /** Lowest value / expected seen in the window (1 = as expected; for rising signals the inverse). */
  worstRatio: number;
  alerts: Alert[];
}

export interface Detector<Config> {
  name: DetectorName;
  /** Alerts over the whole series, in time order. */
  detect(series: SignalSeries, config: Config): Alert[];
}
