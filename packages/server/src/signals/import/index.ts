/**
 * Importing series a user already has (active probing, traffic, telescope counts) so they can feed
 * detection: CSV and IODA `/v2/signals/raw` JSON. See docs/detection.md, "Signals".
 */
import { open } from 'node:fs/promises';
import type { SignalStore } from '../store.js';
import type { ImportProgress, ImportResult } from './common.js';
import { importCsvFile } from './csv.js';
import { importIodaFile } from './ioda.js';

export * from './common.js';
export { importCsvFile, splitCsvLine } from './csv.js';
export { importIodaFile, iodaEntity, parseIodaSignals } from './ioda.js';

export type SignalFormat = 'csv' | 'ioda';

/** The format from the extension, else from the first non-blank character ('{' is JSON). */
export async function detectSignalFormat(file: string): Promise<SignalFormat> {
  if (/\.json$/i.test(file)) return 'ioda';
  if (/\.csv$/i.test(file)) return 'csv';
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(256), 0, 256, 0);
    const head = buffer
      .subarray(0, bytesRead)
      .toString('utf8')
      .replace(/^\uFEFF/, '')
      .trimStart();
    return head.startsWith('{') ? 'ioda' : 'csv';
  } finally {
    await handle.close();
  }
}

export interface SignalImportOptions {
  format?: SignalFormat;
  /** Step in seconds for CSV rows without one (otherwise inferred per series). */
  step?: number;
  onProgress?: (p: ImportProgress) => void;
}

/** Imports one file in the given or detected format. */
export async function importSignalFile(
  store: SignalStore,
  file: string,
  options: SignalImportOptions = {},
): Promise<ImportResult> {
  const format = options.format ?? (await detectSignalFormat(file));
  // IODA series carry their own step; options.step only concerns CSV rows.
  if (format === 'ioda') return importIodaFile(store, file);
  const csvOptions: Parameters<typeof importCsvFile>[2] = {};
  if (options.step !== undefined) csvOptions.step = options.step;
  if (options.onProgress) csvOptions.onProgress = options.onProgress;
  return importCsvFile(store, file, csvOptions);
}
