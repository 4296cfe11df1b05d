/**
 * The integrity check: recompute everything the log vouches for from what is stored, and say in
 * plain words where anything disagrees. It reads the database (one consistent snapshot), the
 * body files and the tiles, and changes nothing, so it can run offline on a copy (`pharos check`)
 * or beside a live server (`verifyIntegrity()`).
 *
 * What it checks: the entries are numbered 0..n-1 with the right leaf hashes and format; every
 * measurement hashes to what its entry records (and its id, probe key, receive time and signature
 * agree), and so does every record (incident changes…); ids and indexes are unique; the tree rebuilt from the entries gives exactly the tiles
 * and entry bundles on disk and the root of every stored checkpoint (all signed by the log key),
 * so they are consistent with each other; the published checkpoint file is one of them.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import {
  bytesEqual,
  CompactTree,
  decodeEntryBundle,
  HASH_SIZE,
  type NoteVerifier,
  openCheckpoint,
  parseTilePath,
  TILE_WIDTH,
  tileWidth,
  toHex,
} from '@pharos/core';
import type { BodyReader } from './body-files.js';
import { bodyLocation, type EvidenceDatabase, sqlInt, toBytes, toNumber } from './database.js';
import {
  EntryFormatError,
  isRecordKind,
  type MeasurementEntry,
  parseLogEntry,
  type RecordEntry,
} from './entry.js';
import { leafHashOf, sha256Hex } from './hashing.js';
import { SignatureChecker } from './node-ed25519.js';
import { type TileData, TileEdge } from './tile-edge.js';
import { relativeTilePath, type TileFiles } from './tile-files.js';
import type { IntegrityOptions, IntegrityProblem, IntegrityReport } from './types.js';

export interface IntegritySource {
  db: EvidenceDatabase;
  /** Read connection, inside a transaction so every query sees the same snapshot. */
  connection: DuckDBConnection;
  files: TileFiles;
  /** The measurement bodies the database points into. */
  bodies: BodyReader;
  verifier: NoteVerifier;
  /** Check entries, measurements and checkpoints up to this size (the whole log when omitted). */
  treeSize?: number;
  /** Tree size the tiles on disk should cover (from the published checkpoint file when omitted). */
  tileTreeSize?: number;
  /** For a live log: its committed size now (files written since the check began are not extra). */
  currentSize?: () => number;
}

const CHUNK = 4096;

class Findings {
  readonly problems: IntegrityProblem[] = [];
  omitted = 0;
  readonly notes: string[] = [];
  constructor(private readonly max: number) {}
  add(where: string, problem: string): void {
    if (this.problems.length < this.max) this.problems.push({ where, problem });
    else this.omitted++;
  }
}

function short(id: string): string {
  return `${id.slice(0, 12)}…`;
}

