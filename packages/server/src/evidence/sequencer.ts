/**
 * The sequencer: the one writer of the log. Appends wait in a queue; each turn takes whatever
 * arrived meanwhile (group commit, up to MAX_GROUP_ROWS rows), drops the measurements already
 * stored, numbers the new ones, extends a copy of the tree, signs the checkpoint of the new size,
 * writes the new bodies to the body files (durably), and then commits rows, entries and checkpoint
 * in one transaction. The next group is staged (numbered, bodies written) while one commits.
 * Only after its commit does any caller hear back, and only then does the in-memory tree move.
 */
import { CompactTree, canonicalJSON, signCheckpoint } from '@pharos/core';
import type { BodyFiles, BodyMark } from './body-files.js';
import type { CheckpointRow, EntryRow, EvidenceDatabase, MeasurementRow, RecordRow } from './database.js';
import { formatMeasurementEntry, formatRecordEntry, isRecordKind, type RecordKind } from './entry.js';
import { leafHashOf, sha256Hex } from './hashing.js';
import type { IdIndex } from './id-index.js';
import type { LogKey } from './log-key.js';
import { measurementRow } from './measurement-record.js';
import type { TileEdge } from './tile-edge.js';
import type { AppendResult, EvidenceLogger, IncomingMeasurement } from './types.js';

/** Most rows in one commit; a single append larger than this still commits whole. */
export const MAX_GROUP_ROWS = 4096;
/** Most body bytes in one commit. */
export const MAX_GROUP_BYTES = 64 * 1024 * 1024;

/** An append refused before anything was stored: the caller passed something that is not evidence. */
export class EvidenceInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvidenceInputError';
  }
}

/** A measurement checked and hashed at append time, so a bad batch fails alone. */
interface Prepared {
  row: Omit<MeasurementRow, 'logIndex' | 'body'>;
  /** The stored canonical JSON's bytes. */
  body: Uint8Array;
  entry: Uint8Array;
  leaf: Uint8Array;
}

/** A record (an incident's state change…) checked, canonicalized and hashed at append time. */
interface PreparedRecord {
  row: Omit<RecordRow, 'logIndex'>;
  sha256: string;
  entry: Uint8Array;
  leaf: Uint8Array;
}

export interface RecordAppendResult {
  log_index: number;
  /** Lower-case hex SHA-256 of the record's canonical JSON (what its entry records). */
  sha256: string;
}

/** Most bytes of one record's canonical JSON. */
export const MAX_RECORD_BYTES = 1024 * 1024;

type Waiting =
  | {
      items: Prepared[];
      record?: undefined;
      bytes: number;
      resolve(results: AppendResult[]): void;
      reject(err: unknown): void;
    }
  | {
      items?: undefined;
      record: PreparedRecord;
      bytes: number;
      resolve(result: RecordAppendResult): void;
      reject(err: unknown): void;
    };

function rowsOf(w: Waiting): number {
  return w.items ? w.items.length : 1;
}

function prepareRecord(kind: string, body: Record<string, unknown>, receivedAt: Date): PreparedRecord {
  if (!isRecordKind(kind)) throw new EvidenceInputError(`record kind ${JSON.stringify(kind)} is not known`);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new EvidenceInputError('a record body is a JSON object');
  }
  let text: string;
  try {
    text = canonicalJSON(body);
  } catch (err) {
    throw new EvidenceInputError(`the record cannot be put in canonical JSON: ${(err as Error).message}`);
  }
  const size = Buffer.byteLength(text, 'utf8');
  if (size > MAX_RECORD_BYTES) {
    throw new EvidenceInputError(`the record's canonical JSON is ${size} bytes, above ${MAX_RECORD_BYTES}`);
  }
  const sha256 = sha256Hex(text);
  const entry = new Uint8Array(
    Buffer.from(formatRecordEntry({ kind: kind as RecordKind, sha256, received: receivedAt }), 'utf8'),
  );
  return { row: { kind, receivedAt, body: text }, sha256, entry, leaf: leafHashOf(entry) };
}

const HEX_ID = /^[0-9a-f]{64}$/;
const BASE64_KEY = /^[A-Za-z0-9+/]{43}=$/;
const BASE64_SIGNATURE = /^[A-Za-z0-9+/]{86}==$/;

