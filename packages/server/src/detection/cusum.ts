/**
 * Two-state CUSUM on a blocked fraction, after OONI's v5 "LoNI" detector (research/ooni.md §7):
 * the fraction x of a step is compared with two fixed means, μ0 for OK and μ1 for blocked, and
 * evidence accumulates against the current state until it crosses h = edd · (μ1 − μ0) / 2, the
 * threshold at which a clean full shift is found after `edd` steps.
 *
 * What differs from OONI's, fixing the weaknesses its own documentation lists:
 * - empty steps count: a step without measurements is "no evidence", not "OK" and not a freeze.
 *   Both accumulators decay by `emptyHalfLifeSteps` per empty step, and after
 *   `unknownAfterSteps` empty steps in a row the state becomes unknown, which closes an open
 *   anomaly at the first empty step (value null): Pharos claims blocking only as far as its
 *   measurements reach, and leaves silence to the beacon and BGP detectors;
 * - evidence is weighted by sample size: a step counts min(1, count / fullWeightCount), so one
 *   measurement cannot weigh like fifty, and no state change is alerted on fewer than
 *   `minMeasurements` measurements behind it;
 * - it is a pure function of the series: late data is re-evaluated by running it again, and
 *   every alert can be rebuilt from the stored signal;
 * - alerts are dated at the change point (the step after the accumulator last stood at zero),
 *   not at the step that crossed the threshold; `raisedAt` says when a live pass would have known.
 */
import type { SignalSeries } from '../signals/types.js';
import type { Alert, AlertLevel, Detector } from './types.js';

export interface CusumConfig {
  /** Mean blocked fraction when nothing is blocked. */
  mu0: number;
  /** Mean blocked fraction when it is blocked. */
  mu1: number;
  /** Expected detection delay in full-weight steps for a clean shift from μ0 to μ1; sets h. */
  expectedDelaySteps: number;
  /** Evidence to leave the blocked state, as a multiple of h (> 1 makes recovery slower: hysteresis). */
  recoveryFactor: number;
  /** Measurements in a step for it to weigh fully. */
  fullWeightCount: number;
  /** Fewest measurements behind a change before it is alerted. */
  minMeasurements: number;
  /** Empty steps over which accumulated evidence halves. */
  emptyHalfLifeSteps: number;
  /** Empty steps in a row after which the state is unknown. */
  unknownAfterSteps: number;
  /** Mean fraction since the change at or above which the anomaly is critical (else warning). */
  criticalFraction: number;
}

export const CUSUM_DEFAULTS: CusumConfig = {
  mu0: 0,
  mu1: 0.7,
  expectedDelaySteps: 3,
  recoveryFactor: 1,
  fullWeightCount: 5,
  minMeasurements: 5,
  emptyHalfLifeSteps: 6,
  unknownAfterSteps: 24,
  criticalFraction: 0.5,
};

/** OONI's threshold: h = edd · (μ1 − μ0) / 2. */
export function cusumThreshold(config: Pick<CusumConfig, 'mu0' | 'mu1' | 'expectedDelaySteps'>): number {
  return (config.expectedDelaySteps * (config.mu1 - config.mu0)) / 2;
}

type State = 'unknown' | 'ok' | 'blocked';

/** One side's accumulator, with where its current rise began and what stands behind it. */
interface Side {
  sum: number;
  start: number;
  measurements: number;
  weightedFraction: number;
  weight: number;
}

function fresh(): Side {
  return { sum: 0, start: -1, measurements: 0, weightedFraction: 0, weight: 0 };
}

export function detectCusum(series: SignalSeries, config: CusumConfig): Alert[] {
  const h = cusumThreshold(config);
  const hRecover = h * config.recoveryFactor;
  const k = (config.mu0 + config.mu1) / 2;
  const decay = 0.5 ** (1 / Math.max(config.emptyHalfLifeSteps, 1e-9));
  const alerts: Alert[] = [];
  let state: State = 'unknown';
  let level: AlertLevel = 'normal';
  // up: evidence for blocked (x above k); down: evidence for OK.
  let up = fresh();
  let down = fresh();
  let empty = 0;
  let firstEmpty = -1;

  const timeOf = (i: number) => series.from + i * series.step;
  const push = (i: number, lvl: AlertLevel, value: number | null, known: number) => {
    alerts.push({
      entity: series.entity,
      signal: series.signal,
      detector: 'cusum',
      level: lvl,
      time: timeOf(i),
      value,
      expected: config.mu0,
      raisedAt: timeOf(known),
    });
  };

  for (let i = 0; i < series.values.length; i++) {
    const x = series.values[i];
    const n = series.counts[i] ?? 0;
    if (x === null || x === undefined || n <= 0) {
      if (empty === 0) firstEmpty = i;
      empty++;
      up.sum *= decay;
      down.sum *= decay;
      if (empty === config.unknownAfterSteps && state !== 'unknown') {
        if (state === 'blocked') push(firstEmpty, 'normal', null, i + 1);
        state = 'unknown';
        level = 'normal';
        up = fresh();
        down = fresh();
      }
      continue;
    }
    empty = 0;
    const w = Math.min(1, n / config.fullWeightCount);
    const score = w * (x - k);
    // Each side keeps a running sum that restarts at zero; its start is the estimated change point.
    for (const [side, s] of [
      [up, score],
      [down, -score],
    ] as const) {
      const next = side.sum + s;
      if (next <= 0) {
        Object.assign(side, fresh());
        continue;
      }
      if (side.sum <= 0) side.start = i;
      side.sum = next;
      side.measurements += n;
      side.weightedFraction += w * x;
      side.weight += w;
    }

    const enough = (side: Side) => side.measurements >= config.minMeasurements;
    if (state !== 'blocked' && up.sum > h && enough(up)) {
      const mean = up.weightedFraction / up.weight;
      level = mean >= config.criticalFraction ? 'critical' : 'warning';
      push(up.start, level, mean, i + 1);
      state = 'blocked';
      up = fresh();
      down = fresh();
    } else if (state !== 'ok' && down.sum > (state === 'blocked' ? hRecover : h) && enough(down)) {
      // Leaving unknown for OK is silent (nothing was claimed); leaving blocked is a recovery.
      if (state === 'blocked') push(down.start, 'normal', down.weightedFraction / down.weight, i + 1);
      state = 'ok';
      level = 'normal';
      up = fresh();
      down = fresh();
    } else if (state === 'blocked') {
      // Severity follows the fraction while blocked; reported when the class changes.
      const lvl: AlertLevel = x >= config.criticalFraction ? 'critical' : 'warning';
      if (lvl === 'critical' && level === 'warning') {
        level = lvl;
        push(i, lvl, x, i + 1);
      }
    }
  }
  return alerts;
}

export const cusumDetector: Detector<CusumConfig> = { name: 'cusum', detect: detectCusum };