export async function checkIntegrity(
  src: IntegritySource,
  options: IntegrityOptions = {},
): Promise<IntegrityReport> {
  const found = new Findings(options.maxProblems ?? 1000);
  const checkSignatures = options.signatures ?? true;
  const { db, connection: c, files } = src;
  const read = (sql: string, params: unknown[] = []) => db.read(c, sql, params);
  const checked = {
    entries: 0,
    measurements: 0,
    records: 0,
    signatures: 0,
    tiles: 0,
    entryBundles: 0,
    checkpoints: 0,
  };
  // A database written before records existed, opened read-only, has no records table.
  const [rt] = await read(
    "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'records' AND table_catalog = current_database()",
  );
  const hasRecords = toNumber(rt!.n) > 0;

  // --- Counts and uniqueness, in SQL over the whole tables.
  const [es] = await read(
    'SELECT count(*) AS n, count(DISTINCT idx) AS d, coalesce(min(idx), 0) AS lo, coalesce(max(idx), -1) AS hi FROM log_entries',
  );
  const entryCount = toNumber(es!.n);
  const contiguous =
    toNumber(es!.d) === entryCount && toNumber(es!.lo) === 0 && toNumber(es!.hi) === entryCount - 1;
  if (!contiguous) {
    found.add(
      'log entries',
      `${entryCount} rows with ${toNumber(es!.d)} distinct indexes from ${toNumber(es!.lo)} to ${toNumber(es!.hi)}; they must be numbered 0..${entryCount - 1} once each (entries were removed or duplicated)`,
    );
  }
  const treeSize = Math.min(src.treeSize ?? entryCount, entryCount);
  for (const r of await read(
    'SELECT id, list(log_index ORDER BY log_index) AS at FROM measurements GROUP BY id HAVING count(*) > 1 LIMIT 100',
  )) {
    found.add(
      `measurement ${short(r.id as string)}`,
      `stored more than once, at log indexes ${(r.at as unknown[]).map(toNumber).join(', ')}`,
    );
  }
  for (const r of await read(
    'SELECT log_index, count(*) AS n FROM measurements GROUP BY log_index HAVING count(*) > 1 ORDER BY log_index LIMIT 100',
  )) {
    found.add(`log index ${toNumber(r.log_index)}`, `${toNumber(r.n)} measurements claim this index`);
  }
  for (const r of await read(
    'SELECT id, log_index FROM measurements WHERE log_index < 0 OR log_index >= $1 ORDER BY log_index LIMIT 100',
    [BigInt(entryCount)],
  )) {
    found.add(
      `measurement ${short(r.id as string)}`,
      `has log index ${toNumber(r.log_index)}, outside the log (${entryCount} entries)`,
    );
  }

  if (hasRecords) {
    for (const r of await read(
      `SELECT log_index, count(*) AS n FROM (
         SELECT log_index FROM records UNION ALL SELECT log_index FROM measurements
       ) GROUP BY log_index HAVING count(*) > 1 ORDER BY log_index LIMIT 100`,
    )) {
      found.add(
        `log index ${toNumber(r.log_index)}`,
        `${toNumber(r.n)} records or measurements claim this index`,
      );
    }
    for (const r of await read(
      'SELECT log_index FROM records WHERE log_index < 0 OR log_index >= $1 ORDER BY log_index LIMIT 100',
      [BigInt(entryCount)],
    )) {
      found.add(`record at log index ${toNumber(r.log_index)}`, `is outside the log (${entryCount} entries)`);
    }
  }

  // --- The published checkpoint file decides what the tiles must cover.
  const published = await publishedCheckpoint(src, found);
  const tileTreeSize = Math.min(src.tileTreeSize ?? published?.size ?? 0, treeSize);
  if (published && published.size > entryCount) {
    found.add(
      'log/checkpoint',
      `covers ${published.size} entries, but the database holds only ${entryCount}: served entries were lost`,
    );
  }
  if (tileTreeSize < treeSize) {
    found.notes.push(
      `tiles were checked up to ${tileTreeSize} of ${treeSize} entries: the rest are committed but not yet published (the server writes them at its next start)`,
    );
  }

  const onDisk = new Set(await files.listTileFiles());
  const byDir = new Map<string, string[]>();
  for (const file of onDisk) {
    const dir = path.posix.dirname(file);
    byDir.set(dir, [...(byDir.get(dir) ?? []), file]);
  }
  const seen = new Set<string>();
  const compare = async (t: TileData) => {
    await compareTile(files, t, byDir, seen, found);
    if (t.level === 'entries') checked.entryBundles++;
    else checked.tiles++;
  };

  // --- Walk the log: entries, measurements, tree, tiles, checkpoints, chunk by chunk.
  const tree = new CompactTree();
  const edge = new TileEdge();
  const signatures = new SignatureChecker();
  const checkpoints = await read('SELECT size, root, note FROM checkpoints WHERE size <= $1 ORDER BY size', [
    BigInt(treeSize),
  ]);
  let nextCheckpoint = 0;
  const checkCheckpointsAt = (size: number) => {
    while (nextCheckpoint < checkpoints.length && toNumber(checkpoints[nextCheckpoint]!.size) <= size) {
      const row = checkpoints[nextCheckpoint++]!;
      checked.checkpoints++;
      checkCheckpoint(
        row,
        src.verifier,
        toNumber(row.size) === size && contiguous ? tree.root() : null,
        found,
      );
    }
  };
  checkCheckpointsAt(0);
  let tilesDone = tileTreeSize === 0;
  const partialsAt = async () => {
    for (const t of edge.partials()) await compare(t);
    tilesDone = true;
  };

  for (let from = 0; from < treeSize; from += CHUNK) {
    const to = Math.min(treeSize, from + CHUNK);
    const entries = await read(
      `SELECT idx, entry, leaf_hash FROM log_entries WHERE idx >= ${sqlInt(from)} AND idx < ${sqlInt(to)} ORDER BY idx`,
    );
    const measurements = new Map<number, Record<string, unknown>>();
    for (const m of await read(
      `SELECT id, log_index, probe_key, signature, scrubbed, epoch_ms(received_at) AS received_ms,
              body_segment, body_offset, body_length
         FROM measurements WHERE log_index >= ${sqlInt(from)} AND log_index < ${sqlInt(to)}`,
    )) {
      const at = toNumber(m.log_index);
      if (!measurements.has(at)) measurements.set(at, { ...m, body: await src.bodies.read(bodyLocation(m)) });
    }
    const records = new Map<number, Record<string, unknown>>();
    if (hasRecords) {
      for (const r of await read(
        `SELECT log_index, kind, epoch_ms(received_at) AS received_ms, body
           FROM records WHERE log_index >= ${sqlInt(from)} AND log_index < ${sqlInt(to)}`,
      )) {
        const at = toNumber(r.log_index);
        if (!records.has(at)) records.set(at, r);
      }
    }
    for (const row of entries) {
      const idx = toNumber(row.idx);
      const entry = toBytes(row.entry);
      checked.entries++;
      const leaf = leafHashOf(entry);
      if (!bytesEqual(leaf, toBytes(row.leaf_hash))) {
        found.add(`log entry ${idx}`, 'its stored leaf hash is not the hash of its bytes');
      }
      let parsed: MeasurementEntry | RecordEntry | null = null;
      try {
        parsed = parseLogEntry(Buffer.from(entry).toString('utf8'));
      } catch (err) {
        found.add(`log entry ${idx}`, err instanceof EntryFormatError ? err.message : String(err));
      }
      if (parsed && isRecordKind(parsed.kind)) {
        const r = records.get(idx);
        if (!r) found.add(`log entry ${idx}`, `has no stored ${parsed.kind} record`);
        else {
          checked.records++;
          checkRecord(r, idx, parsed as RecordEntry, found);
        }
      } else {
        const m = measurements.get(idx);
        if (!m) found.add(`log entry ${idx}`, 'has no stored measurement');
        else if (parsed) {
          checked.measurements++;
          if (checkMeasurement(m, idx, parsed as MeasurementEntry, checkSignatures, signatures, found))
            checked.signatures++;
        }
      }
      if (!contiguous) continue;
      edge.addLeaf(entry, tree.append(leaf));
      if (tree.size === tileTreeSize) await partialsAt();
      checkCheckpointsAt(tree.size);
    }
    // Completed tiles: compare those the published tree has; the rest are not on disk yet.
    for (const t of edge.completed) {
      if (tileWidth(t.level === 'entries' ? 0 : t.level, t.index, tileTreeSize) === TILE_WIDTH)
        await compare(t);
    }
    edge.drop(edge.completed);
  }
  if (!tilesDone && contiguous) await partialsAt();
  if (!contiguous)
    found.notes.push('the tree, tiles and checkpoint roots were not checked: the entries are not contiguous');

  // --- Files on disk that no tile of the log accounts for (a live log may have grown meanwhile).
  const size = Math.max(entryCount, src.currentSize?.() ?? 0);
  for (const file of onDisk) {
    if (seen.has(file)) continue;
    const parsed = parseTilePath(file);
    if (!parsed) {
      found.add(`log/${file}`, 'is not a tile or entry bundle path');
      continue;
    }
    const level = parsed.kind === 'entries' ? 0 : parsed.level;
    if (tileWidth(level, parsed.index, size) < parsed.width) {
      found.add(`log/${file}`, `is beyond the log (${size} entries)`);
    }
  }

  const latest = checkpoints.at(-1);
  if (contiguous && (!latest || toNumber(latest.size) !== treeSize)) {
    found.add(
      'checkpoints',
      `no stored checkpoint covers all ${treeSize} entries (the newest covers ${latest ? toNumber(latest.size) : 'none'})`,
    );
  }
  return {
    ok: found.problems.length === 0,
    treeSize,
    tileTreeSize,
    checked,
    problems: found.problems,
    problemsOmitted: found.omitted,
    notes: found.notes,
  };
}

