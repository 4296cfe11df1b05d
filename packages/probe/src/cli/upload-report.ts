/**
 * What the user sees of uploads: a line per event on stderr while `upload` and `submit` work,
 * quieter notes during `run` (only when uploading starts failing or recovers), and the summary.
 */
import type { DrainResult, UploadEvent, UploadTotals } from '../upload/uploader.js';
import { formatBytes, formatDuration } from './units.js';

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function shortId(id: string): string {
  return id.slice(0, 12);
}

/** One stderr line per upload event. */
export function describeUploadEvent(event: UploadEvent, failedDir: string): string {
  switch (event.type) {
    case 'batch-sent': {
      const already = event.duplicates > 0 ? ` (${event.duplicates} already there)` : '';
      return `uploaded ${plural(event.acknowledged, 'measurement')} to ${event.collector}${already}, ${formatBytes(event.bytesSent)} sent`;
    }
    case 'collector-failed':
      return `collector ${event.collector}: ${event.reason}`;
    case 'refused': {
      const by = event.collector ? `${event.collector} refused` : 'not uploadable:';
      return `${by} measurement ${shortId(event.id)}…: ${event.reason} (moved to ${failedDir})`;
    }
    case 'waiting':
      return `no collector took the batch; trying again in ${formatDuration(event.ms)}`;
  }
}

/**
 * For `run`: says once that uploads are failing (measurements keep being measured and queued),
 * once when they work again, and every refusal.
 */
export function runUploadNotes(note: (message: string) => void, failedDir: string) {
  let failing = false;
  return (event: UploadEvent) => {
    if (event.type === 'collector-failed' && !failing) {
      failing = true;
      note(
        `pharos-probe: upload: ${event.collector}: ${event.reason}; measurements stay queued in the outbox and are retried\n`,
      );
    } else if (event.type === 'batch-sent' && failing) {
      failing = false;
      note(`pharos-probe: upload: ${event.collector} is taking measurements again\n`);
    } else if (event.type === 'refused') {
      note(`pharos-probe: upload: ${describeUploadEvent(event, failedDir)}\n`);
    }
  };
}

/** The stdout summary of an upload: what went, what it cost, what is left. */
export function formatUploadSummary(totals: UploadTotals, queued: number, failedDir: string): string {
  const lines: string[] = [];
  const already =
    totals.duplicates > 0 ? ` (${totals.duplicates} of them were already at the collector)` : '';
  const compressed = totals.rawBytes > 0 ? ` (${formatBytes(totals.rawBytes)} before compression)` : '';
  lines.push(
    `Uploaded ${plural(totals.acknowledged, 'measurement')} in ${plural(totals.batches, 'batch', 'batches')}${already}; ` +
      `sent ${formatBytes(totals.bytesSent)}${compressed}, received ${formatBytes(totals.bytesReceived)}.`,
  );
  let rest = `Still queued: ${queued}.`;
  if (totals.refused > 0) rest += ` Refused: ${totals.refused} (kept with the reason in ${failedDir}).`;
  lines.push(rest);
  return `${lines.join('\n')}\n`;
}

/** A plain explanation on stderr when measurements are left queued; null when none are. */
export function leftQueuedMessage(
  result: DrainResult,
  queued: number,
  outboxDir: string,
  again: string,
): string | null {
  if (queued === 0) return null;
  const what = `${plural(queued, 'measurement is', 'measurements are')} still queued in ${outboxDir}`;
  const safe = `They are safe on disk; ${again}`;
  switch (result.outcome) {
    case 'gave-up':
      return `${what}: no collector could be reached or took them (${result.problem}).\n  ${safe}\n`;
    case 'locked':
      return `${what}: another pharos-probe process (pid ${result.holder}) is uploading from this state directory and will send them.\n`;
    case 'aborted':
      return `${what}: the upload was interrupted.\n  ${safe}\n`;
    case 'empty':
      return `${what}: they were added while the upload finished.\n  ${safe}\n`;
  }
}
