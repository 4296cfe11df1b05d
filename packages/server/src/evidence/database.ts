/**
 * The evidence database: embedded DuckDB in DATA_DIR/pharos.duckdb, the source of truth for
 * measurements (their bodies are in the body files it points into, body-files.ts), log entries and
 * every checkpoint the log has signed. Tiles are derived from it.
 *
 * Durability: DuckDB fsyncs its write-ahead log on every COMMIT (checked with strace on 1.5.6: one
 * fsync of pharos.duckdb.wal per commit). It deletes the WAL after each database checkpoint and
 * creates it again on the next commit without syncing the directory, so after a commit that
 * created the WAL (a new inode) the writer also fsyncs the data directory: then the WAL's name is
 * as durable as its contents on any file system, not only on ext4 where a file's fsync happens to
 * carry its new directory entry.
 *
 * The writer keeps one appender per table and flushes it inside each commit's transaction (a
 * rolled-back transaction takes the flushed rows with it): creating appenders cost three round
 * trips through libuv's pool per commit, behind the body files' fsyncs.
 *
 * No PRIMARY KEY on measurements.id or log_entries.idx: DuckDB rewrites ART indexes at every
 * database checkpoint, so their cost grows with the table (see id-index.ts). Uniqueness is kept by
 * the one writer (the sequencer) and checked by the integrity check; rows are appended in log
 * order, so range filters on log_index and idx are answered from DuckDB's min/max zone maps.
 */

import { statSync } from 'node:fs';
import path from 'node:path';
import { type DuckDBAppender, type DuckDBConnection, DuckDBInstance, timestampValue } from '@duckdb/node-api';
import { Serial } from '../serial.js';
import { BODIES_DIR, type BodyLocation, type BodyMark } from './body-files.js';
import { fsyncDirectory } from './durable-file.js';

export const DATABASE_FILE = 'pharos.duckdb';

/**
 * WAL size that triggers a database checkpoint. Chosen when bodies were a column, where DuckDB's
 * default (16 MB) checkpointed every ~1,600 measurements of 10 KB and halved ingest (measured with
 * 10 KB bodies: 16 MB ≈ 3,000/s, 128 MB ≈ 5,500/s, 512 MB ≈ 8,300/s). Rows are now a few hundred
 * bytes, so 256 MB is several hundred thousand measurements between checkpoints.
 */
export const DEFAULT_CHECKPOINT_THRESHOLD = '256MB';

/**
 * Rows per row group. Chosen when bodies were a column: DuckDB's default (122,880) made a row group
 * of 10 KB measurements over a gigabyte, and database checkpoints stalled for seconds. With bodies
 * in files (body-files.ts) both sizes append equally fast.
 */
export const ROW_GROUP_SIZE = 8192;

/** Name the database file is attached under. */
const CATALOG = 'evidence';