async function publishedCheckpoint(src: IntegritySource, found: Findings): Promise<{ size: number } | null> {
  const text = await readFile(src.files.checkpointFile, 'utf8').catch(() => null);
  if (text === null) {
    found.add('log/checkpoint', 'is missing');
    return null;
  }
  const opened = openCheckpoint(text, src.verifier);
  if (!opened.ok) {
    found.add('log/checkpoint', `does not verify with the log key: ${opened.reason}`);
    return null;
  }
  const rows = await src.db.read(src.connection, 'SELECT note FROM checkpoints WHERE size = $1', [
    BigInt(opened.checkpoint.size),
  ]);
  if (rows.length === 0 || rows[0]!.note !== text) {
    found.add(
      'log/checkpoint',
      `is not the checkpoint stored in the database for size ${opened.checkpoint.size}`,
    );
  }
  return { size: opened.checkpoint.size };
}

function checkCheckpoint(
  row: Record<string, unknown>,
  verifier: NoteVerifier,
  root: Uint8Array | null,
  found: Findings,
): void {
  const size = toNumber(row.size);
  const where = `checkpoint of size ${size}`;
  const opened = openCheckpoint(row.note as string, verifier);
  if (!opened.ok) {
    found.add(where, `does not verify with the log key: ${opened.reason}`);
    return;
  }
  if (opened.checkpoint.size !== size || !bytesEqual(opened.checkpoint.rootHash, toBytes(row.root))) {
    found.add(where, 'its signed note does not match the size and root stored beside it');
  }
  if (root && !bytesEqual(root, opened.checkpoint.rootHash)) {
    found.add(
      where,
      `its root ${toHex(opened.checkpoint.rootHash)} is not the root of the first ${size} log entries (${toHex(root)}): the log is not consistent with this checkpoint`,
    );
  }
}

