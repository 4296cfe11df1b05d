/**
 * `pharos import signals|mrt FILE... --data DIR`: series a user has (CSV, IODA JSON) or BGP
 * visibility computed from MRT files, written into DATA_DIR/signals.duckdb, with a line per
 * (entity, signal) saying what arrived. Everything is checked before the database is touched where
 * the format allows it (CSV, IODA); MRT bins are written as they are computed.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { SignalsDatabase } from '../signals/database.js';
import type { ImportProgress, SeriesSummary } from '../signals/import/common.js';
import type { SignalStore } from '../signals/store.js';
import type { SignalPoint } from '../signals/types.js';
import { once, parseCommandLine } from './command-line.js';
import { IMPORT_USAGE } from './import-usage.js';
import type { CliIO } from './io.js';
import { UsageError } from './usage-error.js';

const OPTIONS = {
  data: { type: 'string', multiple: true },
  format: { type: 'string', multiple: true },
  step: { type: 'string', multiple: true },
  'full-feed-min': { type: 'string', multiple: true },
  'full-feed-min-v6': { type: 'string', multiple: true },
  'visible-fraction': { type: 'string', multiple: true },
  'no-geo': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Series listed one per line before the rest are summed up in one line. */
const MAX_LISTED = 50;

type Values = ReturnType<typeof parseCommandLine<typeof OPTIONS>>['values'];

interface ImportRequest {
  kind: 'signals' | 'mrt';
  files: string[];
  dataDir: string;
  values: Values;
  step: number | undefined;
}

function wholeNumber(option: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim()))
    throw new UsageError(`${option} "${text}": expected a whole number of prefixes`);
  return Number(text.trim());
}

async function parseImportArgs(argv: string[], cwd: string): Promise<ImportRequest | 'help'> {
  const { values, positionals } = parseCommandLine(argv, OPTIONS);
  if (values.help) return 'help';
  const [kind, ...files] = positionals;
  if (kind !== 'signals' && kind !== 'mrt') {
    throw new UsageError(
      kind === undefined ? 'say what to import: signals or mrt' : `cannot import "${kind}": signals or mrt`,
    );
  }
  if (files.length === 0)
    throw new UsageError(`give at least one file to import (pharos import ${kind} FILE... --data DIR)`);
  const data = once(values, 'data');
  if (data === undefined || data.trim() === '') throw new UsageError('give the data directory: --data DIR');
  const stepText = once(values, 'step');
  let step: number | undefined;
  if (stepText !== undefined) {
    const { parseStep } = await import('../signals/import/common.js');
    step = parseStep(stepText) ?? undefined;
    if (step === undefined)
      throw new UsageError(`--step "${stepText}": expected a duration such as 300, 5m or 1h`);
  }
  if (kind === 'signals') {
    for (const name of ['full-feed-min', 'full-feed-min-v6', 'visible-fraction'] as const) {
      if (values[name]) throw new UsageError(`--${name} applies to "pharos import mrt"`);
    }
    if (values['no-geo']) throw new UsageError('--no-geo applies to "pharos import mrt"');
    const format = once(values, 'format');
    if (format !== undefined && format !== 'csv' && format !== 'ioda') {
      throw new UsageError(`--format "${format}": csv or ioda`);
    }
  } else if (values.format) throw new UsageError('--format applies to "pharos import signals"');
  return {
    kind,
    files: files.map((f) => path.resolve(cwd, f)),
    dataDir: path.resolve(cwd, data),
    values,
    step,
  };
}

function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

/** One line per (entity, signal, step), then a line for the rest when there are many. */
function formatSeries(series: SeriesSummary[]): string {
  let out = '';
  for (const s of series.slice(0, MAX_LISTED)) {
    out += `  ${s.entity} ${s.signal} (step ${s.step} s): ${s.points} point${s.points === 1 ? '' : 's'}, ${isoTime(s.from)} to ${isoTime(s.until)}\n`;
  }
  if (series.length > MAX_LISTED) {
    const rest = series.slice(MAX_LISTED);
    const points = rest.reduce((n, s) => n + s.points, 0);
    out += `  … and ${rest.length} more series (${points} points)\n`;
  }
  return out;
}

