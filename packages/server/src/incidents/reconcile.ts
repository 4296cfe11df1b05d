/**
 * Reconciling a detection pass with the incidents already known (docs/detection.md,
 * "Incidents"): which drafts open new incidents, which update, end or reopen stored ones. Pure:
 * the caller stores and logs the changes (IncidentStore.apply).
 *
 * Late data is a new pass over the same evaluation window: an incident whose start moves earlier,
 * or whose end moves, is `updated`. A dismissed incident is never reopened by the detector: an
 * analyst said it was not one, and the drafts that match it are dropped.
 */
import { createHash } from 'node:crypto';
import type { AnomalyWindow } from '../detection/types.js';
import { type EntityParts, parseEntity } from '../signals/entity.js';
import type { DraftIncident } from './build.js';
import type { Incident, IncidentChange, IncidentScope } from './types.js';

export interface ReconcileOptions {
  /** When the pass runs (each change's `at`). */
  now: Date;
  /**
   * The evaluation window the drafts cover, epoch seconds [from, until). A stored incident that
   * began inside it and that no draft matches any more ended at `until` at the latest; windows and
   * starts before `from` are kept (the pass did not look there). Default: everything.
   */
  window?: { from: number; until: number };
  /** An ended incident whose anomaly comes back within this many seconds is reopened. Default 3600. */
  reopenGapSeconds?: number;
}

function seconds(iso: string): number {
  return Date.parse(iso) / 1000;
}

/** A scope's entity parts with its country filled in: `asn:31721` of an AZ incident is in country:AZ. */
function scopeParts(scope: IncidentScope): EntityParts {
  const parts = parseEntity(scope.entity);
  if (parts.country === undefined && scope.country) parts.country = scope.country;
  return parts;
}

/**
 * One scope within the other. A blackout first seen on the network whose probes beacon earliest in
 * the step (asn:31721) and a pass later on the whole country is one incident growing, not one
 * ending and another opening: the lab's national-blackout timeline split that way when the ASN's
 * country was not taken into account.
 */
function related(a: IncidentScope, b: IncidentScope): boolean {
  if (a.entity === b.entity) return true;
  const pa = scopeParts(a);
  const pb = scopeParts(b);
  const within = (inner: EntityParts, outer: EntityParts) =>
    Object.entries(outer).every(([t, c]) => inner[t as keyof EntityParts] === c);
  return within(pa, pb) || within(pb, pa);
}

/** How well a draft matches an incident: null when it does not, else a score (higher is better). */
function match(incident: Incident, draft: DraftIncident, reopenGap: number): number | null {
  // A service blocked for months and a network cut meanwhile are two incidents, whatever their scopes.
  if (incident.shutdown_extent !== draft.shutdown_extent) return null;
  if (!related(incident.scope, draft.scope)) return null;
  const iFrom = seconds(incident.start);
  const iUntil = incident.end === null ? Number.POSITIVE_INFINITY : seconds(incident.end);
  const dFrom = seconds(draft.start);
  const dUntil = draft.end === null ? Number.POSITIVE_INFINITY : seconds(draft.end);
  if (dFrom > iUntil + reopenGap || iFrom > dUntil) return null;
  // Prefer the same entity, then the most overlap.
  const overlap = Math.min(iUntil, dUntil, 1e12) - Math.max(iFrom, dFrom);
  return (incident.scope.entity === draft.scope.entity ? 1e13 : 0) + overlap;
}

function windowKey(w: AnomalyWindow): string {
  return `${w.entity}|${w.signal}|${w.detector}|${w.start}`;
}

/** A stable id: the scope and the start it was first opened with. */
export function incidentId(draft: Pick<DraftIncident, 'scope' | 'start'>): string {
  const hash = createHash('sha256').update(`${draft.scope.entity}\n${draft.start}`).digest('hex');
  return `inc_${hash.slice(0, 20)}`;
}

/** The incident a draft describes, merged over what was stored (see ReconcileOptions.window). */
function merged(stored: Incident, draft: DraftIncident, options: ReconcileOptions): Incident {
  const from = options.window?.from ?? Number.NEGATIVE_INFINITY;
  const storedStart = seconds(stored.start);
  // The pass did not look before `from`: a start there stays unless the draft's is earlier.
  const keepStart = storedStart < from && storedStart <= seconds(draft.start);
  const draftKeys = new Set(draft.evidence.windows.map(windowKey));
  const windows = [
    ...stored.evidence.windows.filter((w) => w.start < from && !draftKeys.has(windowKey(w))),
    ...draft.evidence.windows,
  ].sort((a, b) => a.start - b.start || windowKey(a).localeCompare(windowKey(b)));
  const measurements = new Map(stored.evidence.measurements.map((m) => [m.id, m]));
  for (const m of draft.evidence.measurements) measurements.set(m.id, m);
  const end = draft.end;
  return {
    ...stored,
    // What people wrote about the scope (area, telcos) stays.
    scope: { ...stored.scope, ...draft.scope },
    shutdown_type: draft.shutdown_type,
    shutdown_extent: draft.shutdown_extent,
    shutdown_types: draft.shutdown_types,
    start: keepStart ? stored.start : draft.start,
    start_precision_seconds: keepStart ? stored.start_precision_seconds : draft.start_precision_seconds,
    status: end === null ? 'ongoing' : 'ended',
    end,
    end_precision_seconds: draft.end_precision_seconds,
    confidence: draft.confidence,
    evidence: {
      windows,
      measurements: [...measurements.values()].sort((a, b) => a.log_index - b.log_index),
    },
  };
}

