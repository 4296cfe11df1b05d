/**
 * Probe-silence signals from the `beacons` table (docs/detection.md, "Probe beacons and silence"),
 * after Disco (Shah et al., TMA 2017): many probes of one network falling silent together is a
 * disconnection; one probe going quiet is churn.
 *
 * For each step and each entity (country:CC, asn:N, region:R, region:R+asn:N):
 * - `beacon.active`: distinct probes heard in the step (count: the same);
 * - `beacon.disconnected`: probes heard in the previous step and not in this one: each falling
 *   silent counts once, in the step it happened, as Disco counts disconnection events (count: the
 *   probes the entity had in view in the step: heard now, heard just before, or reporting a missed
 *   attempt in it). The missed attempts a returning probe reports do not count again in every step
 *   of its silence: the burst detector adds disconnections up over neighbouring steps, and two
 *   churned probes reporting four misses each read as a burst of eight (seen in the lab's
 *   quiet-churn timeline).
 *
 * A probe belongs, in a step, to the entity of its latest row in that step; a probe that fell
 * silent belongs to where it was last heard. Steps should be a multiple of the probes' beacon
 * interval (probes send mid-interval on the server's clock, so a beacon never straddles a step
 * boundary when they are).
 *
 * The work is done by DuckDB, one day of steps at a time, so a month of one-minute beacons from a
 * thousand probes (43 M rows) needs the memory of one day (about 1.4 M rows) and a scan of each row
 * group once (rows arrive in time order, so DuckDB's min/max per row group skips the rest).
 */
import { BEACONS_TABLE, ensureBeaconsTable } from '../beacons/table.js';
import type { SignalsDatabase } from './database.js';
import { formatEntity } from './entity.js';
import { SIGNAL_KINDS, type SignalPoint, stepStart } from './types.js';

export interface BeaconSignalRange {
  /** Epoch seconds, inclusive (aligned down to the step). */
  from: number;
  /** Epoch seconds, exclusive. */
  until: number;
  /** Step in seconds. */
  step: number;
  /**
   * After an entity's last probe falls silent, its steps keep getting points (active 0,
   * disconnected 0, count 0) for this long, so a detector sees a silence as zeros, not as missing
   * data. Default one day; 0 turns it off.
   */
  silenceFillSeconds?: number;
}

/** About one day of steps per query. */
const CHUNK_SECONDS = 86_400;

/** Grouping sets, told apart by GROUPING(cc, asn, region): a bit is set for a column left out. */
const BY_COUNTRY = 0b011;
const BY_ASN = 0b101;
const BY_REGION = 0b110;
const BY_REGION_ASN = 0b100;

/**
 * One aggregation per (probe, step) over the step's rows and, shifted one step on, the previous
 * step's arrivals; then counts per finest entity (country, asn, region), rolled up into the four
 * entity kinds by sums (a probe is in one finest entity per step, so sums of counts are exact).
 * The probe's entity in a step is that of its latest row there: for a probe that fell silent,
 * where it was last heard.
 */
const CHUNK_SQL = `
WITH ev AS (
  SELECT probe_hash, time // $step AS k, heard, NOT heard AS missed, FALSE AS prev, time, cc, asn, region
  FROM ${BEACONS_TABLE} WHERE time >= $lo + $step AND time < $hi
  UNION ALL
  SELECT probe_hash, time // $step + 1, FALSE, FALSE, TRUE, time, cc, asn, region
  FROM ${BEACONS_TABLE} WHERE heard AND time >= $lo AND time < $hi - $step
),
state AS (
  SELECT probe_hash, k, bool_or(heard) AS heard, bool_or(missed) AS missed, bool_or(prev) AS prev,
         arg_max({cc: cc, asn: asn, region: region}, time) AS w
  FROM ev GROUP BY probe_hash, k
),
fine AS (
  SELECT k, w.cc AS cc, w.asn AS asn, w.region AS region,
         count(*) FILTER (WHERE heard) AS active,
         count(*) FILTER (WHERE NOT heard AND prev) AS disconnected,
         count(*) AS known
  FROM state GROUP BY ALL
)
SELECT k, cc, asn, region, GROUPING(cc, asn, region) AS g,
       sum(active) AS active, sum(disconnected) AS disconnected, sum(known) AS known
FROM fine
GROUP BY GROUPING SETS ((k, cc), (k, asn), (k, region), (k, asn, region))
ORDER BY k`;