/** Prints progress at most every two seconds, so only long files print any. */
function progressPrinter(io: CliIO) {
  let last = performance.now();
  return (message: () => string) => {
    const now = performance.now();
    if (now - last < 2000) return;
    last = now;
    io.stderr.write(`${message()}\n`);
  };
}

async function openStore(dataDir: string): Promise<{ db: SignalsDatabase; store: SignalStore }> {
  const { SignalsDatabase, SIGNALS_DATABASE_FILE } = await import('../signals/database.js');
  const { SignalStore } = await import('../signals/store.js');
  await mkdir(dataDir, { recursive: true });
  let db: SignalsDatabase;
  try {
    db = await SignalsDatabase.open(dataDir);
  } catch (err) {
    const message = (err as Error).message;
    if (/lock/i.test(message)) {
      throw new ImportFailure(
        `${path.join(dataDir, SIGNALS_DATABASE_FILE)} is held by another process (a running "pharos serve" on this data directory?): stop the server and import again, or import through the server`,
      );
    }
    throw new ImportFailure(`cannot open ${path.join(dataDir, SIGNALS_DATABASE_FILE)}: ${message}`);
  }
  return { db, store: await SignalStore.open(db) };
}

class ImportFailure extends Error {}

async function importSignals(request: ImportRequest, store: SignalStore, io: CliIO): Promise<void> {
  const { importSignalFile } = await import('../signals/import/index.js');
  const format = once(request.values, 'format') as 'csv' | 'ioda' | undefined;
  const progress = progressPrinter(io);
  for (const file of request.files) {
    const onProgress = (p: ImportProgress) =>
      progress(
        () =>
          `${path.basename(p.file)}: ${p.phase} ${Math.round((100 * p.bytes) / Math.max(1, p.totalBytes))}% (${p.rows} rows)`,
      );
    const options: Parameters<typeof importSignalFile>[2] = { onProgress };
    if (format) options.format = format;
    if (request.step !== undefined) options.step = request.step;
    const result = await importSignalFile(store, file, options);
    const missing = result.missing > 0 ? `, ${result.missing} missing values skipped` : '';
    io.stdout.write(
      `${path.basename(file)} (${result.format}): ${result.points} points, ${result.written} new or changed${missing}\n`,
    );
    io.stdout.write(formatSeries(result.series));
  }
}