function prepare(item: IncomingMeasurement, position: number, lateAfterMs: number): Prepared {
  const where = `batch[${position}]`;
  if (typeof item.id !== 'string' || !HEX_ID.test(item.id)) {
    throw new EvidenceInputError(`${where}: id is not 64 lower-case hex digits`);
  }
  if (!(item.body instanceof Uint8Array)) throw new EvidenceInputError(`${where}: body is not bytes`);
  if (!BASE64_KEY.test(item.probeKey))
    throw new EvidenceInputError(`${where}: probeKey is not base64 of 32 bytes`);
  if (!BASE64_SIGNATURE.test(item.signature)) {
    throw new EvidenceInputError(`${where}: signature is not base64 of 64 bytes`);
  }
  if (!(item.receivedAt instanceof Date) || Number.isNaN(item.receivedAt.getTime())) {
    throw new EvidenceInputError(`${where}: receivedAt is not a valid Date`);
  }
  const body = item.body;
  // The id is the hash of these bytes unless they were scrubbed: the collector computed it from
  // them (pharos check confirms every stored body against its entry).
  const sha256 = item.scrubbed ? sha256Hex(body) : item.id;
  const entryText = formatMeasurementEntry({
    sha256,
    probeKey: item.probeKey,
    received: item.receivedAt,
    scrubbed: item.scrubbed,
  });
  const entry = new Uint8Array(Buffer.from(entryText, 'utf8'));
  return { row: measurementRow(item, lateAfterMs), body, entry, leaf: leafHashOf(entry) };
}

/** A group numbered and with its bodies written, ready to commit. */
interface Staged {
  results: AppendResult[];
  recordResults: RecordAppendResult[];
  /** Nothing new: every measurement was a duplicate. */
  empty: boolean;
  rows: MeasurementRow[];
  entries: EntryRow[];
  recordRows: RecordRow[];
  checkpoint: CheckpointRow;
  tree: CompactTree;
  leaves: Array<{ entry: Uint8Array; created: ReturnType<CompactTree['append']> }>;
  /** Where the body files end once this group's bodies are written. */
  bodiesEnd: BodyMark;
}

/** How a commit ended, for the drain loop: its group is told only on success. */
interface Committed {
  error: Error | null;
  group: Waiting[];
}

export interface SequencerState {
  db: EvidenceDatabase;
  bodies: BodyFiles;
  key: LogKey;
  tree: CompactTree;
  edge: TileEdge;
  ids: IdIndex;
  /** The checkpoint of the committed tree (signed note). */
  checkpoint: string;
}

export class Sequencer {
  private readonly queue: Waiting[] = [];
  private draining: Promise<void> | null = null;
  private failure: Error | null = null;
  private closed = false;
  /** The tree and the new ids of the group staged but not yet committed (null: none). */
  private staged: { tree: CompactTree; ids: Map<string, AppendResult> } | null = null;
  /** Where the bodies of the last committed group end: failures cut the files back to here. */
  private committedBodies: BodyMark;

  constructor(
    private readonly state: SequencerState,
    private readonly lateAfterMs: number,
    private readonly onCommit: () => void,
    private readonly logger: EvidenceLogger,
  ) {
    this.committedBodies = state.bodies.mark;
  }

  get committedSize(): number {
    return this.state.tree.size;
  }

  get committedCheckpoint(): string {
    return this.state.checkpoint;
  }

  append(batch: readonly IncomingMeasurement[]): Promise<AppendResult[]> {
    if (this.failure) return Promise.reject(this.stoppedError());
    if (this.closed) return Promise.reject(new Error('the evidence store is closed'));
    let items: Prepared[];
    try {
      items = batch.map((item, i) => prepare(item, i, this.lateAfterMs));
    } catch (err) {
      return Promise.reject(err);
    }
    if (items.length === 0) return Promise.resolve([]);
    const bytes = items.reduce((n, p) => n + p.body.byteLength, 0);
    return new Promise((resolve, reject) => {
      this.queue.push({ items, bytes, resolve, reject });
      this.kick();
    });
  }

