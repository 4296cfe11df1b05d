/**
 * Signal points in DATA_DIR/signals.duckdb (table signal_points), keyed by (entity, signal, step,
 * time). Writes are upserts: a point written again with the same value and count changes nothing
 * (re-importing a file is harmless), and a different value replaces the old one (late data wins).
 *
 * Bulk path, because one MRT day or one imported file is millions of points: the points go into a
 * staging table through DuckDB's appender, the rows that are new or different are selected with
 * one hash join, and only those are deleted and re-inserted, in one transaction. No primary-key
 * index: DuckDB's ART index makes large upserts slow and memory hungry, and the hash join does the
 * same work in one pass.
 */
import type { DuckDBValue } from '@duckdb/node-api';
import type { SignalsDatabase } from './database.js';
import { canonicalEntity, EntityError } from './entity.js';
import { SIGNAL_NAME_PATTERN, type SignalPoint, type SignalSeries, toSeries } from './types.js';

const TABLE = 'signal_points';
const STAGING_PREFIX = 'signal_points_staging_';
/** Rows per appender call: bounds the JS-side row arrays for multi-million-point writes. */
const APPEND_BATCH = 200_000;

export class SignalPointError extends Error {
  constructor(
    message: string,
    /** Index of the offending point in the array given to put(). */
    readonly index: number,
  ) {
    super(message);
    this.name = 'SignalPointError';
  }
}

export interface PointsQuery {
  entity?: string;
  signal?: string;
  step?: number;
  /** Epoch seconds, inclusive. */
  from: number;
  /** Epoch seconds, exclusive. */
  until: number;
}

export interface SeriesQuery {
  entity: string;
  signal: string;
  step: number;
  from: number;
  until: number;
}

export interface CatalogEntry {
  entity: string;
  signal: string;
  step: number;
  /** First point's time. */
  from: number;
  /** End of the last point's step (exclusive). */
  until: number;
  points: number;
  /** Where the points came from (the distinct sources, comma-separated). */
  source: string;
}

/**
 * Checks one point and returns it with its entity in canonical spelling, or a sentence saying what
 * is wrong (for importers to prefix with a file and line). `entities` caches canonical spellings.
 */
export function checkSignalPoint(
  p: SignalPoint,
  entities: Map<string, string> = new Map(),
): { point: SignalPoint } | { error: string } {
  let entity = entities.get(p.entity);
  if (entity === undefined) {
    try {
      entity = canonicalEntity(p.entity);
    } catch (err) {
      if (err instanceof EntityError) return { error: err.message };
      throw err;
    }
    entities.set(p.entity, entity);
  }
  if (typeof p.signal !== 'string' || !SIGNAL_NAME_PATTERN.test(p.signal)) {
    return {
      error: `signal "${p.signal}" is not a valid name (lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64 characters)`,
    };
  }
  if (!Number.isSafeInteger(p.step) || p.step <= 0) {
    return { error: `step ${p.step} is not a whole number of seconds greater than 0` };
  }
  if (!Number.isSafeInteger(p.time))
    return { error: `time ${p.time} is not a whole number of epoch seconds` };
  if (p.time % p.step !== 0) {
    return {
      error: `time ${p.time} (${isoTime(p.time)}) is not aligned to the step of ${p.step} s (a multiple of it since the epoch)`,
    };
  }
  if (typeof p.value !== 'number' || !Number.isFinite(p.value))
    return { error: `value ${p.value} is not a finite number` };
  if (!Number.isSafeInteger(p.count) || p.count < 0)
    return { error: `count ${p.count} is not a whole number ≥ 0` };
  const point = entity === p.entity ? p : { ...p, entity };
  return { point };
}

function isoTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? 'invalid date' : d.toISOString().replace('.000Z', 'Z');
}

/** Runs one piece of work at a time: two puts must not interleave their staging and merge steps. */
class Queue {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work, work);
    this.tail = result.catch(() => {});
    return result;
  }
}

let stagingCounter = 0;

export class SignalStore {
  private readonly queue = new Queue();
  private readonly entities = new Map<string, string>();

  private constructor(private readonly db: SignalsDatabase) {}

  /** Creates signal_points if needed and drops staging tables a crash may have left behind. */
  static async open(db: SignalsDatabase): Promise<SignalStore> {
    await db.run(
      `CREATE TABLE IF NOT EXISTS ${TABLE} (
        entity VARCHAR NOT NULL,
        signal VARCHAR NOT NULL,
        step INTEGER NOT NULL,
        time BIGINT NOT NULL,
        value DOUBLE NOT NULL,
        count BIGINT NOT NULL,
        source VARCHAR NOT NULL
      )`,
    );
    const leftovers = await db.all<{ name: string }>(
      `SELECT table_name AS name FROM duckdb_tables() WHERE starts_with(table_name, '${STAGING_PREFIX}')`,
    );
    // Another store of this process may be mid-write with its own staging tables: leave those.
    const ours = `_${process.pid}_`;
    for (const { name } of leftovers)
      if (!name.includes(ours)) await db.run(`DROP TABLE IF EXISTS "${name}"`);
    return new SignalStore(db);
  }

  /**
   * Validates every point (nothing is written if one is bad: SignalPointError names it) and upserts
   * them. Within one call a later point for the same key wins. Returns how many points were new or
   * changed (0 when the same points are written again).
   */
  async put(points: SignalPoint[], source: string): Promise<number> {
    const checked: SignalPoint[] = new Array(points.length);
    for (let i = 0; i < points.length; i++) {
      const result = checkSignalPoint(points[i] as SignalPoint, this.entities);
      if ('error' in result) throw new SignalPointError(`point #${i}: ${result.error}`, i);
      checked[i] = result.point;
    }
    if (checked.length === 0) return 0;
    return this.queue.run(() => this.merge(checked, source));
  }

