/**
 * From anomaly windows to draft incidents (docs/detection.md, "Incidents"). Pure: the same windows
 * and options always give the same drafts, so a pass can be re-run whenever late data arrives.
 *
 * Windows merge when they overlap in time (a gap of a couple of steps is tolerated: one quiet step
 * inside a blackout is not two blackouts) and in scope: the same entity, one within the other
 * (`region:AZ-FUZ+asn:29049` within `asn:29049`, `asn:X+platform:whatsapp` within `asn:X`), or the
 * same platform on several networks of one country (one Service-based incident for
 * `country:AZ+platform:whatsapp` that lists the ASNs). Merging is transitive.
 */
import type { AnomalyWindow } from '../detection/types.js';
import { type EntityParts, formatEntity, parseEntity } from '../signals/entity.js';
import type { IncidentEvidence, IncidentScope, ShutdownExtent, ShutdownType } from './types.js';

/** An incident as one detection pass sees it, before it has an id or a history. */
export interface DraftIncident {
  scope: IncidentScope;
  shutdown_type: ShutdownType;
  shutdown_extent: ShutdownExtent;
  shutdown_types: ShutdownType[];
  /** ISO 8601 UTC. */
  start: string;
  start_precision_seconds: number;
  end: string | null;
  end_precision_seconds: number | null;
  confidence: number;
  evidence: IncidentEvidence;
}

export interface BuildOptions {
  /** The country of an ASN (windows about `asn:N` alone carry none); null when unknown. */
  countryOf?: (asn: number) => string | null;
  /** Gap tolerated between windows of one incident, in steps of the coarser window. Default 2. */
  gapSteps?: number;
  /** Or an explicit gap in seconds (overrides gapSteps). */
  gapSeconds?: number;
  /** Measurements showing a window, with their log indexes (evidence for the incident). */
  measurementsOf?: (window: AnomalyWindow) => Array<{ id: string; log_index: number }>;
  /** Probes (or samples) at which a probe-based signal counts as fully supported. Default 5. */
  fullSupportSamples?: number;
}

/** What a window says: the network is gone, a service is blocked, or it is throttled. */
type Role = 'connectivity' | 'blocked' | 'throttled';

interface Item {
  window: AnomalyWindow;
  parts: EntityParts;
  /** Parts with the country filled in from the region or the ASN. */
  full: EntityParts;
  role: Role;
  /** The family of independent evidence it belongs to (beacon, bgp, measurement, imported:NAME). */
  family: string;
  from: number;
  until: number;
}

function roleOf(window: AnomalyWindow, parts: EntityParts): Role {
  const s = window.signal;
  if (s === 'measurement.throttled') return 'throttled';
  if (s === 'measurement.blocked' || s === 'measurement.blocked_fraction') return 'blocked';
  // A platform that is down on a network is that platform's problem, not the network's.
  if (parts.platform !== undefined && s.startsWith('measurement.')) return 'blocked';
  return 'connectivity';
}

function familyOf(signal: string): string {
  if (signal.startsWith('beacon.')) return 'beacon';
  if (signal.startsWith('bgp.')) return 'bgp';
  if (signal.startsWith('measurement.')) return 'measurement';
  // Imported series (active probing, telescope, traffic) are each a source of their own.
  return `imported:${signal}`;
}

function withCountry(parts: EntityParts, countryOf: BuildOptions['countryOf']): EntityParts {
  if (parts.country) return parts;
  if (parts.region) return { ...parts, country: parts.region.slice(0, 2) };
  if (parts.asn && countryOf) {
    const cc = countryOf(Number(parts.asn));
    if (cc) return { ...parts, country: cc };
  }
  return parts;
}

/** Every part of `outer` is in `inner` (with countries filled in). */
function within(inner: EntityParts, outer: EntityParts): boolean {
  for (const [type, code] of Object.entries(outer)) {
    if (inner[type as keyof EntityParts] !== code) return false;
  }
  return true;
}