  /** Logs one record; resolves with its index and hash once durably committed. */
  appendRecord(kind: string, body: Record<string, unknown>): Promise<RecordAppendResult> {
    if (this.failure) return Promise.reject(this.stoppedError());
    if (this.closed) return Promise.reject(new Error('the evidence store is closed'));
    let record: PreparedRecord;
    try {
      record = prepareRecord(kind, body, new Date());
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ record, bytes: record.row.body.length, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.draining) return;
    this.draining = this.drain().finally(() => {
      this.draining = null;
      // An append may have queued between the loop's last check and this callback.
      if (this.queue.length > 0) this.kick();
    });
  }

  /** Waits for every queued append to finish, and refuses new ones. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.draining) await this.draining;
  }

  private stoppedError(): Error {
    return new Error(
      `the evidence store stopped after a storage error (${this.failure?.message}); restart the server, which recovers from the database`,
    );
  }

  private takeGroup(): Waiting[] {
    const group: Waiting[] = [this.queue.shift()!];
    let rows = rowsOf(group[0]!);
    let bytes = group[0]!.bytes;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (rows + rowsOf(next) > MAX_GROUP_ROWS || bytes + next.bytes > MAX_GROUP_BYTES) break;
      group.push(this.queue.shift()!);
      rows += rowsOf(next);
      bytes += next.bytes;
    }
    return group;
  }

  /**
   * Two groups at a time: while one group's rows commit to the database, the next is numbered on
   * top of it and its bodies are written and synced (the disk and the database work at once).
   * A group commits only after the one before it committed; if that one failed, the next fails
   * too (it was numbered on top of it), and the bodies of both are cut off.
   */
  private async drain(): Promise<void> {
    let committing: Promise<Committed> | null = null;
    while (this.queue.length > 0) {
      const group = this.takeGroup();
      if (this.failure) {
        for (const w of group) w.reject(this.stoppedError());
        continue;
      }
      let staged: Staged | null = null;
      let error: Error | null = null;
      try {
        staged = await this.stage(
          group.flatMap((w) => w.items ?? []),
          group.flatMap((w) => (w.record ? [w.record] : [])),
        );
      } catch (err) {
        error = err as Error;
      }
      const before = committing ? await committing : null;
      committing = null;
      const failed = before?.error ?? error;
      if (failed) {
        // Nothing staged after the last commit can be stored: go back to the committed state.
        await this.afterFailure(failed);
        for (const w of before?.error ? before.group : []) w.reject(this.failedWith(failed));
        for (const w of group) w.reject(this.failedWith(error ?? failed));
        continue;
      }
      committing = this.commit(staged!, group);
    }
    const last = committing ? await committing : null;
    if (last?.error) {
      await this.afterFailure(last.error);
      for (const w of last.group) w.reject(this.failedWith(last.error));
    }
  }

  private failedWith(err: Error): Error {
    return this.failure ? this.stoppedError() : err;
  }

  /**
   * A failed commit normally rolled back, and the next one may work (a full disk that got space):
   * the bodies written since the last commit are cut off. If the database now holds more entries
   * than the tree, whether it committed is unknown: going on could number two measurements alike,
   * so the sequencer stops until a restart recovers.
   */
  private async afterFailure(err: Error): Promise<void> {
    this.logger.error({ err }, 'evidence commit failed');
    this.staged = null;
    try {
      const { count } = await this.state.db.entryStats();
      if (count === this.state.tree.size) {
        await this.state.bodies.rollback(this.committedBodies);
        return;
      }
    } catch {
      // The database cannot even be read, or the body file cannot be cut back: stop.
    }
    this.failure = err;
  }

