/**
 * The signals database: embedded DuckDB in DATA_DIR/signals.duckdb, beside the evidence database.
 * It holds what detection reads and can be rebuilt from its sources (stored measurements, beacons,
 * MRT files, imported series): signal points, beacon arrivals and measurement outcomes. Kept apart
 * from pharos.duckdb so that detection's writes and analytical reads never queue behind the
 * evidence log's group commits.
 *
 * Each module creates its own tables (CREATE TABLE IF NOT EXISTS) through `run`.
 */
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';
import { Serial } from '../serial.js';

export const SIGNALS_DATABASE_FILE = 'signals.duckdb';

type Params = Record<string, DuckDBValue> | DuckDBValue[];

export class SignalsDatabase {
  private readonly writes = new Serial();
  private readonly reads = new Serial();
  private closed = false;
  private readonly created = new Map<string, Promise<void>>();

  private constructor(
    readonly file: string,
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private readonly reader: DuckDBConnection,
  ) {}

  /** Opens (creating if needed) DATA_DIR/signals.duckdb, or an in-memory database for `:memory:`. */
  static async open(dataDir: string | ':memory:'): Promise<SignalsDatabase> {
    const file = dataDir === ':memory:' ? ':memory:' : path.join(dataDir, SIGNALS_DATABASE_FILE);
    const instance = await DuckDBInstance.create(file);
    const writer = await instance.connect();
    const reader = await instance.connect();
    return new SignalsDatabase(file, instance, writer, reader);
  }

  /**
   * Runs a table's CREATE TABLE IF NOT EXISTS once per database object: the modules that own a
   * table call this before each use, and only the first call costs a statement.
   */
  ensure(ddl: string): Promise<void> {
    let done = this.created.get(ddl);
    if (!done) {
      done = this.run(ddl);
      done.catch(() => this.created.delete(ddl));
      this.created.set(ddl, done);
    }
    return done;
  }

  /** A statement that changes something (one at a time, in order). */
  run(sql: string, params?: Params): Promise<void> {
    return this.writes.run(async () => {
      await this.writer.run(sql, params as never);
    });
  }

  /** Several statements in one transaction: all of them or none. */
  transaction(work: (run: (sql: string, params?: Params) => Promise<void>) => Promise<void>): Promise<void> {
    return this.writes.run(async () => {
      await this.writer.run('BEGIN TRANSACTION');
      try {
        await work(async (sql, params) => {
          await this.writer.run(sql, params as never);
        });
        await this.writer.run('COMMIT');
      } catch (err) {
        await this.writer.run('ROLLBACK').catch(() => {});
        throw err;
      }
    });
  }

  /** A query's rows as plain JS objects (BIGINT as bigint is converted to number where safe by the caller). */
  all<T = Record<string, unknown>>(sql: string, params?: Params): Promise<T[]> {
    return this.reads.run(async () => {
      const reader = await this.reader.runAndReadAll(sql, params as never);
      return reader.getRowObjectsJS() as T[];
    });
  }

  /**
   * Appends many rows to a table fast (DuckDB's appender); rows in the table's column order. In a
   * transaction of its own: an appender outside one commits when it flushes, synchronously, so the
   * main thread would wait for the WAL's fsync; COMMIT runs on libuv's pool instead.
   */
  append(table: string, rows: readonly DuckDBValue[][]): Promise<void> {
    return this.writes.run(async () => {
      if (rows.length === 0) return;
      await this.writer.run('BEGIN TRANSACTION');
      try {
        const appender = await this.writer.createAppender(table);
        try {
          for (const row of rows) {
            for (const value of row) appendValue(appender, value);
            appender.endRow();
          }
        } finally {
          appender.closeSync();
        }
        await this.writer.run('COMMIT');
      } catch (err) {
        await this.writer.run('ROLLBACK').catch(() => {});
        throw err;
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writes.run(async () => {});
    await this.reads.run(async () => {});
    this.writer.closeSync();
    this.reader.closeSync();
    this.instance.closeSync();
  }
}

type Appender = Awaited<ReturnType<DuckDBConnection['createAppender']>>;

function appendValue(appender: Appender, value: DuckDBValue): void {
  if (value === null) appender.appendNull();
  else if (typeof value === 'string') appender.appendVarchar(value);
  else if (typeof value === 'number')
    Number.isInteger(value) ? appender.appendBigInt(BigInt(value)) : appender.appendDouble(value);
  else if (typeof value === 'bigint') appender.appendBigInt(value);
  else if (typeof value === 'boolean') appender.appendBoolean(value);
  else throw new TypeError(`cannot append a value of type ${typeof value}`);
}