/**
 * Whether two windows of different kinds can be one event. A network cut followed or preceded by
 * throttling is one event ("Shutdown, Throttle" in STOP). A platform looking blocked while its
 * network is cut is the cut seen through measurements, so it joins the outage; but only when it lies
 * within the outage's time: news sites blocked for years around a cut are two incidents, not one.
 */
function kindsMeet(a: Item, b: Item, options: BuildOptions): boolean {
  if ((a.role === 'connectivity') === (b.role === 'connectivity')) return true;
  const [cut, other] = a.role === 'connectivity' ? [a, b] : [b, a];
  if (other.role === 'throttled') return true;
  const gap = options.gapSeconds ?? (options.gapSteps ?? 2) * Math.max(a.window.step, b.window.step);
  return other.from >= cut.from - gap && other.until <= cut.until + gap;
}

function scopesMeet(a: Item, b: Item): boolean {
  if (within(a.full, b.full) || within(b.full, a.full)) return true;
  // One platform on several networks of one country: one service-based incident.
  return (
    a.parts.platform !== undefined &&
    a.parts.platform === b.parts.platform &&
    a.full.country !== undefined &&
    a.full.country === b.full.country &&
    a.parts.category === b.parts.category
  );
}

function timesMeet(a: Item, b: Item, options: BuildOptions): boolean {
  const gap = options.gapSeconds ?? (options.gapSteps ?? 2) * Math.max(a.window.step, b.window.step);
  return a.from <= b.until + gap && b.from <= a.until + gap;
}

class UnionFind {
  private readonly parent: number[];
  constructor(n: number) {
    this.parent = Array.from({ length: n }, (_, i) => i);
  }
  find(i: number): number {
    while (this.parent[i] !== i) {
      this.parent[i] = this.parent[this.parent[i]!]!;
      i = this.parent[i]!;
    }
    return i;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

/** The parts every item shares: the narrowest entity covering them all. */
function commonParts(parts: EntityParts[]): EntityParts {
  const [first, ...rest] = parts;
  const out: EntityParts = { ...first };
  for (const p of rest) {
    for (const type of Object.keys(out) as Array<keyof EntityParts>) {
      if (p[type] !== out[type]) delete out[type];
    }
  }
  return out;
}

/**
 * How sure the incident is, 0..1. Each independent family of evidence (beacons, BGP,
 * measurements, each imported series) counts once, by its strongest window: critical 1, warning
 * 0.5, scaled by its support (a beacon drop of two probes is weak evidence; BGP and imported
 * series count as fully supported). Families combine like independent witnesses:
 * 1 − Π(1 − 0.6·strength·support). One strong family gives 0.6, two 0.84, three 0.94.
 */
function confidenceOf(items: readonly Item[], options: BuildOptions): number {
  const full = options.fullSupportSamples ?? 5;
  const best = new Map<string, number>();
  for (const item of items) {
    const strength = item.window.level === 'critical' ? 1 : 0.5;
    let support = 1;
    if (item.family === 'beacon' || item.family === 'measurement') {
      // What the detector expected there: the probes usually heard, the usual measurement count.
      const expected = Math.max(0, ...item.window.alerts.map((a) => a.expected));
      support = Math.min(1, Math.max(0.2, expected / full));
    }
    const p = strength * support;
    best.set(item.family, Math.max(best.get(item.family) ?? 0, p));
  }
  let miss = 1;
  for (const p of best.values()) miss *= 1 - 0.6 * p;
  return Math.round((1 - miss) * 1000) / 1000;
}

/** Merges anomaly windows into draft incidents, earliest start first. */
export function buildIncidents(
  windows: readonly AnomalyWindow[],
  options: BuildOptions = {},
): DraftIncident[] {
  const items: Item[] = windows.map((window) => {
    const parts = parseEntity(window.entity);
    return {
      window,
      parts,
      full: withCountry(parts, options.countryOf),
      role: roleOf(window, parts),
      family: familyOf(window.signal),
      from: window.start,
      until: window.end ?? Number.POSITIVE_INFINITY,
    };
  });
  const sets = new UnionFind(items.length);
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      const a = items[i]!;
      const b = items[j]!;
      if (timesMeet(a, b, options) && scopesMeet(a, b) && kindsMeet(a, b, options)) sets.union(i, j);
    }
  }
  const groups = new Map<number, Item[]>();
  for (const [i, item] of items.entries()) {
    const root = sets.find(i);
    groups.set(root, [...(groups.get(root) ?? []), item]);
  }
  const drafts = [...groups.values()].map((group) => draftOf(group, options));
  return drafts.sort(
    (a, b) => a.start.localeCompare(b.start) || a.scope.entity.localeCompare(b.scope.entity),
  );
}

