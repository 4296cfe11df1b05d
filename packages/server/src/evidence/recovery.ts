/**
 * Startup: bring the in-memory tree, the tiles on disk and the served checkpoint back in line with
 * the database, which is the source of truth. After a crash the database may hold entries the
 * tiles do not cover yet (committed, not yet published); those tiles are computed from the entries.
 * Tiles that are missing or do not lead to the published checkpoint's root are rebuilt from all
 * entries. What cannot be repaired safely stops the start with a reason: signing a new checkpoint
 * over changed or lost entries would make the log contradict checkpoints it already served.
 */
import { readFile } from 'node:fs/promises';
import {
  bytesEqual,
  CompactTree,
  emptyRoot,
  hashesAtTileLevel,
  openCheckpoint,
  rangeSubtrees,
  signCheckpoint,
  TILE_WIDTH,
  toHex,
} from '@pharos/core';
import type { CheckpointRow, EvidenceDatabase } from './database.js';
import { DurableWriter } from './durable-file.js';
import { leafHashOf } from './hashing.js';
import type { LogKey } from './log-key.js';
import { borderFromTiles } from './proofs.js';
import { TileEdge } from './tile-edge.js';
import { relativeTilePath, type TileFiles } from './tile-files.js';
import type { EvidenceLogger } from './types.js';

/** The log cannot be started safely; the message says why and what to do. */
export class RecoveryError extends Error {
  constructor(message: string) {
    super(`${message} (run "pharos check --data DIR" for a full report)`);
    this.name = 'RecoveryError';
  }
}

export interface RecoveredLog {
  tree: CompactTree;
  edge: TileEdge;
  checkpoint: string;
  /** Tree size the tiles on disk covered before recovery (0 when rebuilt from scratch). */
  tilesFrom: number;
}

const CHUNK = 8192;

export async function recoverLog(
  db: EvidenceDatabase,
  files: TileFiles,
  key: LogKey,
  logger: EvidenceLogger,
): Promise<RecoveredLog> {
  const stats = await db.entryStats();
  if (stats.count > 0 && (stats.minIdx !== 0 || stats.maxIdx !== stats.count - 1)) {
    throw new RecoveryError(
      `the log entries are not numbered 0..${stats.count - 1} (they run ${stats.minIdx}..${stats.maxIdx}): entries were removed or duplicated`,
    );
  }
  const latest = await newestCheckpoint(db, key, stats.count);

  const base = await tilesOnDisk(db, files, key, stats.count, logger);
  const tree = base.tree;
  const edge = base.edge;
  const rebuilding = tree.size === 0 && stats.count > 0;
  let rewritten = 0;
  for (let from = tree.size; from < stats.count; from += CHUNK) {
    for (const row of await db.entries(from, Math.min(stats.count, from + CHUNK))) {
      const leaf = leafHashOf(row.entry);
      if (!bytesEqual(leaf, row.leafHash)) {
        throw new RecoveryError(`log entry ${row.idx}: its stored leaf hash does not match its bytes`);
      }
      edge.addLeaf(row.entry, tree.append(leaf));
    }
    // Write completed tiles as we go, so a rebuild of a large log does not hold them all in memory.
    rewritten += await writeCompleted(files, edge, rebuilding);
  }
  if (rewritten > 0) {
    logger.warn({ rewritten }, 'tiles on disk differed from the log entries and were rewritten from them');
  }
  if (!bytesEqual(tree.root(), latest.root)) {
    throw new RecoveryError(
      `the ${stats.count} log entries give root ${toHex(tree.root())}, but the newest checkpoint (size ${latest.size}) has root ${toHex(latest.root)}: entries or checkpoints were changed`,
    );
  }
  return { tree, edge, checkpoint: latest.note, tilesFrom: base.size };
}

/** The newest stored checkpoint, checked; at the first start, the empty tree's, signed and stored. */
async function newestCheckpoint(db: EvidenceDatabase, key: LogKey, count: number): Promise<CheckpointRow> {
  let latest = await db.latestCheckpoint();
  if (!latest) {
    if (count > 0) throw new RecoveryError(`the database holds ${count} log entries but no checkpoint`);
    const root = emptyRoot();
    const note = signCheckpoint({ origin: key.origin, size: 0, rootHash: root }, [key.noteSigner]);
    latest = { size: 0, root, note, created: new Date() };
    await db.storeCheckpoint(latest);
  }
  const opened = openCheckpoint(latest.note, key.verifier);
  if (!opened.ok) throw new RecoveryError(`the newest stored checkpoint does not verify: ${opened.reason}`);
  if (opened.checkpoint.size !== latest.size || !bytesEqual(opened.checkpoint.rootHash, latest.root)) {
    throw new RecoveryError(`the newest stored checkpoint's note does not match its size and root columns`);
  }
  if (latest.size !== count) {
    throw new RecoveryError(
      `the newest checkpoint covers ${latest.size} entries but the database holds ${count}`,
    );
  }
  return latest;
}

