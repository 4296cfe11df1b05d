/**
 * What `pharos-probe status` reports, read without creating or changing anything: a status check
 * on a fresh machine must not make a key or directories.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { type ProbeKey, readProbeKey } from '../identity/probe-key.js';
import { type StateLayout, stateLayout } from '../identity/state-dir.js';
import { readFailedRecord } from './failed-record.js';
import { readLedger } from './ledger.js';
import { idOfFileName } from './outbox.js';

export interface OutboxStatus {
  stateDir: string;
  exists: boolean;
  key: ProbeKey | null;
  /** Why the key cannot be used, when it cannot. */
  keyProblem: string | null;
  queued: number;
  /** Earliest `measurement_start_time` among queued measurements (OONI's "YYYY-MM-DD hh:mm:ss" UTC). */
  oldestQueued: string | null;
  uploaded: number;
  /** Latest `uploaded_at` in the ledger. */
  lastUpload: string | null;
  failed: number;
  /** Refusal reasons with how many items each, most frequent first. */
  failedReasons: { reason: string; count: number }[];
}

async function names(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export async function readOutboxStatus(stateDir: string): Promise<OutboxStatus> {
  const layout = stateLayout(stateDir);
  const exists = await stat(stateDir).then(
    () => true,
    () => false,
  );
  let key: ProbeKey | null = null;
  let keyProblem: string | null = null;
  try {
    key = await readProbeKey(layout);
  } catch (err) {
    keyProblem = (err as Error).message;
  }
  const ledger = await readLedger(layout.ledger);
  const sent = new Set(ledger.entries.map((e) => e.id));
  let lastUpload: string | null = null;
  for (const e of ledger.entries) if (!lastUpload || e.uploaded_at > lastUpload) lastUpload = e.uploaded_at;

  const { queued, oldestQueued } = await readQueued(layout, sent);
  const reasons = new Map<string, number>();
  let failed = 0;
  for (const name of await names(layout.failed)) {
    const id = idOfFileName(name);
    if (!id || sent.has(id)) continue;
    failed++;
    const record = await readFailedRecord(path.join(layout.failed, name));
    const reason = record?.reason ?? 'the failure record is unreadable';
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  return {
    stateDir,
    exists,
    key,
    keyProblem,
    queued,
    oldestQueued,
    uploaded: sent.size,
    lastUpload,
    failed,
    failedReasons: [...reasons]
      .map(([reason, count]) => ({ reason, count }))
      .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)),
  };
}

async function readQueued(layout: StateLayout, sent: Set<string>) {
  let queued = 0;
  let oldestQueued: string | null = null;
  for (const name of await names(layout.outbox)) {
    const id = idOfFileName(name);
    // Already in the ledger: delivered, only its clean-up was interrupted.
    if (!id || sent.has(id)) continue;
    queued++;
    const start = await readFile(path.join(layout.outbox, name), 'utf8')
      .then(
        (text) => (JSON.parse(text) as { measurement?: { measurement_start_time?: unknown } }).measurement,
      )
      .then((m) => m?.measurement_start_time)
      .catch(() => undefined);
    // OONI's timestamp format sorts as text.
    if (typeof start === 'string' && (oldestQueued === null || start < oldestQueued)) oldestQueued = start;
  }
  return { queued, oldestQueued };
}
