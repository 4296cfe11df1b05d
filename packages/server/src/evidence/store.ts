/**
 * openEvidenceStore: the evidence store of one data directory. Composes the database (source of
 * truth) and the body files it points into, the sequencer (the one writer), the publisher (tiles
 * and checkpoint on disk, then served) and the read side (measurements, tiles, proofs, integrity).
 * See docs/evidence-log.md.
 */
import { mkdir, realpath } from 'node:fs/promises';
import {
  decodeEntryBundle,
  encodeEntryBundle,
  formatTlogProof,
  HASH_SIZE,
  MAX_TILE_LEVEL,
  type NoteVerifier,
  TILE_WIDTH,
  tileWidth,
} from '@pharos/core';
import { BodyFiles } from './body-files.js';
import { EvidenceDatabase } from './database.js';
import { IdIndex } from './id-index.js';
import { checkIntegrity } from './integrity.js';
import { loadOrCreateLogKey } from './log-key.js';
import { consistencyProofFromTiles, inclusionProofFromTiles } from './proofs.js';
import { Publisher } from './publisher.js';
import { recoverLog, sweepPartials } from './recovery.js';
import { Sequencer } from './sequencer.js';
import { TileFiles, type TileLevel } from './tile-files.js';
import {
  type AppendResult,
  type EvidenceLogger,
  EvidenceRangeError,
  type EvidenceStore,
  type IncomingMeasurement,
  type IntegrityOptions,
  type IntegrityReport,
  type StoredMeasurement,
  type StoredRecord,
} from './types.js';

export interface EvidenceStoreOptions {
  /** Directory holding pharos.duckdb, keys/ and log/; created when missing. */
  dataDir: string;
  /** The log's origin (checkpoint first line, key name). Default `pharos.local/log`; fixed at creation. */
  origin?: string;
  /** A measurement received more than this after it ended is late. Default 5 minutes. */
  lateAfterMs?: number;
  logger?: EvidenceLogger;
  /** DuckDB's checkpoint_threshold (WAL size that triggers a database checkpoint). Default 256MB. */
  checkpointThreshold?: string;
}

const DEFAULT_LATE_AFTER_MS = 5 * 60 * 1000;
const ID_PATTERN = /^[0-9a-f]{64}$/;
const PROOF_WAIT_MS = 10_000;

const silent: EvidenceLogger = { info() {}, warn() {}, error() {} };

/**
 * Data directories open in this process. DuckDB's file lock is per process (fcntl), so it would
 * not stop a second store here from opening the same files; two sequencers would fork the log.
 */
const openDirs = new Set<string>();

function checkCount(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new EvidenceRangeError(`${what} must be a non-negative integer, got ${n}`);
}

export async function openEvidenceStore(options: EvidenceStoreOptions): Promise<EvidenceStore> {
  const logger = options.logger ?? silent;
  await mkdir(options.dataDir, { recursive: true });
  const dataDir = await realpath(options.dataDir);
  if (openDirs.has(dataDir))
    throw new Error(`the evidence store in ${dataDir} is already open in this process`);
  openDirs.add(dataDir);
  let db: EvidenceDatabase;
  let bodies: BodyFiles | undefined;
  try {
    db = await EvidenceDatabase.open(dataDir, { checkpointThreshold: options.checkpointThreshold });
  } catch (err) {
    openDirs.delete(dataDir);
    const message = (err as Error).message;
    if (/lock/i.test(message)) {
      throw new Error(
        `the evidence database in ${dataDir} is in use by another process; stop it first (${message})`,
      );
    }
    throw err;
  }
  try {
    bodies = await BodyFiles.open(dataDir, await db.bodiesEnd());
    const key = await loadOrCreateLogKey(dataDir, options.origin, (message) => logger.warn({}, message));
    const files = new TileFiles(dataDir);
    const recovered = await recoverLog(db, files, key, logger);
    const ids = new IdIndex(recovered.tree.size);
    for (let from = 0; from < recovered.tree.size; from += 100_000) {
      for (const r of await db.ids(from, from + 100_000)) ids.add(r.id, r.logIndex);
    }
    const state = {
      db,
      bodies,
      key,
      tree: recovered.tree,
      edge: recovered.edge,
      ids,
      checkpoint: recovered.checkpoint,
    };
    let publisher: Publisher | undefined;
    const sequencer = new Sequencer(
      state,
      options.lateAfterMs ?? DEFAULT_LATE_AFTER_MS,
      () => publisher?.schedule(),
      logger,
    );
    publisher = new Publisher(
      files,
      recovered.edge,
      () => ({ size: state.tree.size, checkpoint: state.checkpoint }),
      logger,
    );
    await publisher.publishNow();
    await sweepPartials(files, recovered.tilesFrom, state.tree.size);
    logger.info({ origin: key.origin, size: state.tree.size, dataDir }, 'evidence log open');
    return new Store(
      dataDir,
      db,
      bodies,
      key.origin,
      key.vkey,
      key.verifier,
      files,
      ids,
      sequencer,
      publisher,
    );
  } catch (err) {
    await bodies?.close();
    db.close();
    openDirs.delete(dataDir);
    throw err;
  }
}