/** Checks one record against its entry. */
function checkRecord(r: Record<string, unknown>, idx: number, entry: RecordEntry, found: Findings): void {
  const where = `${entry.kind} record (log index ${idx})`;
  const bodyHash = sha256Hex(r.body as string);
  if (bodyHash !== entry.sha256) {
    found.add(
      where,
      `its stored body hashes to ${bodyHash}, but its log entry records ${entry.sha256}: the record was changed after it was logged`,
    );
  }
  if (r.kind !== entry.kind)
    found.add(where, `is stored as kind ${String(r.kind)}, its log entry says ${entry.kind}`);
  if (toNumber(r.received_ms) !== Date.parse(entry.received)) {
    found.add(
      where,
      `its receive time ${new Date(toNumber(r.received_ms)).toISOString()} is not the one its log entry records (${entry.received})`,
    );
  }
}

/** Checks one measurement against its entry; returns whether a signature was verified. */
function checkMeasurement(
  m: Record<string, unknown>,
  idx: number,
  entry: MeasurementEntry,
  checkSignatures: boolean,
  signatures: SignatureChecker,
  found: Findings,
): boolean {
  const id = m.id as string;
  const where = `measurement ${short(id)} (log index ${idx})`;
  const body = m.body as Buffer | string;
  const scrubbed = m.scrubbed as boolean;
  let bodyOk = true;
  const bodyHash = typeof body === 'string' ? null : sha256Hex(body);
  if (typeof body === 'string') {
    bodyOk = false;
    found.add(where, body);
  } else if (bodyHash !== entry.sha256) {
    bodyOk = false;
    found.add(
      where,
      `its stored body hashes to ${bodyHash}, but its log entry records ${entry.sha256}: the body was changed after it was logged`,
    );
  }
  if (!scrubbed && id !== entry.sha256)
    found.add(where, `its id is not the hash its log entry records (${entry.sha256})`);
  if (scrubbed !== entry.scrubbed)
    found.add(where, `is stored as ${scrubbed ? '' : 'not '}scrubbed, its log entry says otherwise`);
  if (m.probe_key !== entry.probe_key)
    found.add(where, `its probe key is not the one its log entry records (${entry.probe_key})`);
  if (toNumber(m.received_ms) !== Date.parse(entry.received)) {
    found.add(
      where,
      `its receive time ${new Date(toNumber(m.received_ms)).toISOString()} is not the one its log entry records (${entry.received})`,
    );
  }
  if (!checkSignatures || scrubbed || !bodyOk) return false;
  if (!signatures.verify(m.probe_key as string, m.signature as string, body as Buffer)) {
    found.add(where, 'its signature does not verify with its probe key');
  }
  return true;
}

