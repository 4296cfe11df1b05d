/**
 * Measurement outcomes (docs/detection.md): one row per accepted measurement in the signals
 * database's `measurement_outcomes` table, with where it was made, what it measured and what it
 * found, reduced to ok / blocked / down / throttled / unknown. From these come the
 * `measurement.*` signals per country, ASN and region (alone and with +platform: or +category:),
 * and the measurement ids (with their log indices) an incident cites as evidence.
 *
 * Where: the network derived from the submitter's address when known, else the probe's claim
 * (probe_cc, probe_asn). The region is the probe's word, from the annotation `x_region` (an ISO
 * 3166-2 code inside the country); the category from the annotation `x_category_code` (or OONI's
 * `category_code`), the Citizen Lab test-list category of the URL.
 */

import { APP_EXPERIMENT_NAMES } from '@pharos/probe';
import type { SignalsDatabase } from './database.js';
import { canonicalEntity, formatEntity, parseEntity } from './entity.js';
import { SIGNAL_KINDS, type SignalPoint, stepStart } from './types.js';

export const MEASUREMENT_OUTCOMES_TABLE = 'measurement_outcomes';

export type MeasurementOutcome = 'ok' | 'blocked' | 'down' | 'throttled' | 'unknown';
export const MEASUREMENT_OUTCOMES: readonly MeasurementOutcome[] = [
  'ok',
  'blocked',
  'down',
  'throttled',
  'unknown',
];

// No PRIMARY KEY on id: DuckDB's index made each recorded row cost about 0.3 ms of CPU, most of a
// measurement's ingest budget. Each measurement is recorded once, after the evidence store (which
// deduplicates by id) has accepted it as new.
const DDL = `CREATE TABLE IF NOT EXISTS ${MEASUREMENT_OUTCOMES_TABLE} (
  id VARCHAR NOT NULL,
  log_index BIGINT NOT NULL,
  time BIGINT NOT NULL,
  cc VARCHAR,
  asn BIGINT,
  region VARCHAR,
  test_name VARCHAR NOT NULL,
  platform VARCHAR,
  category VARCHAR,
  outcome VARCHAR NOT NULL
)`;

/** The apps and platforms whose test_name is the platform's name: the probe's app experiments. */
export const PLATFORM_TESTS: ReadonlySet<string> = new Set(APP_EXPERIMENT_NAMES);

export interface MeasurementItem {
  /** The measurement's id (SHA-256 of its canonical JSON). */
  id: string;
  log_index: number;
  /** The measurement, or at least its envelope (IncomingMeasurement.envelope). */
  measurement: Record<string, unknown>;
  /**
   * The members of its test_keys that are not objects or arrays, when the collector has them
   * (IncomingMeasurement.testKeyScalars): the outcome needs no more, and test_keys stays unparsed.
   */
  testKeyScalars?: Record<string, unknown>;
  /** From the submitter's address, null when unknown. */
  derivedCC: string | null;
  derivedASN: number | null;
}

export interface OutcomeRow {
  id: string;
  log_index: number;
  /** Epoch seconds of measurement_start_time. */
  time: number;
  cc: string | null;
  asn: number | null;
  region: string | null;
  test_name: string;
  platform: string | null;
  category: string | null;
  outcome: MeasurementOutcome;
}

