/**
 * The on-disk outbox: every finished measurement, signed, as `outbox/<id>.json`, written durably
 * before any upload is tried. A measurement leaves the outbox only after its ledger line is
 * durable (uploaded) or its failure record is (refused for good), so a kill -9 at any point loses
 * nothing; and since ids are content addresses, a repeated upload is one measurement at the
 * collector and one line in the ledger.
 */
import { access, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { SignedMeasurement, SubmissionItem } from '../identity/sign.js';
import { ensureStateDirs, type StateLayout, stateLayout } from '../identity/state-dir.js';
import { removeStaleTempFiles, syncDirectory, writeFileDurably } from './durable-file.js';
import { type FailedRecord, readFailedRecord } from './failed-record.js';
import { checkItem } from './item-check.js';
import { Ledger, type LedgerEntry } from './ledger.js';

export interface QueuedFile {
  id: string;
  path: string;
  mtimeMs: number;
}

export type ReadResult =
  | { ok: true; id: string; item: SubmissionItem; text: string }
  | { ok: false; id: string; reason: string; text: string | null };

export type AddResult = 'queued' | 'already-queued' | 'already-sent';

const ID_FILE = /^([0-9a-f]{64})\.json$/;

/** The id named by an outbox or failed file name, or null for anything else (temp files too). */
export function idOfFileName(name: string): string | null {
  return ID_FILE.exec(name)?.[1] ?? null;
}

/** How many files are written at once when many are queued together; fsyncs overlap. */
const WRITE_CONCURRENCY = 8;

export class Outbox {
  private constructor(
    readonly layout: StateLayout,
    private readonly ledger: Ledger,
  ) {}

  /** Opens (creating if needed) the outbox of a state directory. */
  static async open(stateDir: string): Promise<Outbox> {
    const layout = stateLayout(stateDir);
    await ensureStateDirs(layout);
    await removeStaleTempFiles(layout.outbox);
    await removeStaleTempFiles(layout.failed);
    await removeStaleTempFiles(layout.dir);
    return new Outbox(layout, await Ledger.open(layout.ledger));
  }

  isSent(id: string): boolean {
    return this.ledger.has(id);
  }

  fileOf(id: string): string {
    return path.join(this.layout.outbox, `${id}.json`);
  }

  /** Queues one measurement; durable when this resolves. */
  async add(signed: SignedMeasurement): Promise<AddResult> {
    return this.write(signed, true);
  }

  /** Queues many: each file fsynced, the directory once at the end. */
  async addMany(
    signed: SignedMeasurement[],
    onAdded?: (result: AddResult, id: string) => void,
  ): Promise<Record<AddResult, number>> {
    const counts: Record<AddResult, number> = { queued: 0, 'already-queued': 0, 'already-sent': 0 };
    let next = 0;
    const lane = async () => {
      while (next < signed.length) {
        const one = signed[next++]!;
        const result = await this.write(one, false);
        counts[result]++;
        onAdded?.(result, one.id);
      }
    };
    await Promise.all(Array.from({ length: WRITE_CONCURRENCY }, lane));
    if (counts.queued > 0) await syncDirectory(this.layout.outbox);
    return counts;
  }

  private async write(signed: SignedMeasurement, syncDir: boolean): Promise<AddResult> {
    if (this.ledger.has(signed.id)) return 'already-sent';
    const exists = await access(this.fileOf(signed.id)).then(
      () => true,
      () => false,
    );
    // Same id, same content: a file already there is this very measurement.
    if (exists) return 'already-queued';
    await writeFileDurably(this.layout.outbox, `${signed.id}.json`, JSON.stringify(signed.item), 0o600, {
      syncDir,
    });
    return 'queued';
  }

  /** Queued measurements, oldest first (evidence goes out in the order it was gathered). */
  async list(): Promise<QueuedFile[]> {
    const files: QueuedFile[] = [];
    for (const name of await readdir(this.layout.outbox)) {
      const id = idOfFileName(name);
      if (!id) continue;
      const file = path.join(this.layout.outbox, name);
      const info = await stat(file).catch(() => null);
      // Gone meanwhile: another process uploaded it.
      if (info) files.push({ id, path: file, mtimeMs: info.mtimeMs });
    }
    return files.sort((a, b) => a.mtimeMs - b.mtimeMs || a.id.localeCompare(b.id));
  }

  /** Reads and checks one queued item; a damaged one is reported, not thrown. Null when gone. */
  async read(file: QueuedFile): Promise<ReadResult | null> {
    let text: string;
    try {
      text = await readFile(file.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const checked = checkItem(text, file.id);
    return checked.ok
      ? { ok: true, id: file.id, item: checked.item, text }
      : { ok: false, id: file.id, reason: checked.reason, text };
  }

  /** Records uploads in the ledger (durably), then removes their outbox (and any failed) files. */
  async markSent(entries: LedgerEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.ledger.append(entries);
    for (const { id } of entries) {
      await rm(this.fileOf(id), { force: true });
      // Left by a `--retry-failed` that was interrupted: the measurement is delivered now.
      await rm(path.join(this.layout.failed, `${id}.json`), { force: true });
    }
    await syncDirectory(this.layout.outbox);
    await syncDirectory(this.layout.failed);
  }

  /** Moves an item to failed/ with the reason: its record is durable before the outbox file goes. */
  async markFailed(id: string, record: FailedRecord): Promise<void> {
    await writeFileDurably(this.layout.failed, `${id}.json`, `${JSON.stringify(record, null, 2)}\n`);
    await rm(this.fileOf(id), { force: true });
    await syncDirectory(this.layout.outbox);
  }

  /**
   * Removes outbox files whose upload the ledger already records: a crash between the ledger line
   * and the removal leaves them. Returns how many.
   */
  async reconcile(): Promise<number> {
    let removed = 0;
    for (const file of await this.list()) {
      if (!this.ledger.has(file.id)) continue;
      await rm(file.path, { force: true });
      removed++;
    }
    if (removed > 0) await syncDirectory(this.layout.outbox);
    return removed;
  }

  /** Puts refused items back in the outbox (e.g. after the collector was fixed). Returns how many. */
  async retryFailed(): Promise<number> {
    let moved = 0;
    for (const name of await readdir(this.layout.failed)) {
      const id = idOfFileName(name);
      if (!id) continue;
      const file = path.join(this.layout.failed, name);
      const record = await readFailedRecord(file);
      if (!record?.item) continue; // a damaged file: nothing to send, kept for inspection
      if (!this.ledger.has(id)) await this.write({ id, item: record.item }, true);
      await rm(file, { force: true });
      moved++;
    }
    if (moved > 0) await syncDirectory(this.layout.failed);
    return moved;
  }

  async close(): Promise<void> {
    await this.ledger.close();
  }
}
