/**
 * Judging a timeline run: what the observatory said (`GET /api/v1/incidents`, polled through the
 * run) against the scenario's `incidents:`. Pure, so it is tested without a lab or a server.
 *
 * Times are seconds since the run's start. An incident's opening is the server's `opened_at`; its
 * closing is the server's `updated_at` in the first answer that shows it ended (both fall back to
 * when the runner first saw that state). Every incident the server opened must be expected: an
 * unexpected one fails the scenario, as does an expected one that never opened.
 */
import { sameEntity } from './entity.js';
import type { IncidentExpectation } from './spec.js';

/** The fields of the server's Incident (packages/server/src/incidents/types.ts) the lab reads. */
export interface ObservedIncident {
  id: string;
  scope: {
    entity: string;
    asns?: number[];
    services?: string[];
    region?: string | null;
    country?: string | null;
  };
  shutdown_type: string;
  shutdown_extent: string;
  status: string;
  start: string;
  end: string | null;
  opened_at?: string;
  updated_at?: string;
}

/** One answer of the incidents API: when the runner had it, and what it said. */
export interface IncidentPoll {
  at: number;
  incidents?: ObservedIncident[];
  /** Why there is no list (the server did not answer, answered an error, or sent another shape). */
  error?: string;
}

/** One incident as the run saw it evolve. */
export interface IncidentHistory {
  id: string;
  last: ObservedIncident;
  /** The states seen, with the run time each was first seen. */
  seen: { at: number; status: string }[];
  /** Run seconds when the server opened it. */
  openedAt: number;
  /** Run seconds when the server ended it, null while it never did. */
  closedAt: number | null;
}

export interface IncidentVerdict {
  pass: boolean;
  /** The entity (or `no incident`) the line is about. */
  label: string | null;
  expected: Record<string, unknown>;
  got: Record<string, unknown> | null;
  error?: string;
}

/** Per incident id: first and ending observations, in run seconds. */
export function incidentHistories(polls: IncidentPoll[], startMs: number): IncidentHistory[] {
  const byId = new Map<string, IncidentHistory>();
  const runSeconds = (iso: string | undefined | null, fallback: number) => {
    const t = iso ? Date.parse(iso) : Number.NaN;
    return Number.isFinite(t) ? (t - startMs) / 1000 : fallback;
  };
  for (const poll of polls) {
    for (const incident of poll.incidents ?? []) {
      let h = byId.get(incident.id);
      if (!h) {
        h = {
          id: incident.id,
          last: incident,
          seen: [],
          openedAt: runSeconds(incident.opened_at, poll.at),
          closedAt: null,
        };
        byId.set(incident.id, h);
      }
      h.last = incident;
      if (h.seen[h.seen.length - 1]?.status !== incident.status)
        h.seen.push({ at: poll.at, status: incident.status });
      if (incident.status === 'ended' && h.closedAt === null)
        h.closedAt = runSeconds(incident.updated_at, poll.at);
      if (incident.status !== 'ended') h.closedAt = null; // re-opened: its closing is still to come
    }
  }
  return [...byId.values()].sort((a, b) => a.openedAt - b.openedAt);
}

const round = (x: number) => Math.round(x * 10) / 10;
const sameSet = <T>(a: T[], b: T[]) => a.length === b.length && a.every((x) => b.includes(x));

function describe(h: IncidentHistory): Record<string, unknown> {
  const i = h.last;
  return {
    id: i.id,
    entity: i.scope.entity,
    type: i.shutdown_type,
    extent: i.shutdown_extent,
    services: i.scope.services ?? [],
    asns: i.scope.asns ?? [],
    status: i.status,
    start: i.start,
    end: i.end,
    opened_at_s: round(h.openedAt),
    closed_at_s: h.closedAt === null ? null : round(h.closedAt),
    seen: h.seen.map((s) => ({ at_s: round(s.at), status: s.status })),
  };
}

function expectedOf(e: IncidentExpectation): Record<string, unknown> {
  return {
    ...(e.entity ? { entity: e.entity } : {}),
    type: e.type,
    extent: e.extent,
    ...(e.services ? { services: e.services } : {}),
    ...(e.asns ? { asns: e.asns } : {}),
    ...(e.openedWithin !== undefined ? { opened_within_s: e.openedWithin } : {}),
    ...(e.closedWithin !== undefined ? { closed_within_s: e.closedWithin } : {}),
  };
}

