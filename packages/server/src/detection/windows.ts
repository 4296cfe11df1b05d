/**
 * Alerts → anomaly windows, the way IODA turns alerts into events: a window opens on a non-normal
 * alert and closes on the next normal alert of the same (entity, signal, detector); one still open
 * at the end of the alerts has end null (ongoing).
 */
import type { Alert, AnomalyWindow } from './types.js';

/** How far below expectation an alert is: 1 = as expected, 0 = nothing left. */
export function alertRatio(alert: Alert): number {
  if (alert.value === null) return 1;
  // The CUSUM reads a blocked fraction, a rising signal: what is still reachable is 1 − value.
  if (alert.detector === 'cusum') return Math.max(0, 1 - alert.value);
  if (alert.expected === 0) return 1;
  return alert.value / alert.expected;
}

export function alertsToWindows(alerts: Alert[], step: number): AnomalyWindow[] {
  const groups = new Map<string, Alert[]>();
  for (const a of alerts) {
    const key = `${a.entity}\u0000${a.signal}\u0000${a.detector}`;
    const group = groups.get(key);
    if (group) group.push(a);
    else groups.set(key, [a]);
  }
  const windows: AnomalyWindow[] = [];
  for (const group of groups.values()) {
    const sorted = [...group].sort((a, b) => a.time - b.time);
    let current: AnomalyWindow | null = null;
    for (const a of sorted) {
      if (a.level === 'normal') {
        if (current) {
          current.end = a.time;
          current.alerts.push(a);
          windows.push(current);
          current = null;
        }
        continue;
      }
      if (!current) {
        current = {
          entity: a.entity,
          signal: a.signal,
          detector: a.detector,
          step,
          start: a.time,
          end: null,
          level: a.level,
          worstRatio: alertRatio(a),
          alerts: [a],
        };
        continue;
      }
      current.alerts.push(a);
      if (a.level === 'critical') current.level = 'critical';
      current.worstRatio = Math.min(current.worstRatio, alertRatio(a));
    }
    if (current) windows.push(current);
  }
  return windows.sort((a, b) => a.start - b.start || a.entity.localeCompare(b.entity));
}
