/**
 * Event-level scores of anomaly windows against labelled events (research/outage-detection.md §5,
 * "Evaluation protocol"): a window is a true detection when it overlaps a label of the same entity,
 * with one step of slack either side; a label is found when some window overlaps it.
 */

import type { AnomalyWindow } from '../detection/types.js';
import type { SignalSeries } from '../signals/types.js';
import type { Label } from './labels.js';

export interface Coverage {
  entity: string;
  from: number;
  until: number;
}

export interface LabelOutcome {
  label: Label;
  found: boolean;
  /** Seconds from the label's start to the first overlapping window's start (signed). */
  startError: number | null;
  /** Seconds from the label's start until a live pass would have raised the first overlapping window. */
  timeToDetect: number | null;
}

export interface Scores {
  labels: number;
  /** Labels outside every series' time range or of entities without data: not scored. */
  labelsUncovered: number;
  found: number;
  windows: number;
  trueWindows: number;
  falseWindows: number;
  precision: number | null;
  recall: number | null;
  medianStartErrorSeconds: number | null;
  medianTimeToDetectSeconds: number | null;
  entityWeeks: number;
  falseAlertsPerEntityWeek: number | null;
  outcomes: LabelOutcome[];
  falseAlerts: AnomalyWindow[];
}

/** Where and when each entity has data: the span of its series in one data set (call once per file). */
export function coverageOf(series: SignalSeries[]): Coverage[] {
  const spans = new Map<string, Coverage>();
  for (const s of series) {
    const until = s.from + s.values.length * s.step;
    const c = spans.get(s.entity);
    if (!c) spans.set(s.entity, { entity: s.entity, from: s.from, until });
    else {
      c.from = Math.min(c.from, s.from);
      c.until = Math.max(c.until, until);
    }
  }
  return [...spans.values()];
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function overlaps(w: AnomalyWindow, l: Label, windowEnd: number): boolean {
  const slack = w.step;
  return w.start < l.end + slack && windowEnd > l.start - slack;
}

export function score(windows: AnomalyWindow[], labels: Label[], coverage: Coverage[]): Scores {
  // Coverage is per entity; an entity may have several disjoint spans (several days), so keep all.
  const spansOf = new Map<string, Coverage[]>();
  for (const c of coverage) {
    const list = spansOf.get(c.entity);
    if (list) list.push(c);
    else spansOf.set(c.entity, [c]);
  }
  const covered = labels.filter((l) =>
    (spansOf.get(l.entity) ?? []).some((c) => l.start < c.until && l.end > c.from),
  );
  const endOf = (w: AnomalyWindow) =>
    w.end ?? Math.max(...(spansOf.get(w.entity) ?? []).map((c) => c.until), w.start + w.step);

  const byEntity = new Map<string, Label[]>();
  for (const l of covered) {
    const list = byEntity.get(l.entity);
    if (list) list.push(l);
    else byEntity.set(l.entity, [l]);
  }
  const truth = new Set<AnomalyWindow>();
  for (const w of windows)
    if ((byEntity.get(w.entity) ?? []).some((l) => overlaps(w, l, endOf(w)))) truth.add(w);

  const outcomes: LabelOutcome[] = covered.map((label) => {
    const hits = windows
      .filter((w) => w.entity === label.entity && overlaps(w, label, endOf(w)))
      .sort((a, b) => a.start - b.start);
    const first = hits[0];
    if (!first) return { label, found: false, startError: null, timeToDetect: null };
    const raised = Math.min(...hits.map((w) => w.alerts[0]?.raisedAt ?? w.start + w.step));
    return { label, found: true, startError: first.start - label.start, timeToDetect: raised - label.start };
  });

  const entityWeeks = coverage.reduce((sum, c) => sum + (c.until - c.from), 0) / (7 * 86400);
  const found = outcomes.filter((o) => o.found);
  const falseAlerts = windows.filter((w) => !truth.has(w));
  return {
    labels: covered.length,
    labelsUncovered: labels.length - covered.length,
    found: found.length,
    windows: windows.length,
    trueWindows: truth.size,
    falseWindows: falseAlerts.length,
    precision: windows.length ? truth.size / windows.length : null,
    recall: covered.length ? found.length / covered.length : null,
    medianStartErrorSeconds: median(found.map((o) => Math.abs(o.startError as number))),
    medianTimeToDetectSeconds: median(found.map((o) => o.timeToDetect as number)),
    entityWeeks,
    falseAlertsPerEntityWeek: entityWeeks > 0 ? falseAlerts.length / entityWeeks : null,
    outcomes,
    falseAlerts,
  };
}