/** Does the incident have the scope and type the expectation states? */
export function matchesScope(e: IncidentExpectation, i: ObservedIncident): boolean {
  if (e.entity !== undefined && !sameEntity(e.entity, i.scope.entity)) return false;
  if (e.type !== i.shutdown_type || e.extent !== i.shutdown_extent) return false;
  if (
    e.services &&
    !sameSet(
      e.services,
      (i.scope.services ?? []).map((s) => s.toLowerCase()),
    )
  )
    return false;
  if (e.asns && !sameSet(e.asns, i.scope.asns ?? [])) return false;
  return true;
}

/**
 * The verdicts of a run. `cutAt` and `restoreAt` in the expectations are planned timeline times;
 * `appliedAt` maps them to when the change really took effect.
 */
export function judgeIncidents(
  expectations: IncidentExpectation[],
  polls: IncidentPoll[],
  startMs: number,
  appliedAt: (plannedAt: number) => number,
): IncidentVerdict[] {
  const answered = polls.filter((p) => p.incidents !== undefined);
  if (answered.length === 0) {
    const why = [...new Set(polls.map((p) => p.error).filter(Boolean))].slice(0, 3).join('; ');
    const error = `the server never listed incidents (${polls.length} polls of GET /api/v1/incidents: ${why || 'none made'})`;
    const rows = expectations.length > 0 ? expectations : [null];
    return rows.map((e) => ({
      pass: false,
      label: e ? (e.entity ?? `${e.type} ${e.extent}`) : 'no incident',
      expected: e ? expectedOf(e) : { incidents: [] },
      got: null,
      error,
    }));
  }
  const histories = incidentHistories(polls, startMs);
  const used = new Set<string>();
  const verdicts: IncidentVerdict[] = [];

  for (const e of expectations) {
    const label = e.entity ?? `${e.type} ${e.extent}`;
    const cut = appliedAt(e.cutAt);
    const restore = e.restoreAt === null ? null : appliedAt(e.restoreAt);
    // Opened after the cut (a second of slack for clocks read in different processes).
    const candidates = histories.filter(
      (h) => !used.has(h.id) && matchesScope(e, h.last) && h.openedAt >= cut - 1,
    );
    const found = candidates[0];
    if (!found) {
      const near = histories.filter((h) => !used.has(h.id)).map((h) => h.last.scope.entity);
      verdicts.push({
        pass: false,
        label,
        expected: expectedOf(e),
        got: null,
        error: `no such incident opened after the cut at ${round(cut)}s${near.length ? ` (the server opened: ${near.join(', ')})` : ''}`,
      });
      continue;
    }
    used.add(found.id);
    const got = describe(found);
    const openedAfter = found.openedAt - cut;
    got.opened_after_cut_s = round(openedAfter);
    const problems: string[] = [];
    if (e.openedWithin !== undefined && openedAfter > e.openedWithin)
      problems.push(`opened ${round(openedAfter)}s after the cut, more than ${e.openedWithin}s`);
    if (e.closedWithin !== undefined && restore !== null) {
      if (found.closedAt === null) problems.push(`still ${found.last.status} at the end of the run`);
      else {
        const closedAfter = found.closedAt - restore;
        got.closed_after_restore_s = round(closedAfter);
        if (closedAfter < -1) problems.push(`ended ${round(-closedAfter)}s before the restoration`);
        else if (closedAfter > e.closedWithin)
          problems.push(`ended ${round(closedAfter)}s after the restoration, more than ${e.closedWithin}s`);
      }
    }
    verdicts.push({
      pass: problems.length === 0,
      label,
      expected: expectedOf(e),
      got,
      ...(problems.length ? { error: problems.join('; ') } : {}),
    });
  }

  const unexpected = histories.filter((h) => !used.has(h.id));
  for (const h of unexpected)
    verdicts.push({
      pass: false,
      label: h.last.scope.entity,
      expected: { incidents: 'none here' },
      got: describe(h),
      error: `an unexpected incident: ${h.last.shutdown_type} (${h.last.shutdown_extent}) on ${h.last.scope.entity}`,
    });
  if (expectations.length === 0 && unexpected.length === 0)
    verdicts.push({ pass: true, label: 'no incident', expected: { incidents: [] }, got: { incidents: [] } });
  return verdicts;
}