/** The fields whose change is worth an `updated` (not the bookkeeping times). */
function substance(i: Incident): string {
  return JSON.stringify([
    i.scope,
    i.shutdown_type,
    i.shutdown_extent,
    i.shutdown_types,
    i.start,
    i.start_precision_seconds,
    i.end,
    i.end_precision_seconds,
    i.confidence,
    i.evidence,
  ]);
}

/** Several drafts of one incident as one: every window, the earliest start, the latest end. */
function combine(drafts: readonly DraftIncident[]): DraftIncident {
  if (drafts.length === 1) return drafts[0]!;
  const first = drafts.reduce((a, b) => (b.start < a.start ? b : a));
  const ongoing = drafts.some((d) => d.end === null);
  const last = ongoing ? null : drafts.reduce((a, b) => (b.end! > a.end! ? b : a));
  const full = drafts.some((d) => d.shutdown_extent === 'Full network');
  const types = (['Shutdown', 'Throttle'] as const).filter((t) =>
    drafts.some((d) => d.shutdown_types.includes(t)),
  );
  const measurements = new Map(drafts.flatMap((d) => d.evidence.measurements).map((m) => [m.id, m]));
  return {
    scope: {
      ...first.scope,
      asns: [...new Set(drafts.flatMap((d) => d.scope.asns))].sort((a, b) => a - b),
      services: full ? [] : [...new Set(drafts.flatMap((d) => d.scope.services))].sort(),
    },
    shutdown_type: types[0] ?? first.shutdown_type,
    shutdown_types: [...types],
    shutdown_extent: full ? 'Full network' : 'Service-based',
    start: first.start,
    start_precision_seconds: first.start_precision_seconds,
    end: last ? last.end : null,
    end_precision_seconds: last ? last.end_precision_seconds : null,
    confidence: Math.max(...drafts.map((d) => d.confidence)),
    evidence: {
      windows: drafts
        .flatMap((d) => d.evidence.windows)
        .sort((a, b) => a.start - b.start || windowKey(a).localeCompare(windowKey(b))),
      measurements: [...measurements.values()].sort((a, b) => a.log_index - b.log_index),
    },
  };
}

/** The changes that bring `stored` in line with a pass's drafts, in a stable order. */
export function reconcile(
  stored: readonly Incident[],
  drafts: readonly DraftIncident[],
  options: ReconcileOptions,
): IncidentChange[] {
  const at = options.now.toISOString();
  const reopenGap = options.reopenGapSeconds ?? 3600;
  const changes: IncidentChange[] = [];
  const emit = (incident: Incident, change: IncidentChange['change']) => {
    const snapshot = { ...incident, updated_at: at };
    changes.push({ incident: incident.id, change, by: 'detector', at, snapshot });
    return snapshot;
  };
  // Each draft goes to the stored incident it matches best; several drafts of one incident (it
  // went quiet and came back within the reopen gap) are that incident's one story.
  const assigned = new Map<string, DraftIncident[]>();
  const fresh: DraftIncident[] = [];
  const byStart = [...drafts].sort((a, b) => a.start.localeCompare(b.start));
  for (const draft of byStart) {
    let best: Incident | null = null;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (const incident of stored) {
      const score = match(incident, draft, reopenGap);
      if (score !== null && score > bestScore) {
        best = incident;
        bestScore = score;
      }
    }
    if (best) assigned.set(best.id, [...(assigned.get(best.id) ?? []), draft]);
    else fresh.push(draft);
  }
  const taken = new Set<string>();
  for (const incident of stored) {
    const mine = assigned.get(incident.id);
    if (!mine) continue;
    taken.add(incident.id);
    if (incident.review === 'dismissed') continue;
    const draft = combine(mine);
    const next = merged(incident, draft, options);
    const cameBack =
      incident.status === 'ended' &&
      incident.end !== null &&
      mine.some((d) => seconds(d.start) > seconds(incident.end!));
    if (incident.status === 'ended' && next.status === 'ongoing') {
      emit(next, 'reopened');
    } else if (incident.status === 'ongoing' && next.status === 'ended') {
      emit(next, 'ended');
    } else if (cameBack) {
      // It came back and went again between two passes: both moves are on the record.
      emit({ ...next, status: 'ongoing', end: null, end_precision_seconds: null }, 'reopened');
      emit(next, 'ended');
    } else if (substance(next) !== substance(incident)) {
      emit(next, 'updated');
    }
  }
  for (const draft of fresh) {
    const id = incidentId(draft);
    if (taken.has(id)) continue;
    taken.add(id);
    emit(
      {
        id,
        ...draft,
        status: draft.end === null ? 'ongoing' : 'ended',
        review: 'unreviewed',
        annotations: {},
        start_date_type: 'Actual',
        opened_at: at,
        updated_at: at,
      },
      'opened',
    );
  }
  // Ongoing incidents the pass looked at and no longer sees: they ended by the window's end.
  if (options.window) {
    const { from, until } = options.window;
    for (const incident of stored) {
      if (taken.has(incident.id) || incident.status !== 'ongoing' || incident.review === 'dismissed')
        continue;
      if (seconds(incident.start) < from) continue;
      emit(
        {
          ...incident,
          status: 'ended',
          end: new Date(until * 1000).toISOString(),
          end_precision_seconds: null,
        },
        'ended',
      );
    }
  }
  return changes;
}
