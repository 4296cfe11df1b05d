/**
 * Files that survive a crash or a power cut once a write returns: data written to a temporary
 * name, fsynced, renamed into place, and the directory fsynced so the new name is durable too.
 * A reader therefore sees either the old file or the whole new one, never a torn write.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { syncDirectory, writeSyncedThenRename } from '@pharos/probe';

/** Suffix of temporary files; readers and integrity checks skip names containing it. */
export const TEMP_MARK = '.tmp-';

/** fsyncs a directory, making the names created or renamed in it durable (the probe's outbox uses it too). */
export const fsyncDirectory = syncDirectory;

/**
 * Writes several files durably, fsyncing each touched directory once at the end (`commit`), which
 * is what makes a batch of tiles cheap: one directory fsync per directory, not per file.
 */
export class DurableWriter {
  private readonly dirs = new Set<string>();

  /** Creates the directory (and parents); new directories are made durable by `commit`. */
  async ensureDir(dir: string, mode?: number): Promise<void> {
    const first = await mkdir(dir, { recursive: true, ...(mode === undefined ? {} : { mode }) });
    if (first === undefined) return;
    // Every directory from the first one created down to `dir` is new: its parent must be synced.
    for (let d = dir; ; d = path.dirname(d)) {
      this.dirs.add(path.dirname(d));
      if (d === first || path.dirname(d) === d) break;
    }
  }

  /** Writes the file's bytes under a temporary name, fsyncs them and renames the file into place. */
  async write(file: string, data: Uint8Array, mode = 0o644): Promise<void> {
    const dir = path.dirname(file);
    await this.ensureDir(dir);
    await writeSyncedThenRename(`${file}${TEMP_MARK}${randomBytes(6).toString('hex')}`, file, data, mode);
    this.dirs.add(dir);
  }

  /** fsyncs every directory touched since the last commit. */
  async commit(): Promise<void> {
    const dirs = [...this.dirs];
    this.dirs.clear();
    await Promise.all(dirs.map(fsyncDirectory));
  }
}

/** Writes one file durably (write, fsync, rename, fsync the directory). */
export async function writeFileDurably(file: string, data: Uint8Array | string, mode = 0o644): Promise<void> {
  const writer = new DurableWriter();
  await writer.write(file, typeof data === 'string' ? Buffer.from(data, 'utf8') : data, mode);
  await writer.commit();
}