class Store implements EvidenceStore {
  private closing: Promise<void> | null = null;

  constructor(
    readonly dataDir: string,
    private readonly db: EvidenceDatabase,
    private readonly bodies: BodyFiles,
    readonly origin: string,
    readonly vkey: string,
    private readonly verifier: NoteVerifier,
    private readonly files: TileFiles,
    private readonly ids: IdIndex,
    private readonly sequencer: Sequencer,
    private readonly publisher: Publisher,
  ) {}

  append(batch: readonly IncomingMeasurement[]): Promise<AppendResult[]> {
    if (this.closing) return Promise.reject(new Error('the evidence store is closed'));
    return this.sequencer.append(batch);
  }

  checkpoint(): string {
    return this.publisher.state.checkpoint;
  }

  treeSize(): number {
    return this.publisher.state.size;
  }

  async tile(level: number, index: number, width = TILE_WIDTH): Promise<Uint8Array | null> {
    if (!Number.isInteger(level) || level < 0 || level > MAX_TILE_LEVEL) {
      throw new EvidenceRangeError(`tile level must be 0..${MAX_TILE_LEVEL}, got ${level}`);
    }
    return this.readTile(level, index, width);
  }

  async entryBundle(index: number, width = TILE_WIDTH): Promise<Uint8Array | null> {
    return this.readTile('entries', index, width);
  }