interface ChunkRow {
  k: bigint | number;
  cc: string | null;
  asn: bigint | number | null;
  region: string | null;
  g: number | bigint;
  active: bigint | number;
  disconnected: bigint | number;
  known: bigint | number;
}

function entityOf(row: ChunkRow): string | null {
  const g = Number(row.g);
  const asn = row.asn === null ? null : String(row.asn);
  if (g === BY_COUNTRY) return row.cc === null ? null : formatEntity({ country: row.cc });
  if (g === BY_ASN) return asn === null ? null : formatEntity({ asn });
  if (g === BY_REGION) return row.region === null ? null : formatEntity({ region: row.region });
  if (g === BY_REGION_ASN)
    return asn === null || row.region === null ? null : formatEntity({ region: row.region, asn });
  return null;
}

/**
 * The signals over [from, until), one array of points per chunk of about a day, in time order.
 * For long ranges, consume chunk by chunk instead of collecting everything.
 */
export async function* beaconSignalChunks(
  db: SignalsDatabase,
  range: BeaconSignalRange,
): AsyncGenerator<SignalPoint[]> {
  const { step } = range;
  if (!(Number.isInteger(step) && step > 0))
    throw new RangeError(`step must be a whole number of seconds > 0, not ${step}`);
  await ensureBeaconsTable(db);
  const first = stepStart(range.from, step) / step;
  const end = Math.ceil(range.until / step);
  const perChunk = Math.max(1, Math.floor(CHUNK_SECONDS / step));
  const fillSteps = Math.floor((range.silenceFillSeconds ?? CHUNK_SECONDS) / step);
  /** Entity → last step it had a point in (for the silence fill). */
  const lastSeen = new Map<string, number>();

  for (let klo = first; klo < end; klo += perChunk) {
    const khi = Math.min(end, klo + perChunk);
    const rows = await db.all<ChunkRow>(CHUNK_SQL, { step, lo: (klo - 1) * step, hi: khi * step });
    const points: SignalPoint[] = [];
    const present = new Map<string, Set<number>>();
    for (const row of rows) {
      const entity = entityOf(row);
      if (entity === null) continue;
      const k = Number(row.k);
      const time = k * step;
      const known = Number(row.known);
      const active = Number(row.active);
      points.push(
        { entity, signal: SIGNAL_KINDS.beaconActive, time, step, value: active, count: active },
        {
          entity,
          signal: SIGNAL_KINDS.beaconDisconnected,
          time,
          step,
          value: Number(row.disconnected),
          count: known,
        },
      );
      const steps = present.get(entity) ?? new Set<number>();
      present.set(entity, steps.add(k));
    }
    if (fillSteps > 0) {
      const found = points.length;
      for (let k = klo; k < khi; k++) {
        for (const [entity, last] of lastSeen) {
          if (present.get(entity)?.has(k)) lastSeen.set(entity, k);
          else if (k - last <= fillSteps) {
            const time = k * step;
            points.push(
              { entity, signal: SIGNAL_KINDS.beaconActive, time, step, value: 0, count: 0 },
              { entity, signal: SIGNAL_KINDS.beaconDisconnected, time, step, value: 0, count: 0 },
            );
          }
        }
        for (const [entity, steps] of present) if (steps.has(k)) lastSeen.set(entity, k);
      }
      // The fill points go in among the others (stable: the SQL's order stays within a step).
      if (points.length > found) points.sort((a, b) => a.time - b.time);
    } else {
      for (const [entity, steps] of present) lastSeen.set(entity, Math.max(...steps));
    }
    yield points;
  }
}

/** Every point over [from, until), in time order. */
export async function beaconSignals(db: SignalsDatabase, range: BeaconSignalRange): Promise<SignalPoint[]> {
  const out: SignalPoint[] = [];
  for await (const chunk of beaconSignalChunks(db, range)) for (const p of chunk) out.push(p);
  return out;
}
