/**
 * The one time-series model every detection input shares (docs/detection.md): a signal is a
 * series of points for one entity and one kind, each point covering [time, time + step) with a
 * value and the number of samples behind it. Measurements, probe beacons, BGP visibility and
 * imported series all become points of this shape; the detectors read nothing else.
 */

/** One point of one signal. */
export interface SignalPoint {
  /** Canonical entity, e.g. `country:AZ`, `asn:29049`, `asn:29049+platform:tiktok` (see entity.ts). */
  entity: string;
  /** Signal kind, e.g. `bgp.visible_slash24`, `beacon.active`, `measurement.blocked` (see SIGNAL_KINDS). */
  signal: string;
  /** Start of the step, epoch seconds, a multiple of `step`. */
  time: number;
  /** Step length in seconds (300 for BGP, the beacon interval for beacons, …). */
  step: number;
  value: number;
  /** How many samples the value stands on (probes heard, measurements, full-feed peers…); 1 for imported values. */
  count: number;
}

/**
 * A dense series: `values[i]` covers `from + i * step`. Missing steps are null (no data), which is
 * not the same as 0 (data saying nothing was there).
 */
export interface SignalSeries {
  entity: string;
  signal: string;
  step: number;
  from: number;
  values: Array<number | null>;
  counts: number[];
}

/**
 * The signal kinds Pharos derives itself. Imported series may use any other name matching
 * SIGNAL_NAME_PATTERN (e.g. `ping-slash24`, `merit-nt`, `gtr`).
 */
export const SIGNAL_KINDS = {
  /** Measurements per entity and step (entity may carry `platform:` or `category:`). */
  measured: 'measurement.measured',
  ok: 'measurement.ok',
  blocked: 'measurement.blocked',
  down: 'measurement.down',
  throttled: 'measurement.throttled',
  /** Fraction blocked = blocked / measured (null when nothing was measured). */
  blockedFraction: 'measurement.blocked_fraction',
  /** Distinct probes heard from (beacon or measurement) in the step. */
  beaconActive: 'beacon.active',
  /** Probes heard in the previous steps that fell silent in this one (Disco's disconnections). */
  beaconDisconnected: 'beacon.disconnected',
  /** BGP: prefixes and /24 equivalents visible to more than half of the full-feed peers. */
  bgpPrefixes: 'bgp.visible_prefixes',
  bgpSlash24: 'bgp.visible_slash24',
} as const;

export const SIGNAL_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** Aligns an epoch-seconds time down to its step. */
export function stepStart(time: number, step: number): number {
  return Math.floor(time / step) * step;
}

/** Turns sparse points of one (entity, signal, step) into a dense series over [from, until). */
export function toSeries(
  entity: string,
  signal: string,
  step: number,
  from: number,
  until: number,
  points: Iterable<Pick<SignalPoint, 'time' | 'value' | 'count'>>,
): SignalSeries {
  const start = stepStart(from, step);
  const n = Math.max(0, Math.ceil((until - start) / step));
  const values: Array<number | null> = new Array(n).fill(null);
  const counts: number[] = new Array(n).fill(0);
  for (const p of points) {
    const i = Math.floor((p.time - start) / step);
    if (i < 0 || i >= n) continue;
    values[i] = p.value;
    counts[i] = p.count;
  }
  return { entity, signal, step, from: start, values, counts };
}

/**
 * Groups points into dense series, one per (entity, signal, step). With a span, every series covers
 * it (ending at the last complete step of its own step length); without, each covers its own points.
 */
export function groupSeries(
  points: readonly SignalPoint[],
  span?: { from: number; until: number },
): SignalSeries[] {
  const groups = new Map<string, SignalPoint[]>();
  for (const p of points) {
    const key = `${p.entity}\u0000${p.signal}\u0000${p.step}`;
    const group = groups.get(key);
    if (group) group.push(p);
    else groups.set(key, [p]);
  }
  const out: SignalSeries[] = [];
  for (const group of groups.values()) {
    const { entity, signal, step } = group[0] as SignalPoint;
    let from: number;
    let until: number;
    if (span) {
      from = span.from;
      until = stepStart(span.until, step);
    } else {
      from = Number.POSITIVE_INFINITY;
      until = Number.NEGATIVE_INFINITY;
      for (const p of group) {
        from = Math.min(from, p.time);
        until = Math.max(until, p.time + step);
      }
    }
    out.push(toSeries(entity, signal, step, from, until, group));
  }
  return out;
}
