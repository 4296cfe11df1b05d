/**
 * One evaluation: read signal files (signal CSV or RIPE Atlas connection logs), run the configured
 * detectors over each file's series exactly as the server would, and score the windows against
 * the labels. Each file is its own data set (one Atlas day), so a wave is judged within its day.
 */
import path from 'node:path';
import { type DetectionConfig, detectAll, parseDetectionConfig } from '../detection/config.js';
import type { AnomalyWindow, DetectorName } from '../detection/types.js';
import type { SignalSeries } from '../signals/types.js';
import {
  ATLAS_STEP,
  type ConnectionEvent,
  connectionLogToSeries,
  isConnectionLog,
  prefixAddress,
  readConnectionLog,
} from './atlas.js';
import { type Label, readLabels } from './labels.js';
import { type Coverage, coverageOf, type Scores, score } from './score.js';
import { readSignalFile } from './signal-files.js';

export interface DataSet {
  name: string;
  series: SignalSeries[];
}

export interface EvalOptions {
  signals: string[];
  labels: string[];
  config?: unknown;
  /** Country of a network prefix; by default the server's IP datasets (@ip-location-db). */
  countryOf?: (prefix: string) => string | null;
}

export interface EvalResult {
  config: DetectionConfig;
  files: string[];
  labelFiles: string[];
  overall: Scores;
  byDetector: Partial<Record<DetectorName, Scores>>;
  byFile: Record<string, Scores>;
  /** Recall and timing against each label file alone (precision is then against that file only). */
  byLabels: Record<string, Scores>;
  windows: AnomalyWindow[];
}

async function defaultCountryOf(): Promise<(prefix: string) => string | null> {
  const { loadIPDatasets } = await import('../collector/geo.js');
  const locator = await loadIPDatasets();
  return (prefix) => locator.lookup(prefixAddress(prefix)).cc;
}

/** Reads every signal file into data sets; Atlas logs also yield each probe's ASN (for labels). */
export async function loadDataSets(
  files: string[],
  countryOf?: (prefix: string) => string | null,
): Promise<{ sets: DataSet[]; probeAsn: Map<number, number | null> }> {
  const sets: DataSet[] = [];
  const probeAsn = new Map<number, number | null>();
  let lookup = countryOf;
  for (const file of files) {
    const name = path.basename(file);
    if (await isConnectionLog(file)) {
      lookup ??= await defaultCountryOf();
      const events: ConnectionEvent[] = await readConnectionLog(file);
      for (const e of events) if (!probeAsn.has(e.probe)) probeAsn.set(e.probe, e.asn);
      sets.push({ name, series: connectionLogToSeries(events, lookup, ATLAS_STEP) });
    } else {
      sets.push({ name, series: await readSignalFile(file) });
    }
  }
  return { sets, probeAsn };
}

export async function runEval(options: EvalOptions): Promise<EvalResult> {
  const config = parseDetectionConfig(options.config ?? {});
  const { sets, probeAsn } = await loadDataSets(options.signals, options.countryOf);
  const labels: Label[] = [];
  const labelSets: Record<string, Label[]> = {};
  for (const file of options.labels) {
    const read = await readLabels(file, (p) => probeAsn.get(p) ?? null);
    labelSets[path.basename(file)] = read;
    labels.push(...read);
  }

  const windows: AnomalyWindow[] = [];
  const coverage: Coverage[] = [];
  const byFile: Record<string, Scores> = {};
  for (const set of sets) {
    const found = detectAll(set.series, config);
    const cover = coverageOf(set.series);
    windows.push(...found);
    coverage.push(...cover);
    byFile[set.name] = score(found, labels, cover);
  }
  const byDetector: Partial<Record<DetectorName, Scores>> = {};
  for (const detector of ['median', 'cusum', 'burst'] as const) {
    const mine = windows.filter((w) => w.detector === detector);
    if (mine.length > 0) byDetector[detector] = score(mine, labels, coverage);
  }
  const byLabels: Record<string, Scores> = {};
  if (options.labels.length > 1)
    for (const [name, set] of Object.entries(labelSets)) byLabels[name] = score(windows, set, coverage);
  return {
    config,
    files: options.signals.map((f) => path.basename(f)),
    labelFiles: options.labels.map((f) => path.basename(f)),
    overall: score(windows, labels, coverage),
    byDetector,
    byFile,
    byLabels,
    windows,
  };
}

function pct(x: number | null): string {
  return x === null ? '—' : `${(100 * x).toFixed(1)}%`;
}

function minutes(seconds: number | null): string {
  return seconds === null ? '—' : `${(seconds / 60).toFixed(1)} min`;
}

/** One row of the scores table: the scope, then SCORE_COLUMNS' cells. */
export function scoreRow(name: string, s: Scores): string[] {
  return [
    name,
    `${s.found}/${s.labels}`,
    pct(s.recall),
    `${s.trueWindows}/${s.windows}`,
    pct(s.precision),
    minutes(s.medianStartErrorSeconds),
    minutes(s.medianTimeToDetectSeconds),
    s.falseAlertsPerEntityWeek === null ? '—' : s.falseAlertsPerEntityWeek.toFixed(3),
  ];
}

export const SCORE_COLUMNS = [
  'scope',
  'labels found',
  'recall',
  'true windows',
  'precision',
  'median start error',
  'median time to detect',
  'false alerts / entity-week',
];

/** The result as a Markdown table (one row overall, per detector, per file). */
export function scoresTable(result: EvalResult): string {
  const rows: string[][] = [scoreRow('all', result.overall)];
  for (const [name, s] of Object.entries(result.byDetector)) rows.push(scoreRow(`detector ${name}`, s));
  for (const [name, s] of Object.entries(result.byLabels)) rows.push(scoreRow(`labels ${name}`, s));
  for (const [name, s] of Object.entries(result.byFile)) rows.push(scoreRow(name, s));
  const lines = [
    `| ${SCORE_COLUMNS.join(' | ')} |`,
    `|${SCORE_COLUMNS.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
  return `${lines.join('\n')}\n`;
}

/** The result as JSON: scores and each label's outcome, without the series. */
export function resultJson(result: EvalResult): object {
  const strip = (s: Scores) => ({
    ...s,
    outcomes: s.outcomes.map((o) => ({ ...o, label: o.label })),
    falseAlerts: s.falseAlerts.map(({ alerts: _alerts, ...w }) => w),
  });
  return {
    files: result.files,
    labelFiles: result.labelFiles,
    overall: strip(result.overall),
    byDetector: Object.fromEntries(Object.entries(result.byDetector).map(([k, v]) => [k, strip(v)])),
    byLabels: Object.fromEntries(Object.entries(result.byLabels).map(([k, v]) => [k, strip(v)])),
    byFile: Object.fromEntries(
      Object.entries(result.byFile).map(([k, v]) => [k, { ...strip(v), outcomes: undefined }]),
    ),
  };
}