/**
 * Where the tiles on disk can be trusted up to: the size of the published checkpoint file, when
 * the tiles lead to its root. Otherwise nothing (rebuild). A published checkpoint that the
 * database does not back is fatal: it was served, and the database has lost what it covered.
 */
async function tilesOnDisk(
  db: EvidenceDatabase,
  files: TileFiles,
  key: LogKey,
  count: number,
  logger: EvidenceLogger,
): Promise<{ size: number; tree: CompactTree; edge: TileEdge }> {
  const empty = { size: 0, tree: new CompactTree(), edge: new TileEdge() };
  const text = await readFile(files.checkpointFile, 'utf8').catch(() => null);
  if (text === null) {
    if (count > 0) logger.warn({}, 'no published checkpoint file; rebuilding the tiles from the log entries');
    return empty;
  }
  const opened = openCheckpoint(text, key.verifier);
  if (!opened.ok) {
    logger.warn(
      { reason: opened.reason },
      'the published checkpoint file does not verify; rebuilding the tiles',
    );
    return empty;
  }
  const size = opened.checkpoint.size;
  if (size > count) {
    throw new RecoveryError(
      `the published checkpoint covers ${size} entries but the database holds only ${count}: entries that were served have been lost; restore the database before restarting, or the log would contradict itself`,
    );
  }
  const stored = await db.checkpointAt(size);
  if (!stored || !bytesEqual(stored.root, opened.checkpoint.rootHash)) {
    throw new RecoveryError(
      `the published checkpoint (size ${size}) is not the one stored in the database for that size: it was changed, or the database is not this log's`,
    );
  }
  if (size === 0) return empty;
  try {
    const read = (level: number, index: number, width: number) => files.read(level, index, width);
    const border = await borderFromTiles(size, read, rangeSubtrees(0, size));
    const tree = new CompactTree(size, border);
    if (!bytesEqual(tree.root(), stored.root)) throw new Error('the tiles do not lead to its root');
    const partials: Uint8Array[][] = [];
    for (let level = 0; hashesAtTileLevel(level, size) > 0; level++) {
      const n = hashesAtTileLevel(level, size);
      const width = n % TILE_WIDTH;
      const data = width === 0 ? new Uint8Array(0) : await read(level, Math.floor(n / TILE_WIDTH), width);
      if (!data)
        throw new Error(`tile ${relativeTilePath(level, Math.floor(n / TILE_WIDTH), width)} is missing`);
      partials[level] = Array.from({ length: width }, (_, i) => data.slice(i * 32, i * 32 + 32));
    }
    const first = size - (size % TILE_WIDTH);
    const bundle = (await db.entries(first, size)).map((r) => r.entry);
    // These entries go into the bundle published next: they must be the ones the tiles commit to.
    for (const [i, entry] of bundle.entries()) {
      if (!bytesEqual(leafHashOf(entry), partials[0]![i]!)) {
        throw new RecoveryError(
          `log entry ${first + i} is not the entry the published log holds at that index (its hash differs from ${relativeTilePath(0, first / TILE_WIDTH, size % TILE_WIDTH)}): it was changed after it was published`,
        );
      }
    }
    return { size, tree, edge: new TileEdge(size, partials, bundle) };
  } catch (err) {
    if (err instanceof RecoveryError) throw err;
    logger.warn(
      { size, reason: (err as Error).message },
      'the tiles on disk do not match the published checkpoint; rebuilding them from the log entries',
    );
    return empty;
  }
}

/**
 * Writes the tiles and bundles the edge completed and forgets them. When rebuilding, files that are
 * already right are left alone; returns how many existing files had to be replaced.
 */
async function writeCompleted(files: TileFiles, edge: TileEdge, rebuilding: boolean): Promise<number> {
  const writer = new DurableWriter();
  const completed = [...edge.completed];
  let replaced = 0;
  await Promise.all(
    completed.map(async (t) => {
      if (rebuilding) {
        const existing = await files.readExact(t.level, t.index, t.width);
        if (existing && Buffer.from(existing).equals(t.data)) return;
        if (existing) replaced++;
      }
      await writer.write(files.file(relativeTilePath(t.level, t.index, t.width)), t.data);
    }),
  );
  await writer.commit();
  edge.drop(completed);
  return replaced;
}

/**
 * Removes partial files left from before a crash (written for a size that was never published,
 * or superseded but not yet removed) around the right edge, keeping the ones now published.
 */
export async function sweepPartials(files: TileFiles, fromSize: number, toSize: number): Promise<void> {
  const sweep = async (level: number | 'entries', before: number, after: number) => {
    const keepIndex = Math.floor(after / TILE_WIDTH);
    const keepWidth = after % TILE_WIDTH;
    for (let index = Math.floor(before / TILE_WIDTH); index <= keepIndex; index++) {
      for (const width of await files.partialWidths(level, index)) {
        if (index !== keepIndex || width !== keepWidth) await files.removePartial(level, index, width);
      }
    }
  };
  await sweep('entries', fromSize, toSize);
  for (let level = 0; hashesAtTileLevel(level, toSize) > 0; level++) {
    await sweep(level, hashesAtTileLevel(level, fromSize), hashesAtTileLevel(level, toSize));
  }
}
