/**
 * One uploader per state directory (a background `run` and a cron `upload` must not send the same
 * batch twice and bill the volunteer's data plan twice). `upload.lock` holds the owner's pid; a
 * lock whose process is dead (kill -9, reboot) is taken over. Taking over is not perfectly atomic;
 * a rare race costs only a duplicate upload, which the collector and the ledger absorb.
 */
import { open, readFile, rm } from 'node:fs/promises';
import { isProcessAlive } from './durable-file.js';

export type LockResult = { ok: true; release: () => Promise<void> } | { ok: false; holder: number };

export async function acquireUploadLock(file: string): Promise<LockResult> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return { ok: true, release: () => releaseLock(file) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (holder === process.pid) return { ok: true, release: async () => {} };
    if (Number.isInteger(holder) && holder > 0 && isProcessAlive(holder)) return { ok: false, holder };
    await rm(file, { force: true });
  }
  return { ok: false, holder: Number.NaN };
}

async function releaseLock(file: string): Promise<void> {
  const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  if (holder === process.pid) await rm(file, { force: true });
}