async function connectTo(instance: DuckDBInstance): Promise<DuckDBConnection> {
  const c = await instance.connect();
  await c.run(`USE ${CATALOG}`);
  return c;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS measurements (
  id VARCHAR NOT NULL,
  log_index BIGINT NOT NULL,
  probe_key VARCHAR NOT NULL,
  signature VARCHAR NOT NULL,
  scrubbed BOOLEAN NOT NULL,
  received_at TIMESTAMP NOT NULL,
  late BOOLEAN NOT NULL,
  upload_delay_seconds DOUBLE,
  test_name VARCHAR,
  input VARCHAR,
  measurement_start_time TIMESTAMP,
  probe_cc VARCHAR,
  probe_asn VARCHAR,
  derived_cc VARCHAR,
  derived_asn BIGINT,
  location_mismatch BOOLEAN NOT NULL,
  body_segment INTEGER NOT NULL,
  body_offset BIGINT NOT NULL,
  body_length INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS log_entries (
  idx BIGINT NOT NULL,
  entry BLOB NOT NULL,
  leaf_hash BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
  log_index BIGINT NOT NULL,
  kind VARCHAR NOT NULL,
  received_at TIMESTAMP NOT NULL,
  body VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
  size BIGINT PRIMARY KEY,
  root BLOB NOT NULL,
  note VARCHAR NOT NULL,
  created TIMESTAMP NOT NULL
);
`;

export interface MeasurementRow {
  id: string;
  logIndex: number;
  probeKey: string;
  signature: string;
  scrubbed: boolean;
  receivedAt: Date;
  late: boolean;
  uploadDelaySeconds: number | null;
  testName: string | null;
  input: string | null;
  startTime: Date | null;
  probeCC: string | null;
  probeASN: string | null;
  derivedCC: string | null;
  derivedASN: number | null;
  locationMismatch: boolean;
  /** Where the stored canonical JSON is (body-files.ts). */
  body: BodyLocation;
}

/** A record logged beside the measurements (an incident's state change…); body is its JCS. */
export interface RecordRow {
  logIndex: number;
  kind: string;
  receivedAt: Date;
  body: string;
}

export interface EntryRow {
  idx: number;
  entry: Uint8Array;
  leafHash: Uint8Array;
}

export interface CheckpointRow {
  size: number;
  root: Uint8Array;
  note: string;
  created: Date;
}

/** A stored measurement with its log entry, as the API shows it. */
export interface MeasurementWithEntry extends Omit<MeasurementRow, 'startTime'> {
  entry: Uint8Array;
}

/**
 * An index as SQL text. Lookups by index put the number in the query rather than binding it: DuckDB
 * then prunes row groups by their min/max before reading (measured: 1.8 ms instead of 5.5 ms for
 * one measurement). Only our own integers go through here, checked, never text from a request.
 */
function int(n: number): string {
  if (!Number.isSafeInteger(n)) throw new RangeError(`not an index: ${n}`);
  return String(n);
}

function micros(date: Date) {
  return timestampValue(BigInt(date.getTime()) * 1000n);
}

function num(value: unknown): number {
  return typeof value === 'bigint' ? Number(value) : (value as number);
}

function bytes(value: unknown): Uint8Array {
  return new Uint8Array(value as Uint8Array);
}

export interface OpenDatabaseOptions {
  readOnly?: boolean;
  checkpointThreshold?: string;
}

export class EvidenceDatabase {
  private readonly reads = new Serial();
  private readonly writes = new Serial();
  private appenders: Appenders | null = null;
  /** The WAL's inode after the last commit (null: none yet, or no WAL). */
  private walInode: number | null = null;

  private constructor(
    readonly file: string,
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private readonly reader: DuckDBConnection,
    readonly readOnly: boolean,
  ) {}

  static async open(dataDir: string, options: OpenDatabaseOptions = {}): Promise<EvidenceDatabase> {
    const file = path.join(dataDir, DATABASE_FILE);
    // The file is ATTACHed to an in-memory instance because ROW_GROUP_SIZE is an ATTACH option.
    const instance = await DuckDBInstance.create(':memory:', {
      checkpoint_threshold: options.checkpointThreshold ?? DEFAULT_CHECKPOINT_THRESHOLD,
    });
    const attach = await instance.connect();
    try {
      const quoted = file.replaceAll("'", "''");
      await attach.run(
        options.readOnly
          ? `ATTACH '${quoted}' AS ${CATALOG} (READ_ONLY)`
          : `ATTACH '${quoted}' AS ${CATALOG} (ROW_GROUP_SIZE ${ROW_GROUP_SIZE})`,
      );
    } catch (err) {
      attach.closeSync();
      instance.closeSync();
      throw err;
    }
    attach.closeSync();
    const writer = await connectTo(instance);
    try {
      await refuseOldLayout(writer, file);
    } catch (err) {
      writer.closeSync();
      instance.closeSync();
      throw err;
    }
    if (!options.readOnly) {
      await writer.run(SCHEMA);
      await fsyncDirectory(dataDir);
    }
    const reader = await connectTo(instance);
    return new EvidenceDatabase(file, instance, writer, reader, options.readOnly === true);
  }

  /** A further connection for long reads (the integrity check), so they do not hold up the API. */
  async connect(): Promise<DuckDBConnection> {
    return connectTo(this.instance);
  }

  /**
   * Stores a batch of measurements and records, their log entries and the checkpoint of the tree
   * they make, in one transaction; resolves once DuckDB has fsynced it (and the directory, see above).
   */
  async commitBatch(
    rows: readonly MeasurementRow[],
    entries: readonly EntryRow[],
    checkpoint: CheckpointRow,
    records: readonly RecordRow[] = [],
  ): Promise<void> {
    await this.writes.run(async () => {
      const c = this.writer;
      await c.run('BEGIN TRANSACTION');
      try {
        this.appenders ??= await createAppenders(c);
        const a = this.appenders;
        for (const r of records) {
          a.records.appendBigInt(BigInt(r.logIndex));
          a.records.appendVarchar(r.kind);
          a.records.appendTimestamp(micros(r.receivedAt));
          a.records.appendVarchar(r.body);
          a.records.endRow();
        }
        const m = a.measurements;
        for (const r of rows) {
          m.appendVarchar(r.id);
          m.appendBigInt(BigInt(r.logIndex));
          m.appendVarchar(r.probeKey);
          m.appendVarchar(r.signature);
          m.appendBoolean(r.scrubbed);
          m.appendTimestamp(micros(r.receivedAt));
          m.appendBoolean(r.late);
          if (r.uploadDelaySeconds === null) m.appendNull();
          else m.appendDouble(r.uploadDelaySeconds);
          appendText(m, r.testName);
          appendText(m, r.input);
          if (r.startTime === null) m.appendNull();
          else m.appendTimestamp(micros(r.startTime));
          appendText(m, r.probeCC);
          appendText(m, r.probeASN);
          appendText(m, r.derivedCC);
          if (r.derivedASN === null) m.appendNull();
          else m.appendBigInt(BigInt(r.derivedASN));
          m.appendBoolean(r.locationMismatch);
          m.appendInteger(r.body.segment);
          m.appendBigInt(BigInt(r.body.offset));
          m.appendInteger(r.body.length);
          m.endRow();
        }
        for (const r of entries) {
          a.entries.appendBigInt(BigInt(r.idx));
          a.entries.appendBlob(r.entry);
          a.entries.appendBlob(r.leafHash);
          a.entries.endRow();
        }
        appendCheckpoint(a.checkpoints, checkpoint);
        for (const appender of Object.values(a)) appender.flushSync();
        await c.run('COMMIT');
      } catch (err) {
        // An appender that failed may hold rows; new ones start clean.
        this.closeAppenders();
        await c.run('ROLLBACK').catch(() => {});
        throw err;
      }
    });
    await this.syncDirectoryIfNewWAL();
  }

  /**
   * fsyncs the data directory when the WAL is a new file (see above); remembers its inode. The
   * stat is synchronous: a metadata lookup takes microseconds, where libuv's pool would queue it
   * behind the fsyncs of other files.
   */
  private async syncDirectoryIfNewWAL(): Promise<void> {
    const inode = statSync(`${this.file}.wal`, { throwIfNoEntry: false })?.ino ?? null;
    if (inode !== null && inode === this.walInode) return;
    await fsyncDirectory(path.dirname(this.file));
    this.walInode = inode;
  }

  private closeAppenders(): void {
    const appenders = this.appenders;
    this.appenders = null;
    for (const appender of Object.values(appenders ?? {})) {
      try {
        appender.closeSync();
      } catch {
        // Already broken: nothing to keep.
      }
    }
  }

  /** Stores a checkpoint alone (the empty tree's, at the first start). */
  async storeCheckpoint(checkpoint: CheckpointRow): Promise<void> {
    await this.writes.run(() => insertCheckpoint(this.writer, checkpoint));
    await fsyncDirectory(path.dirname(this.file));
  }

  private query(sql: string, params: unknown[] = [], connection?: DuckDBConnection) {
    const run = async () => {
      const reader = await (connection ?? this.reader).runAndReadAll(sql, params as never);
      return reader.getRowObjectsJS();
    };
    return connection ? run() : this.reads.run(run);
  }

  /** Number of log entries, and the largest index (-1 for none): equal minus one when contiguous. */
  async entryStats(
    connection?: DuckDBConnection,
  ): Promise<{ count: number; maxIdx: number; minIdx: number }> {
    const [row] = await this.query(
      'SELECT count(*) AS n, coalesce(max(idx), -1) AS hi, coalesce(min(idx), 0) AS lo FROM log_entries',
      [],
      connection,
    );
    return { count: num(row!.n), maxIdx: num(row!.hi), minIdx: num(row!.lo) };
  }

  async latestCheckpoint(connection?: DuckDBConnection): Promise<CheckpointRow | null> {
    const rows = await this.query(
      'SELECT size, root, note, created FROM checkpoints ORDER BY size DESC LIMIT 1',
      [],
      connection,
    );
    return rows.length === 0 ? null : checkpointRow(rows[0]!);
  }

  async checkpointAt(size: number, connection?: DuckDBConnection): Promise<CheckpointRow | null> {
    const rows = await this.query(
      'SELECT size, root, note, created FROM checkpoints WHERE size = $1',
      [BigInt(size)],
      connection,
    );
    return rows.length === 0 ? null : checkpointRow(rows[0]!);
  }

  /** Every stored checkpoint up to a size, smallest first. */
  async checkpoints(maxSize: number, connection?: DuckDBConnection): Promise<CheckpointRow[]> {
    const rows = await this.query(
      'SELECT size, root, note, created FROM checkpoints WHERE size <= $1 ORDER BY size',
      [BigInt(maxSize)],
      connection,
    );
    return rows.map(checkpointRow);
  }

  /** Log entries with from ≤ idx < to, in order. */
  async entries(from: number, to: number, connection?: DuckDBConnection): Promise<EntryRow[]> {
    const rows = await this.query(
      `SELECT idx, entry, leaf_hash FROM log_entries WHERE idx >= ${int(from)} AND idx < ${int(to)} ORDER BY idx`,
      [],
      connection,
    );
    return rows.map((r) => ({ idx: num(r.idx), entry: bytes(r.entry), leafHash: bytes(r.leaf_hash) }));
  }

  /** (id, log_index) of the measurements with from ≤ log_index < to. */
  async ids(from: number, to: number): Promise<Array<{ id: string; logIndex: number }>> {
    const rows = await this.query(
      `SELECT id, log_index FROM measurements WHERE log_index >= ${int(from)} AND log_index < ${int(to)}`,
    );
    return rows.map((r) => ({ id: r.id as string, logIndex: num(r.log_index) }));
  }

  /** The ids and late flags stored at these log indexes (to confirm IdIndex candidates). */
  async idsAt(
    logIndexes: readonly number[],
  ): Promise<Array<{ id: string; logIndex: number; late: boolean }>> {
    if (logIndexes.length === 0) return [];
    const list = logIndexes.map(int).join(',');
    const rows = await this.query(
      `SELECT id, log_index, late FROM measurements WHERE log_index IN (${list})`,
    );
    return rows.map((r) => ({ id: r.id as string, logIndex: num(r.log_index), late: r.late as boolean }));
  }

  /**
   * The measurement with this id, looked for at these log indexes (IdIndex candidates), with its
   * entry; null when none of them holds it.
   */
  async measurementWithId(id: string, logIndexes: readonly number[]): Promise<MeasurementWithEntry | null> {
    if (!/^[0-9a-f]{64}$/.test(id)) throw new RangeError('not a measurement id');
    if (logIndexes.length === 0) return null;
    const rows = await this.query(
      `SELECT *, epoch_ms(received_at) AS received_ms FROM measurements
        WHERE log_index IN (${logIndexes.map(int).join(',')}) AND id = '${id}'`,
    );
    if (rows.length === 0) return null;
    const entries = await this.query(
      `SELECT entry FROM log_entries WHERE idx = ${int(num(rows[0]!.log_index))}`,
    );
    if (entries.length === 0) return null;
    const r = rows[0]!;
    return {
      id: r.id as string,
      logIndex: num(r.log_index),
      probeKey: r.probe_key as string,
      signature: r.signature as string,
      scrubbed: r.scrubbed as boolean,
      receivedAt: new Date(num(r.received_ms)),
      late: r.late as boolean,
      uploadDelaySeconds: (r.upload_delay_seconds as number | null) ?? null,
      testName: (r.test_name as string | null) ?? null,
      input: (r.input as string | null) ?? null,
      probeCC: (r.probe_cc as string | null) ?? null,
      probeASN: (r.probe_asn as string | null) ?? null,
      derivedCC: (r.derived_cc as string | null) ?? null,
      derivedASN: r.derived_asn === null || r.derived_asn === undefined ? null : num(r.derived_asn),
      locationMismatch: r.location_mismatch as boolean,
      body: bodyLocation(r),
      entry: bytes(entries[0]!.entry),
    };
  }

  /**
   * Where the bodies the database refers to end: after the last measurement's body and its newline
   * (bodies are appended in log order); null when no measurement is stored.
   */
  async bodiesEnd(): Promise<BodyMark | null> {
    const rows = await this.query(
      'SELECT body_segment, body_offset, body_length FROM measurements ORDER BY log_index DESC LIMIT 1',
    );
    if (rows.length === 0) return null;
    const at = bodyLocation(rows[0]!);
    return { segment: at.segment, end: at.offset + at.length + 1 };
  }

  /** The record stored at a log index with its entry, or null when that index holds none. */
  async recordAt(logIndex: number): Promise<(RecordRow & { entry: Uint8Array }) | null> {
    const rows = await this.query(
      `SELECT r.log_index, r.kind, epoch_ms(r.received_at) AS received_ms, r.body, e.entry
         FROM records r JOIN log_entries e ON e.idx = r.log_index
        WHERE r.log_index = ${int(logIndex)} AND e.idx = ${int(logIndex)}`,
    );
    const r = rows[0];
    if (!r) return null;
    return {
      logIndex: num(r.log_index),
      kind: r.kind as string,
      receivedAt: new Date(num(r.received_ms)),
      body: r.body as string,
      entry: bytes(r.entry),
    };
  }

  /** Runs a read-only query on a given connection (for the integrity check). */
  async read(
    connection: DuckDBConnection,
    sql: string,
    params: unknown[] = [],
  ): Promise<Record<string, unknown>[]> {
    return (await this.query(sql, params, connection)) as Record<string, unknown>[];
  }

  close(): void {
    this.closeAppenders();
    this.reader.closeSync();
    this.writer.closeSync();
    this.instance.closeSync();
  }
}

/**
 * Databases written before measurement bodies moved to body files (body-files.ts) have a `body`
 * column; this version cannot read them, and says so rather than failing on a missing column.
 */
async function refuseOldLayout(c: DuckDBConnection, file: string): Promise<void> {
  const reader = await c.runAndReadAll(
    `SELECT count(*) AS n FROM information_schema.columns
      WHERE table_catalog = '${CATALOG}' AND table_name = 'measurements' AND column_name = 'body'`,
  );
  if (num(reader.getRowObjectsJS()[0]!.n) > 0) {
    throw new Error(
      `${file} keeps measurement bodies inside the database, as Pharos did before bodies moved to ${BODIES_DIR}/; this version cannot open it`,
    );
  }
}

function appendText(
  appender: { appendVarchar(v: string): void; appendNull(): void },
  value: string | null,
): void {
  if (value === null) appender.appendNull();
  else appender.appendVarchar(value);
}

async function insertCheckpoint(c: DuckDBConnection, cp: CheckpointRow): Promise<void> {
  const a = await c.createAppender('checkpoints');
  appendCheckpoint(a, cp);
  a.closeSync();
}

function appendCheckpoint(a: DuckDBAppender, cp: CheckpointRow): void {
  a.appendBigInt(BigInt(cp.size));
  a.appendBlob(cp.root);
  a.appendVarchar(cp.note);
  a.appendTimestamp(micros(cp.created));
  a.endRow();
}

interface Appenders {
  records: DuckDBAppender;
  measurements: DuckDBAppender;
  entries: DuckDBAppender;
  checkpoints: DuckDBAppender;
}

async function createAppenders(c: DuckDBConnection): Promise<Appenders> {
  return {
    records: await c.createAppender('records'),
    measurements: await c.createAppender('measurements'),
    entries: await c.createAppender('log_entries'),
    checkpoints: await c.createAppender('checkpoints'),
  };
}

/** The body location columns of a measurements row. */
export function bodyLocation(r: Record<string, unknown>): BodyLocation {
  return { segment: num(r.body_segment), offset: num(r.body_offset), length: num(r.body_length) };
}

function checkpointRow(r: Record<string, unknown>): CheckpointRow {
  return { size: num(r.size), root: bytes(r.root), note: r.note as string, created: r.created as Date };
}

export { bytes as toBytes, int as sqlInt, num as toNumber };