  /**
   * A tile of the published tree: the rightmost (partial) ones from memory, complete ones from
   * disk. Any narrower width of a tile is its prefix, so old `.p/W` requests are answered too.
   */
  private async readTile(level: TileLevel, index: number, width: number): Promise<Uint8Array | null> {
    checkCount('tile index', index);
    if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) {
      throw new EvidenceRangeError(`tile width must be 1..${TILE_WIDTH}, got ${width}`);
    }
    const published = this.publisher.state;
    const available = tileWidth(level === 'entries' ? 0 : level, index, published.size);
    if (available < width) return null;
    let data: Uint8Array | null;
    if (available < TILE_WIDTH) {
      const partial = published.partials.get(level);
      data = partial && partial.index === index ? partial.data : null;
    } else {
      data = await this.files.readExact(level, index, TILE_WIDTH);
    }
    if (!data) return null;
    if (level === 'entries')
      return width === available ? data : encodeEntryBundle(decodeEntryBundle(data).slice(0, width));
    return data.subarray(0, width * HASH_SIZE);
  }

  private readHashTile = async (level: number, index: number, width: number) =>
    this.readTile(level, index, width);

  private async findIndex(id: string): Promise<number | null> {
    const candidates = this.ids.candidates(id);
    if (candidates.length === 0) return null;
    for (const r of await this.db.idsAt(candidates)) if (r.id === id) return r.logIndex;
    return null;
  }

  async getMeasurement(id: string): Promise<StoredMeasurement | null> {
    if (!ID_PATTERN.test(id)) throw new EvidenceRangeError('a measurement id is 64 lower-case hex digits');
    const m = await this.db.measurementWithId(id, this.ids.candidates(id));
    if (!m) return null;
    const body = await this.bodies.read(m.body);
    if (typeof body === 'string') throw new Error(`measurement ${id} (log index ${m.logIndex}): ${body}`);
    return {
      id: m.id,
      measurement: JSON.parse(body.toString('utf8')) as Record<string, unknown>,
      probe_key: m.probeKey,
      signature: m.signature,
      log_index: m.logIndex,
      entry: Buffer.from(m.entry).toString('utf8'),
      received: m.receivedAt.toISOString(),
      late: m.late,
      upload_delay_seconds: m.uploadDelaySeconds,
      scrubbed: m.scrubbed,
      network: {
        derived_cc: m.derivedCC,
        derived_asn: m.derivedASN,
        claimed_cc: m.probeCC,
        claimed_asn: m.probeASN,
        location_mismatch: m.locationMismatch,
      },
    };
  }

  appendRecord(
    kind: 'incident',
    body: Record<string, unknown>,
  ): Promise<{ log_index: number; sha256: string }> {
    if (this.closing) return Promise.reject(new Error('the evidence store is closed'));
    return this.sequencer.appendRecord(kind, body);
  }

  async getRecord(logIndex: number): Promise<StoredRecord | null> {
    checkCount('log index', logIndex);
    if (logIndex >= this.sequencer.committedSize) return null;
    const r = await this.db.recordAt(logIndex);
    if (!r) return null;
    const entry = Buffer.from(r.entry).toString('utf8');
    return {
      kind: r.kind,
      log_index: r.logIndex,
      record: JSON.parse(r.body) as Record<string, unknown>,
      sha256: (JSON.parse(entry) as { sha256: string }).sha256,
      entry,
      received: r.receivedAt.toISOString(),
    };
  }

  async recordProof(logIndex: number): Promise<string | null> {
    checkCount('log index', logIndex);
    if (logIndex >= this.sequencer.committedSize) return null;
    const record = await this.db.recordAt(logIndex);
    if (!record) return null;
    await this.publisher.waitForSize(logIndex + 1, PROOF_WAIT_MS);
    const { size, checkpoint } = this.publisher.state;
    const hashes = await inclusionProofFromTiles(logIndex, size, this.readHashTile);
    return formatTlogProof({ extra: record.entry, index: logIndex, hashes, checkpoint });
  }

  async inclusionProof(logIndex: number, treeSize?: number): Promise<Uint8Array[]> {
    const published = this.publisher.state.size;
    const size = treeSize ?? published;
    checkCount('tree size', size);
    checkCount('log index', logIndex);
    if (size > published)
      throw new EvidenceRangeError(`tree size ${size} is beyond the published log (size ${published})`);
    if (logIndex >= size)
      throw new EvidenceRangeError(`log index ${logIndex} is not in a tree of size ${size}`);
    return inclusionProofFromTiles(logIndex, size, this.readHashTile);
  }

  async consistencyProof(size1: number, size2?: number): Promise<Uint8Array[]> {
    const published = this.publisher.state.size;
    const to = size2 ?? published;
    checkCount('size1', size1);
    checkCount('size2', to);
    if (to > published)
      throw new EvidenceRangeError(`size ${to} is beyond the published log (size ${published})`);
    if (size1 > to) throw new EvidenceRangeError(`size1 ${size1} is larger than size2 ${to}`);
    // Every tree extends the empty one: nothing to prove (core refuses to prove from size 0).
    if (size1 === 0) return [];
    return consistencyProofFromTiles(size1, to, this.readHashTile);
  }

  async tlogProof(id: string): Promise<string | null> {
    if (!ID_PATTERN.test(id)) throw new EvidenceRangeError('a measurement id is 64 lower-case hex digits');
    const logIndex = await this.findIndex(id);
    if (logIndex === null) return null;
    // Committed moments ago, maybe not yet in a published checkpoint.
    await this.publisher.waitForSize(logIndex + 1, PROOF_WAIT_MS);
    const [entry] = await this.db.entries(logIndex, logIndex + 1);
    const { size, checkpoint } = this.publisher.state;
    const hashes = await inclusionProofFromTiles(logIndex, size, this.readHashTile);
    return formatTlogProof({ extra: entry!.entry, index: logIndex, hashes, checkpoint });
  }

  async verifyIntegrity(options: IntegrityOptions = {}): Promise<IntegrityReport> {
    const release = this.publisher.holdRemovals();
    const connection = await this.db.connect();
    try {
      // One read transaction: every query sees the same snapshot while commits go on.
      await connection.run('BEGIN TRANSACTION');
      const { size } = this.publisher.state;
      return await checkIntegrity(
        {
          db: this.db,
          connection,
          files: this.files,
          bodies: this.bodies,
          verifier: this.verifier,
          treeSize: size,
          tileTreeSize: size,
          currentSize: () => this.sequencer.committedSize,
        },
        options,
      );
    } finally {
      await connection.run('ROLLBACK').catch(() => {});
      connection.closeSync();
      release();
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.sequencer.close();
        await this.publisher.close();
      } finally {
        await this.bodies.close();
        this.db.close();
        openDirs.delete(this.dataDir);
      }
    })();
    return this.closing;
  }
}
