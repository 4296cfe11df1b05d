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
import { toSeries } from '../signals/types.js';

/** Epoch seconds from ISO 8601 or epoch seconds; the error names `where`. */
export function parseTime(text: string, where: string): number {
  const parsed = parseImportTime(text);
  if ('error' in parsed) throw new Error(`${where}: ${parsed.error}`);
  return parsed.time;
}

/** Groups points into dense series over each series' own span. */
export function pointsToSeries(points: SignalPoint[]): SignalSeries[] {
  const groups = new Map<string, SignalPoint[]>();
  for (const p of points) {
    const key = `${p.entity}\u0000${p.signal}\u0000${p.step}`;
    const group = groups.get(key);
    if (group) group.push(p);
    else groups.set(key, [p]);
  }
  const out: SignalSeries[] = [];
  for (const group of groups.values()) {
    const { entity, signal, step } = group[0] as SignalPoint;
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    for (const p of group) {
      first = Math.min(first, p.time);
      last = Math.max(last, p.time);
    }
    out.push(toSeries(entity, signal, step, first, last + step, group));
  }
  return out.sort((a, b) => a.entity.localeCompare(b.entity) || a.signal.localeCompare(b.signal));
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