  private async merge(points: SignalPoint[], source: string): Promise<number> {
    const id = `${process.pid}_${Date.now()}_${stagingCounter++}`;
    const staging = `${STAGING_PREFIX}${id}`;
    const changed = `${STAGING_PREFIX}changed_${id}`;
    const db = this.db;
    // Regular (not TEMP) tables: the count below is read on the database's reader connection,
    // which cannot see the writer's temporary tables.
    await db.run(
      `CREATE TABLE ${staging} (seq BIGINT, entity VARCHAR, signal VARCHAR, step INTEGER, time BIGINT, value DOUBLE, count BIGINT)`,
    );
    try {
      for (let start = 0; start < points.length; start += APPEND_BATCH) {
        const end = Math.min(points.length, start + APPEND_BATCH);
        const rows: DuckDBValue[][] = new Array(end - start);
        for (let i = start; i < end; i++) {
          const p = points[i] as SignalPoint;
          // The value column is DOUBLE: the appender casts whole numbers given as BIGINT.
          rows[i - start] = [i, p.entity, p.signal, p.step, p.time, p.value, p.count];
        }
        await db.append(staging, rows);
      }
      // The last point per key, kept only where it differs from what is stored.
      await db.run(
        `CREATE TABLE ${changed} AS
         SELECT s.entity, s.signal, s.step, s.time, s.value, s.count
         FROM (SELECT entity, signal, step, time, arg_max(value, seq) AS value, arg_max(count, seq) AS count
               FROM ${staging} GROUP BY entity, signal, step, time) s
         LEFT JOIN ${TABLE} p
           ON p.entity = s.entity AND p.signal = s.signal AND p.step = s.step AND p.time = s.time
         WHERE p.entity IS NULL OR p.value <> s.value OR p.count <> s.count`,
      );
      const [row] = await db.all<{ n: number }>(`SELECT count(*)::DOUBLE AS n FROM ${changed}`);
      const n = row?.n ?? 0;
      if (n > 0) {
        await db.transaction(async (run) => {
          await run(
            `DELETE FROM ${TABLE} p USING ${changed} c
             WHERE p.entity = c.entity AND p.signal = c.signal AND p.step = c.step AND p.time = c.time`,
          );
          await run(
            `INSERT INTO ${TABLE} SELECT entity, signal, step, time, value, count, $source FROM ${changed}`,
            { source },
          );
        });
      }
      return n;
    } finally {
      await db.run(`DROP TABLE IF EXISTS ${changed}`);
      await db.run(`DROP TABLE IF EXISTS ${staging}`);
    }
  }

  /** Points in [from, until), optionally of one entity, signal and step, ordered by key and time. */
  async points(q: PointsQuery): Promise<SignalPoint[]> {
    const where = ['time >= $from', 'time < $until'];
    const params: Record<string, DuckDBValue> = { from: Math.floor(q.from), until: Math.ceil(q.until) };
    if (q.entity !== undefined) {
      where.push('entity = $entity');
      params.entity = this.canonical(q.entity);
    }
    if (q.signal !== undefined) {
      where.push('signal = $signal');
      params.signal = q.signal;
    }
    if (q.step !== undefined) {
      where.push('step = $step');
      params.step = q.step;
    }
    const rows = await this.db.all<{
      entity: string;
      signal: string;
      step: number;
      time: bigint | number;
      value: number;
      count: bigint | number;
    }>(
      `SELECT entity, signal, step, time, value, count FROM ${TABLE}
       WHERE ${where.join(' AND ')} ORDER BY entity, signal, step, time`,
      params,
    );
    return rows.map((r) => ({
      entity: r.entity,
      signal: r.signal,
      step: r.step,
      time: Number(r.time),
      value: r.value,
      count: Number(r.count),
    }));
  }

  /** One dense series over [from, until): missing steps are null (see toSeries). */
  async series(q: SeriesQuery): Promise<SignalSeries> {
    const entity = this.canonical(q.entity);
    const from = Math.floor(q.from / q.step) * q.step;
    const points = await this.points({ entity, signal: q.signal, step: q.step, from, until: q.until });
    return toSeries(entity, q.signal, q.step, from, q.until, points);
  }

  /** What is stored: one row per (entity, signal, step). */
  async catalog(): Promise<CatalogEntry[]> {
    const rows = await this.db.all<{
      entity: string;
      signal: string;
      step: number;
      first: bigint | number;
      last: bigint | number;
      points: bigint | number;
      source: string;
    }>(
      `SELECT entity, signal, step, min(time) AS first, max(time) AS last, count(*) AS points,
              string_agg(DISTINCT source, ', ' ORDER BY source) AS source
       FROM ${TABLE} GROUP BY entity, signal, step ORDER BY entity, signal, step`,
    );
    return rows.map((r) => ({
      entity: r.entity,
      signal: r.signal,
      step: r.step,
      from: Number(r.first),
      until: Number(r.last) + r.step,
      points: Number(r.points),
      source: r.source,
    }));
  }

  private canonical(entity: string): string {
    let c = this.entities.get(entity);
    if (c === undefined) {
      c = canonicalEntity(entity);
      this.entities.set(entity, c);
    }
    return c;
  }
}
