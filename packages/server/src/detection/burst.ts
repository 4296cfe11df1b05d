/**
 * Disconnection bursts (Disco, research/outage-detection.md §3): many probes of one entity that
 * were heard go silent together. One probe going quiet is churn; most of a network's probes going
 * quiet in the same step or two is that network losing connectivity.
 *
 * Disco runs Kleinberg's burst model over the arrival times of disconnections per unit and keeps
 * bursts above a level, in units of at least 8 probes. We use a simpler rule that reads the same
 * two series the server keeps (`beacon.disconnected` and `beacon.active`) and suits units of 2-3
 * probes, which a burst-level model cannot judge (with 3 probes there is no rate to estimate):
 *
 *   a burst starts at step t when the probes that fell silent in t (or in t and t+1) are at least
 *   `minProbes` and at least `minFraction` of the probes heard in the step before t, and more than
 *   half of them stay silent for `minSilentSteps` steps; it ends at the first step where more than
 *   half of them are heard again.
 *
 * The persistence condition is what rejects platform artefacts such as the RIPE Atlas firmware
 * reboot wave of 2016-07-13: a rebooting probe is back within minutes (median 5 min there), while
 * a cut network stays silent. docs/detection.md gives the numbers that chose the defaults; a
 * second guard for waves spread over many networks at once lives in `rejectWideWaves`
 * (config.ts), since one series cannot see the others.
 */
import type { SignalSeries } from '../signals/types.js';
import type { Alert, AlertLevel } from './types.js';

export interface BurstConfig {
  /** Fewest probes going silent together for a burst (Disco: 8 per unit; the lab: 2-3). */
  minProbes: number;
  /** Fewest probes heard in the step before, for the entity to be judged at all. */
  minActive: number;
  /** Share of the probes heard in the step before that must go silent. */
  minFraction: number;
  /** A burst may spread over this many consecutive steps (probes notice a cut a little apart). */
  spreadSteps: number;
  /** Steps more than half the silenced probes must stay silent before a burst is alerted. */
  minSilentSteps: number;
  /** Share of the probes heard before that, when silent, makes the burst critical. */
  criticalFraction: number;
}

export const BURST_DEFAULTS: BurstConfig = {
  minProbes: 3,
  minActive: 3,
  minFraction: 0.5,
  spreadSteps: 2,
  minSilentSteps: 2,
  criticalFraction: 0.8,
};

/**
 * Bursts over `disconnected`, relative to `active` of the same entity and step. The series must be
 * aligned (same from, step and length); steps missing in either are no evidence.
 */
export function detectBursts(disconnected: SignalSeries, active: SignalSeries, config: BurstConfig): Alert[] {
  if (disconnected.step !== active.step || disconnected.from !== active.from) {
    throw new RangeError(
      `burst detection needs aligned series: ${disconnected.signal} and ${active.signal} of ${disconnected.entity} differ in step or start`,
    );
  }
  const n = Math.min(disconnected.values.length, active.values.length);
  const A = (i: number): number | null => (i >= 0 && i < n ? (active.values[i] ?? null) : null);
  const D = (i: number): number | null => (i >= 0 && i < n ? (disconnected.values[i] ?? null) : null);
  const timeOf = (i: number) => disconnected.from + i * disconnected.step;
  const alerts: Alert[] = [];
  const alert = (i: number, level: AlertLevel, value: number, expected: number, known: number) =>
    alerts.push({
      entity: disconnected.entity,
      signal: disconnected.signal,
      detector: 'burst',
      level,
      time: timeOf(i),
      value,
      expected,
      raisedAt: timeOf(known),
    });

  // While a burst lasts: the population before it and the level below which it is still down.
  let open: { before: number; downLevel: number; criticalLevel: number; level: AlertLevel } | null = null;
  for (let t = 0; t < n; t++) {
    if (open) {
      const a = A(t);
      if (a === null) continue;
      if (a > open.downLevel) {
        alert(t, 'normal', a, open.before, t + 1);
        open = null;
      } else if (open.level === 'warning' && a <= open.criticalLevel) {
        open.level = 'critical';
        alert(t, 'critical', a, open.before, t + 1);
      }
      continue;
    }
    const before = A(t - 1);
    if (before === null || before < config.minActive || !(D(t) ?? 0)) continue;
    let lost = 0;
    for (let s = 1; s <= config.spreadSteps; s++) {
      const d = D(t + s - 1);
      if (d === null) break;
      lost += d;
      if (lost < config.minProbes || lost < config.minFraction * before) continue;
      // More than half of the silenced probes must stay silent, from the burst's last step on.
      const downLevel = before - lost / 2;
      const last = t + s - 1;
      let held = true;
      let lowest = Number.POSITIVE_INFINITY;
      for (let j = last; j < last + config.minSilentSteps; j++) {
        const a = A(j);
        if (a === null || a > downLevel) {
          held = false;
          break;
        }
        lowest = Math.min(lowest, a);
      }
      if (!held) continue;
      // Probes that fall silent in the rest of the spread belong to the same burst.
      let total = lost;
      for (let r = s + 1; r <= config.spreadSteps; r++) total += D(t + r - 1) ?? 0;
      const criticalLevel = before * (1 - config.criticalFraction);
      const level: AlertLevel = lowest <= criticalLevel ? 'critical' : 'warning';
      alert(t, level, lowest, before, last + config.minSilentSteps);
      open = { before, downLevel: before - total / 2, criticalLevel, level };
      t = last + config.minSilentSteps - 1;
      break;
    }
  }
  return alerts;
}

/**
 * Steps at which a burst starts by its size alone (enough probes, enough of the entity), before
 * the persistence check: what a wave check compares across entities.
 */
export function burstCandidates(
  disconnected: SignalSeries,
  active: SignalSeries,
  config: BurstConfig,
): number[] {
  const n = Math.min(disconnected.values.length, active.values.length);
  const out: number[] = [];
  for (let t = 1; t < n; t++) {
    const before = active.values[t - 1] ?? null;
    const first = disconnected.values[t] ?? null;
    if (before === null || before < config.minActive || !first) continue;
    let lost = 0;
    for (let s = 1; s <= config.spreadSteps && t + s - 1 < n; s++) {
      const d = disconnected.values[t + s - 1] ?? null;
      if (d === null) break;
      lost += d;
      if (lost >= config.minProbes && lost >= config.minFraction * before) {
        out.push(disconnected.from + t * disconnected.step);
        break;
      }
    }
  }
  return out;
}