async function importMrt(request: ImportRequest, store: SignalStore, io: CliIO): Promise<void> {
  const { visibilityBins, emptyVisibilityStats } = await import('../signals/bgp/visibility.js');
  const { SeriesTally } = await import('../signals/import/common.js');
  const v = request.values;
  let locator = null;
  if (!v['no-geo']) {
    const { loadIPDatasets } = await import('../collector/geo.js');
    try {
      locator = await loadIPDatasets();
    } catch (err) {
      io.stderr.write(
        `pharos import: warning: no per-country series (the IP-to-country datasets did not load: ${(err as Error).message})\n`,
      );
    }
  }
  const fraction = once(v, 'visible-fraction');
  let visibleFraction: number | undefined;
  if (fraction !== undefined) {
    visibleFraction = Number(fraction);
    if (!/^\d*\.?\d+$/.test(fraction.trim()) || !(visibleFraction >= 0 && visibleFraction < 1)) {
      throw new UsageError(
        `--visible-fraction "${fraction}": expected a number from 0 up to (not including) 1, e.g. 0.5`,
      );
    }
  }
  const stats = emptyVisibilityStats();
  const options: Parameters<typeof visibilityBins>[1] = { locator, stats };
  const minV4 = wholeNumber('--full-feed-min', once(v, 'full-feed-min'));
  const minV6 = wholeNumber('--full-feed-min-v6', once(v, 'full-feed-min-v6'));
  if (minV4 !== undefined) options.fullFeedMinV4 = minV4;
  if (minV6 !== undefined) options.fullFeedMinV6 = minV6;
  if (visibleFraction !== undefined) options.visibleFraction = visibleFraction;
  if (request.step !== undefined) options.step = request.step;
  const progress = progressPrinter(io);
  options.onProgress = (p) => progress(() => `${path.basename(p.file)}: ${p.records} records read`);

  const names = request.files.map((f) => path.basename(f));
  const source = `mrt:${names[0]}${names.length > 1 ? ` +${names.length - 1} more` : ''}`;
  const tally = new SeriesTally();
  let batch: SignalPoint[] = [];
  let points = 0;
  let written = 0;
  try {
    for await (const bin of visibilityBins(request.files, options)) {
      for (const p of bin.points) {
        tally.add(p);
        batch.push(p);
      }
      points += bin.points.length;
      if (batch.length >= 100_000) {
        written += await store.put(batch, source);
        batch = [];
      }
    }
  } catch (err) {
    // What was computed before a damaged file stopped the run is sound: keep it, and say so.
    if (batch.length > 0) written += await store.put(batch, source);
    if (points > 0) {
      io.stderr.write(
        `note: the ${points} points of the bins before the error were written (${written} new or changed)\n`,
      );
    }
    throw err;
  }
  if (batch.length > 0) written += await store.put(batch, source);
  const ff = stats.fullFeed;
  io.stdout.write(
    `${names.join(', ')}: ${stats.records} MRT records, ${stats.bins} bins of ${options.step ?? 300} s; ` +
      `full-feed peers at the end: ${ff.v4Peers} IPv4 (${ff.v4Asns} ASNs), ${ff.v6Peers} IPv6 (${ff.v6Asns} ASNs)\n`,
  );
  io.stdout.write(`${points} points, ${written} new or changed\n`);
  if (stats.routesWithoutOrigin > 0) {
    io.stdout.write(
      `note: ${stats.routesWithoutOrigin} routes had no single origin ASN (AS path ending in an AS_SET, or empty); they count for countries only\n`,
    );
  }
  if (stats.binsWithoutFullFeed > 0) {
    io.stdout.write(
      `note: ${stats.binsWithoutFullFeed} bins had no full-feed peer yet and were left empty\n`,
    );
  }
  if (stats.errorRecords > 0) {
    io.stderr.write(`warning: ${stats.errorRecords} records could not be decoded and were skipped, e.g.\n`);
    for (const e of stats.errorSamples) io.stderr.write(`  ${e}\n`);
  }
  io.stdout.write(formatSeries(tally.summaries()));
}

export async function importCommand(argv: string[], io: CliIO): Promise<number> {
  let request: ImportRequest | 'help';
  try {
    request = await parseImportArgs(argv, io.cwd);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`pharos import: ${err.message}\nRun "pharos import --help" for usage.\n`);
    return 2;
  }
  if (request === 'help') {
    io.stdout.write(IMPORT_USAGE);
    return 0;
  }
  const { SignalImportError } = await import('../signals/import/common.js');
  const { VisibilityError } = await import('../signals/bgp/visibility.js');
  const { SignalPointError } = await import('../signals/store.js');
  let db: SignalsDatabase | undefined;
  try {
    const opened = await openStore(request.dataDir);
    db = opened.db;
    if (request.kind === 'signals') await importSignals(request, opened.store, io);
    else await importMrt(request, opened.store, io);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`pharos import: ${err.message}\nRun "pharos import --help" for usage.\n`);
      return 2;
    }
    const known =
      err instanceof ImportFailure ||
      err instanceof SignalImportError ||
      err instanceof VisibilityError ||
      err instanceof SignalPointError;
    const code = (err as NodeJS.ErrnoException).code;
    if (known) io.stderr.write(`pharos import: ${(err as Error).message}\n`);
    else if (typeof code === 'string' && (err as NodeJS.ErrnoException).path) {
      io.stderr.write(`pharos import: cannot read ${(err as NodeJS.ErrnoException).path} (${code})\n`);
    } else throw err;
    return 1;
  } finally {
    await db?.close();
  }
}