export function ensureMeasurementOutcomesTable(db: SignalsDatabase): Promise<void> {
  return db.ensure(DDL);
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/**
 * What a measurement found. Web Connectivity: a `blocking` reason is blocked, reachable is ok,
 * unreachable for the control too is down (the site), and `x_mechanism: network.down` is down
 * (the network). Apps and platforms: Pharos's `x_verdict`, else OONI's own keys. Throttling: its
 * `x_verdict`. Anything else, or a measurement that could not tell: unknown.
 */
export function measurementOutcome(measurement: Record<string, unknown>): MeasurementOutcome {
  return outcomeOf(String(measurement.test_name ?? ''), record(measurement.test_keys));
}

/** The outcome from the test name and test_keys (or at least their members that are not objects or arrays). */
function outcomeOf(testName: string, keys: Record<string, unknown>): MeasurementOutcome {
  if (keys.x_mechanism === 'network.down') return 'down';
  if ('x_verdict' in keys) {
    const verdict = keys.x_verdict;
    if (verdict === 'ok' || verdict === 'blocked' || verdict === 'down' || verdict === 'throttled')
      return verdict;
    return 'unknown';
  }
  switch (testName) {
    case 'web_connectivity': {
      const { blocking, accessible } = keys;
      if (typeof blocking === 'string' && blocking !== '') return 'blocked';
      if (blocking === false && accessible === true) return 'ok';
      if (blocking === false && accessible === false) return 'down';
      return 'unknown';
    }
    case 'whatsapp':
      return fromStatuses([
        keys.registration_server_status,
        keys.whatsapp_endpoints_status,
        keys.whatsapp_web_status,
      ]);
    case 'telegram': {
      const flags = [keys.telegram_tcp_blocking, keys.telegram_http_blocking];
      if (flags.includes(true) || keys.telegram_web_status === 'blocked') return 'blocked';
      return flags.every((f) => f === false) && keys.telegram_web_status === 'ok' ? 'ok' : 'unknown';
    }
    case 'signal':
      return fromStatuses([keys.signal_backend_status]);
    case 'facebook_messenger': {
      const flags = [keys.facebook_dns_blocking, keys.facebook_tcp_blocking];
      if (flags.includes(true)) return 'blocked';
      return flags.every((f) => f === false) ? 'ok' : 'unknown';
    }
    default:
      return 'unknown';
  }
}

/** OONI's `*_status` keys: any blocked is blocked, all ok is ok. */
function fromStatuses(statuses: unknown[]): MeasurementOutcome {
  if (statuses.includes('blocked')) return 'blocked';
  return statuses.length > 0 && statuses.every((s) => s === 'ok') ? 'ok' : 'unknown';
}

/** OONI's "YYYY-MM-DD hh:mm:ss" (UTC), or ISO 8601, to epoch seconds; NaN when neither. */
function startTime(text: unknown): number {
  if (typeof text !== 'string') return Number.NaN;
  const iso = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(text) ? `${text.replace(' ', 'T')}Z` : text;
  return Math.floor(Date.parse(iso) / 1000);
}

const CC = /^[A-Z]{2}$/;
const REGION = /^[A-Z]{2}-[A-Z0-9]{1,3}$/;
const CATEGORY = /^[A-Z]{2,8}$/;
const PLATFORM = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/** The row a measurement becomes; null when it has no usable measurement_start_time. */
export function outcomeRow(item: MeasurementItem): OutcomeRow | null {
  const m = item.measurement;
  const time = startTime(m.measurement_start_time);
  if (!Number.isFinite(time)) return null;
  const claimedCC =
    typeof m.probe_cc === 'string' && CC.test(m.probe_cc) && m.probe_cc !== 'ZZ' ? m.probe_cc : null;
  const claimedASN =
    typeof m.probe_asn === 'string' ? Number(/^AS(\d{1,10})$/i.exec(m.probe_asn)?.[1] ?? 0) : 0;
  const cc = item.derivedCC ?? claimedCC;
  const asn = item.derivedASN ?? (claimedASN > 0 && claimedASN <= 4294967295 ? claimedASN : null);
  const annotations = record(m.annotations);
  const regionText =
    typeof annotations.x_region === 'string' ? annotations.x_region.trim().toUpperCase() : '';
  const region =
    REGION.test(regionText) && (cc === null || regionText.startsWith(`${cc}-`)) ? regionText : null;
  const categoryValue = annotations.x_category_code ?? annotations.category_code;
  const categoryText = typeof categoryValue === 'string' ? categoryValue.trim().toUpperCase() : '';
  const testName = typeof m.test_name === 'string' ? m.test_name : '';
  const keys = item.testKeyScalars ?? record(m.test_keys);
  const platform =
    (PLATFORM_TESTS.has(testName) || typeof keys.x_platform === 'string') && PLATFORM.test(testName)
      ? testName
      : null;
  return {
    id: item.id,
    log_index: item.log_index,
    time,
    cc,
    asn,
    region,
    test_name: testName,
    platform,
    category: CATEGORY.test(categoryText) ? categoryText : null,
    outcome: outcomeOf(testName, keys),
  };
}

/**
 * Stores one row per accepted measurement, through DuckDB's appender. Call it once per measurement
 * the evidence store accepted as new (not for duplicates): nothing here deduplicates. Measurements
 * without a usable start time are skipped.
 */
export async function recordMeasurements(
  db: SignalsDatabase,
  items: readonly MeasurementItem[],
): Promise<void> {
  await recordOutcomeRows(
    db,
    items.map(outcomeRow).filter((r): r is OutcomeRow => r !== null),
  );
}

/** Stores outcome rows (outcomeRow's), through DuckDB's appender. */
export async function recordOutcomeRows(db: SignalsDatabase, rows: readonly OutcomeRow[]): Promise<void> {
  await ensureMeasurementOutcomesTable(db);
  await db.append(
    MEASUREMENT_OUTCOMES_TABLE,
    rows.map((r) => [
      r.id,
      r.log_index,
      r.time,
      r.cc,
      r.asn,
      r.region,
      r.test_name,
      r.platform,
      r.category,
      r.outcome,
    ]),
  );
}

export interface MeasurementSignalRange {
  /** Epoch seconds, inclusive (aligned down to the step). */
  from: number;
  /** Epoch seconds, exclusive. */
  until: number;
  step: number;
}

/** GROUPING(cc, asn, region, platform, category): a bit set for each column left out. */
const SETS: Array<{ columns: Array<'cc' | 'asn' | 'region' | 'platform' | 'category'> }> = [];
for (const place of ['cc', 'asn', 'region'] as const) {
  SETS.push({ columns: [place] }, { columns: [place, 'platform'] }, { columns: [place, 'category'] });
}
const ALL_COLUMNS = ['cc', 'asn', 'region', 'platform', 'category'] as const;
function groupingBits(columns: readonly string[]): number {
  let bits = 0;
  for (const c of ALL_COLUMNS) bits = (bits << 1) | (columns.includes(c) ? 0 : 1);
  return bits;
}
const SET_BY_BITS = new Map(SETS.map((s) => [groupingBits(s.columns), s.columns]));

const SIGNALS_SQL = `
SELECT time // $step AS k, cc, asn, region, platform, category,
       GROUPING(cc, asn, region, platform, category) AS g,
       count(*) AS measured,
       count(*) FILTER (WHERE outcome = 'ok') AS ok,
       count(*) FILTER (WHERE outcome = 'blocked') AS blocked,
       count(*) FILTER (WHERE outcome = 'down') AS down,
       count(*) FILTER (WHERE outcome = 'throttled') AS throttled
FROM ${MEASUREMENT_OUTCOMES_TABLE}
WHERE time >= $from AND time < $until
GROUP BY GROUPING SETS (${SETS.map((s) => `(k, ${s.columns.join(', ')})`).join(', ')})
ORDER BY k, g, cc, asn, region, platform, category`;

interface SignalRow {
  k: bigint | number;
  cc: string | null;
  asn: bigint | number | null;
  region: string | null;
  platform: string | null;
  category: string | null;
  g: bigint | number;
  measured: bigint | number;
  ok: bigint | number;
  blocked: bigint | number;
  down: bigint | number;
  throttled: bigint | number;
}

/**
 * measurement.measured / ok / blocked / down / throttled (value: that many; count: measured) and
 * measurement.blocked_fraction (blocked / measured; count: measured), per step, for country:CC,
 * asn:N and region:R, each alone, with +platform:P and with +category:C. Steps without
 * measurements have no points.
 */
export async function measurementSignals(
  db: SignalsDatabase,
  range: MeasurementSignalRange,
): Promise<SignalPoint[]> {
  const { step } = range;
  if (!(Number.isInteger(step) && step > 0))
    throw new RangeError(`step must be a whole number of seconds > 0, not ${step}`);
  await ensureMeasurementOutcomesTable(db);
  const rows = await db.all<SignalRow>(SIGNALS_SQL, {
    step,
    from: stepStart(range.from, step),
    until: range.until,
  });
  const points: SignalPoint[] = [];
  for (const row of rows) {
    const columns = SET_BY_BITS.get(Number(row.g));
    if (!columns) continue;
    const parts: Record<string, string> = {};
    let complete = true;
    for (const c of columns) {
      const value = row[c];
      if (value === null) complete = false;
      else parts[c === 'cc' ? 'country' : c] = String(value);
    }
    if (!complete) continue;
    let entity: string;
    try {
      entity = formatEntity(parts);
    } catch {
      continue;
    }
    const time = Number(row.k) * step;
    const measured = Number(row.measured);
    const point = (signal: string, value: number): SignalPoint => ({
      entity,
      signal,
      time,
      step,
      value,
      count: measured,
    });
    points.push(
      point(SIGNAL_KINDS.measured, measured),
      point(SIGNAL_KINDS.ok, Number(row.ok)),
      point(SIGNAL_KINDS.blocked, Number(row.blocked)),
      point(SIGNAL_KINDS.down, Number(row.down)),
      point(SIGNAL_KINDS.throttled, Number(row.throttled)),
      point(SIGNAL_KINDS.blockedFraction, measured > 0 ? Number(row.blocked) / measured : 0),
    );
  }
  return points;
}

export interface EvidenceQuery {
  /** Any entity (country:AZ, asn:29049+platform:whatsapp, region:AZ-FUZ+category:NEWS…). */
  entity: string;
  /** Epoch seconds, inclusive. */
  from: number;
  /** Epoch seconds, exclusive. */
  until: number;
  /** Which outcomes count as evidence; default blocked, down and throttled. */
  outcomes?: readonly MeasurementOutcome[];
  /** At most this many, oldest first; default 1000. */
  limit?: number;
}

/** The measurements (id and log index, oldest first) within an entity and a time window. */
export async function measurementEvidence(
  db: SignalsDatabase,
  query: EvidenceQuery,
): Promise<Array<{ id: string; log_index: number }>> {
  await ensureMeasurementOutcomesTable(db);
  const parts = parseEntity(canonicalEntity(query.entity));
  const where = ['time >= ?', 'time < ?'];
  const params: Array<string | number> = [query.from, query.until];
  const column = {
    country: 'cc',
    region: 'region',
    asn: 'asn',
    platform: 'platform',
    category: 'category',
  } as const;
  for (const [type, code] of Object.entries(parts) as Array<[keyof typeof column, string]>) {
    where.push(`${column[type]} = ?`);
    params.push(type === 'asn' ? Number(code) : code);
  }
  const outcomes = query.outcomes ?? ['blocked', 'down', 'throttled'];
  if (outcomes.length === 0) return [];
  for (const o of outcomes) {
    if (!MEASUREMENT_OUTCOMES.includes(o))
      throw new RangeError(`unknown outcome "${o}" (${MEASUREMENT_OUTCOMES.join(', ')})`);
  }
  where.push(`outcome IN (${outcomes.map(() => '?').join(', ')})`);
  params.push(...outcomes);
  const limit = Math.max(1, Math.floor(query.limit ?? 1000));
  const rows = await db.all<{ id: string; log_index: bigint | number }>(
    `SELECT id, log_index FROM ${MEASUREMENT_OUTCOMES_TABLE} WHERE ${where.join(' AND ')} ORDER BY time, log_index LIMIT ${limit}`,
    params,
  );
  return rows.map((r) => ({ id: r.id, log_index: Number(r.log_index) }));
}
