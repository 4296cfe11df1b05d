/**
 * Files that are either whole or absent, even after a kill -9 or a power cut: written to a temp
 * name, fsynced, renamed into place, and the directory fsynced so the rename itself is durable.
 * Temp names start with `.tmp-` and never end in `.json`, so no reader takes one for a result.
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';

const TEMP_PREFIX = '.tmp-';

export function isTempName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX);
}

function tempName(name: string): string {
  // The pid lets a later process tell a dead writer's leftovers from a live writer's work.
  return `${TEMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}-${name}.part`;
}

/** Makes the directory's entries (new names, renames, removals) durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The step every durable write shares: the bytes go to `temp` (a new file), are fsynced, and the
 * file is renamed to `file`; on any failure the temp file is removed. The caller fsyncs the
 * directory (once per batch, if it writes many).
 */
export async function writeSyncedThenRename(
  temp: string,
  file: string,
  data: string | Uint8Array,
  mode: number,
): Promise<void> {
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => {});
    await rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** Writes `data` to `dir/name` atomically and durably (without the final directory sync when told). */
export async function writeFileDurably(
  dir: string,
  name: string,
  data: string | Uint8Array,
  mode = 0o600,
  options: { syncDir?: boolean } = {},
): Promise<void> {
  await writeSyncedThenRename(path.join(dir, tempName(name)), path.join(dir, name), data, mode);
  if (options.syncDir !== false) await syncDirectory(dir);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes temp files left by writers that died before renaming them. Returns how many. */
export async function removeStaleTempFiles(dir: string): Promise<number> {
  let removed = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!isTempName(name)) continue;
    const pid = Number(/^\.tmp-(\d+)-/.exec(name)?.[1]);
    if (pid === process.pid || (Number.isInteger(pid) && isAlive(pid))) continue;
    await rm(path.join(dir, name), { force: true });
    removed++;
  }
  return removed;
}

export { isAlive as isProcessAlive };