/** Compares a tile computed from the entries with its file(s) on disk. */
async function compareTile(
  files: TileFiles,
  t: TileData,
  byDir: ReadonlyMap<string, string[]>,
  seen: Set<string>,
  found: Findings,
): Promise<void> {
  const rel = relativeTilePath(t.level, t.index, t.width);
  const what = t.level === 'entries' ? 'entry bundle' : 'tile';
  if (t.width === TILE_WIDTH) {
    seen.add(rel);
    const data = await files.readExact(t.level, t.index, t.width);
    if (!data) found.add(`log/${rel}`, `${what} is missing`);
    else {
      const diff = difference(t, data);
      if (diff) found.add(`log/${rel}`, diff);
    }
  }
  // Partial files at this position (the published one, or older widths not yet removed) must be
  // prefixes of what the entries give; wider ones than computed are compared as far as they go.
  const dir = path.posix.dirname(relativeTilePath(t.level, t.index, 1));
  let sawOwn = false;
  for (const file of byDir.get(`${dir}`) ?? []) {
    const width = Number(path.posix.basename(file));
    seen.add(file);
    if (!(width >= 1 && width < TILE_WIDTH)) continue;
    if (width === t.width) sawOwn = true;
    const data = await files.readExact(t.level, t.index, width);
    if (!data) continue; // removed since the listing: superseded
    // A wider file is a later partial (a live log grew while being checked): its prefix counts.
    const diff = difference(t, data, Math.min(width, t.width), width);
    if (diff) found.add(`log/${file}`, diff);
  }
  if (t.width < TILE_WIDTH && !sawOwn) {
    // The published partial may be served from a wider or complete file; only its absence matters.
    const data = await files.read(t.level, t.index, t.width);
    if (!data) found.add(`log/${rel}`, `${what} is missing`);
    else {
      const diff = difference(t, data);
      if (diff) found.add(`log/${rel}`, diff);
    }
  }
}

/**
 * How stored tile bytes differ from the computed ones (over the first `width` items), or null.
 * `fileWidth` is how many items the file should hold (its name's width).
 */
function difference(t: TileData, data: Uint8Array, width = t.width, fileWidth = t.width): string | null {
  if (t.level === 'entries') {
    let stored: Uint8Array[];
    try {
      stored = decodeEntryBundle(data);
    } catch (err) {
      return `entry bundle is malformed: ${(err as Error).message}`;
    }
    const computed = decodeEntryBundle(t.data);
    for (let i = 0; i < width; i++) {
      if (!stored[i]) return `entry bundle has ${stored.length} entries, expected ${width}`;
      if (!bytesEqual(stored[i]!, computed[i]!)) {
        return `entry ${t.index * TILE_WIDTH + i} in this bundle differs from log entry ${t.index * TILE_WIDTH + i} in the database`;
      }
    }
    if (width === t.width && stored.length !== fileWidth)
      return `entry bundle has ${stored.length} entries, expected ${fileWidth}`;
    return null;
  }
  const expectedLength = fileWidth * HASH_SIZE;
  if (width === t.width && data.length !== expectedLength) {
    return `tile has ${data.length} bytes, expected ${expectedLength} (${fileWidth} hashes)`;
  }
  for (let i = 0; i < width; i++) {
    const a = data.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
    if (a.length < HASH_SIZE || !bytesEqual(a, t.data.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE))) {
      return `hash ${i} of ${t.width} differs from the one computed from the log entries`;
    }
  }
  return null;
}