/** `v` is strictly within `w` and at least about as severe: `w`'s anomaly is `v`'s, seen from above. */
function explains(v: Item, w: Item): boolean {
  const strictly = within(v.full, w.full) && Object.keys(v.full).length > Object.keys(w.full).length;
  return strictly && v.window.worstRatio <= w.window.worstRatio + 0.05;
}

function draftOf(group: Item[], options: BuildOptions): DraftIncident {
  // The network itself is affected: it went dark, or all of it (not one platform) was throttled.
  const full = group.some(
    (i) => i.role === 'connectivity' || (i.role === 'throttled' && i.parts.platform === undefined),
  );
  const types: ShutdownType[] = [];
  // STOP's order: a cut first, throttling after ("Shutdown, Throttle").
  if (group.some((i) => i.role !== 'throttled')) types.push('Shutdown');
  if (group.some((i) => i.role === 'throttled')) types.push('Throttle');

  // The scope is what the unexplained windows share: an ASN's dip that a region of it shows as
  // deep or deeper is that region's outage seen from above, not the whole ASN's.
  const scoped = group.filter((w) => !group.some((v) => v !== w && explains(v, w)));
  const fullParts = scoped.map((i) => i.full);
  const common = commonParts(scoped.map((i) => i.parts));
  const commonFull = commonParts(fullParts);
  // Several networks of one country (one platform on each): the scope is the country.
  if (common.asn === undefined && common.region === undefined && commonFull.country) {
    common.country = commonFull.country;
  }
  if (full) {
    // A full-network incident is about the network, whatever platforms also showed it.
    delete common.platform;
    delete common.category;
  }
  if (Object.keys(common).length === 0 && commonFull.country) common.country = commonFull.country;
  const entity = Object.keys(common).length > 0 ? formatEntity(common) : group[0]!.window.entity;

  const asns = [...new Set(group.flatMap((i) => (i.parts.asn ? [Number(i.parts.asn)] : [])))].sort(
    (a, b) => a - b,
  );
  const services = full
    ? []
    : [...new Set(group.flatMap((i) => (i.parts.platform ? [i.parts.platform] : [])))].sort();

  const first = group.reduce((a, b) =>
    b.from < a.from || (b.from === a.from && b.window.step < a.window.step) ? b : a,
  );
  const ongoing = group.some((i) => i.window.end === null);
  const last = ongoing
    ? null
    : group.reduce((a, b) =>
        b.until > a.until || (b.until === a.until && b.window.step < a.window.step) ? b : a,
      );

  const windows = [...group.map((i) => i.window)].sort(
    (a, b) => a.start - b.start || a.entity.localeCompare(b.entity) || a.signal.localeCompare(b.signal),
  );
  const measurements = new Map<string, { id: string; log_index: number }>();
  if (options.measurementsOf) {
    for (const w of windows) for (const m of options.measurementsOf(w)) measurements.set(m.id, m);
  }
  return {
    scope: {
      entity,
      country: commonFull.country ?? null,
      region: commonFull.region ?? null,
      asns,
      services,
    },
    shutdown_type: types[0]!,
    shutdown_extent: full ? 'Full network' : 'Service-based',
    shutdown_types: types,
    start: iso(first.from),
    start_precision_seconds: first.window.step,
    end: last ? iso(last.until) : null,
    end_precision_seconds: last ? last.window.step : null,
    confidence: confidenceOf(group, options),
    evidence: {
      windows,
      measurements: [...measurements.values()].sort((a, b) => a.log_index - b.log_index),
    },
  };
}