  /**
   * Numbers a group on top of what is committed or staged: drops the measurements already stored
   * (or staged), extends a copy of the tree, signs the checkpoint of the new size, and writes the
   * new bodies, durably. Records (an incident's change…) are never duplicates: each is an event of
   * its own; they ride the same transaction and checkpoint.
   */
  private async stage(items: Prepared[], records: PreparedRecord[]): Promise<Staged> {
    const { db, ids } = this.state;
    const head = this.staged ?? { tree: this.state.tree, ids: new Map<string, AppendResult>() };
    // Duplicates of stored measurements: the in-memory index gives candidates, the table confirms.
    const candidateIndexes = new Set<number>();
    for (const p of items) for (const c of ids.candidates(p.row.id)) candidateIndexes.add(c);
    const stored = new Map<string, { logIndex: number; late: boolean }>();
    if (candidateIndexes.size > 0) {
      for (const r of await db.idsAt([...candidateIndexes])) stored.set(r.id, r);
    }

    const base = head.tree.size;
    const tree = new CompactTree(base, head.tree.borderHashes());
    const fresh: Array<{ prepared: Prepared; created: ReturnType<CompactTree['append']> }> = [];
    // New ids of this group; those of the group before it, if that one is still committing, are
    // in head.ids (any earlier group has committed: its ids are in the index).
    const newIds = new Map<string, AppendResult>();
    const results: AppendResult[] = items.map((p) => {
      const id = p.row.id;
      const old = stored.get(id);
      if (old) return { id, log_index: old.logIndex, duplicate: true, late: old.late };
      const earlier = newIds.get(id) ?? head.ids.get(id);
      if (earlier) return { ...earlier, duplicate: true };
      const result = { id, log_index: base + fresh.length, duplicate: false, late: p.row.late };
      fresh.push({ prepared: p, created: tree.append(p.leaf) });
      newIds.set(id, result);
      return result;
    });
    const recordBase = base + fresh.length;
    const recordCreated = records.map((r) => tree.append(r.leaf));
    const size = tree.size;
    const root = tree.root();
    const note = signCheckpoint({ origin: this.state.key.origin, size, rootHash: root }, [
      this.state.key.noteSigner,
    ]);

    // Bodies first, durably: the rows committed next point at them.
    const locations =
      fresh.length > 0 ? await this.state.bodies.append(fresh.map((f) => f.prepared.body)) : [];
    const rows: MeasurementRow[] = fresh.map((f, i) => ({
      ...f.prepared.row,
      logIndex: base + i,
      body: locations[i]!,
    }));
    const entries: EntryRow[] = fresh.map((f, i) => ({
      idx: base + i,
      entry: f.prepared.entry,
      leafHash: f.prepared.leaf,
    }));
    const recordRows: RecordRow[] = records.map((r, i) => {
      entries.push({ idx: recordBase + i, entry: r.entry, leafHash: r.leaf });
      return { ...r.row, logIndex: recordBase + i };
    });
    const staged: Staged = {
      results,
      recordResults: records.map((r, i) => ({ log_index: recordBase + i, sha256: r.sha256 })),
      empty: fresh.length === 0 && records.length === 0,
      rows,
      entries,
      recordRows,
      checkpoint: { size, root, note, created: new Date() },
      tree,
      leaves: [
        ...fresh.map((f) => ({ entry: f.prepared.entry, created: f.created })),
        ...records.map((r, i) => ({ entry: r.entry, created: recordCreated[i]! })),
      ],
      bodiesEnd: this.state.bodies.mark,
    };
    if (!staged.empty) this.staged = { tree, ids: newIds };
    return staged;
  }

  /**
   * Commits a staged group (rows, entries and checkpoint in one transaction), then moves the tree
   * and tells the group's callers. A failure is returned, not thrown: the drain loop handles it
   * once the next group's bodies are written (they are cut off with this group's).
   */
  private async commit(staged: Staged, group: Waiting[]): Promise<Committed> {
    if (!staged.empty) {
      try {
        await this.state.db.commitBatch(staged.rows, staged.entries, staged.checkpoint, staged.recordRows);
      } catch (err) {
        return { error: err as Error, group };
      }
      // Committed: only now does the tree move and do the ids become known.
      this.state.tree = staged.tree;
      for (const leaf of staged.leaves) this.state.edge.addLeaf(leaf.entry, leaf.created);
      for (const r of staged.rows) this.state.ids.add(r.id, r.logIndex);
      this.state.checkpoint = staged.checkpoint.note;
      this.committedBodies = staged.bodiesEnd;
      if (this.staged?.tree === staged.tree) this.staged = null;
      this.onCommit();
    }
    let at = 0;
    let r = 0;
    for (const w of group) {
      if (w.items) {
        w.resolve(staged.results.slice(at, at + w.items.length));
        at += w.items.length;
      } else w.resolve(staged.recordResults[r++]!);
    }
    return { error: null, group };
  }
}
