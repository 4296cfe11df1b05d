/**
 * Signal files for `pharos eval`: the same CSV and IODA JSON `pharos import signals` reads, through
 * its importer (every row checked the same way), collected in memory instead of the signals
 * database, then grouped into dense series.
 */
import {
  detectSignalFormat,
  importSignalFile,
  parseTime as parseImportTime,
} from '../signals/import/index.js';
import type { SignalStore } from '../signals/store.js';
import type { SignalPoint, SignalSeries } from '../signals/types.js';
import { groupSeries } from '../signals/types.js';

/** Epoch seconds from ISO 8601 or epoch seconds; the error names `where`. */
export function parseTime(text: string, where: string): number {
  const parsed = parseImportTime(text);
  if ('error' in parsed) throw new Error(`${where}: ${parsed.error}`);
  return parsed.time;
}

/** Groups points into dense series over each series' own span, sorted by entity and signal. */
export function pointsToSeries(points: SignalPoint[]): SignalSeries[] {
  return groupSeries(points).sort(
    (a, b) => a.entity.localeCompare(b.entity) || a.signal.localeCompare(b.signal),
  );
}

/** Reads a signal CSV or IODA JSON file into series (nothing is stored). */
export async function readSignalFile(file: string): Promise<SignalSeries[]> {
  const points: SignalPoint[] = [];
  // The importer only ever calls put(); a sink that keeps the points is all it needs here.
  const sink = {
    async put(batch: SignalPoint[]): Promise<number> {
      for (const p of batch) points.push(p);
      return batch.length;
    },
  } as unknown as SignalStore;
  await importSignalFile(sink, file, { format: await detectSignalFormat(file) });
  return pointsToSeries(points);
}
