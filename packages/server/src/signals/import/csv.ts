/**
 * CSV signal files: a header naming the columns `time,entity,signal,value` and optionally `count`
 * and `step` (any order). `time` is epoch seconds or ISO 8601 (UTC when no zone is given);
 * `value` empty means missing data (skipped, counted); `count` defaults to 1; `step` is seconds or
 * 300s/5m/1h/1d, else the --step option, else inferred per (entity, signal) as the smallest gap
 * between its times.
 *
 * The file is streamed twice: first every row is checked (and the times of series whose step must
 * be inferred are kept), so a bad row stops the import before anything is written; then the rows
 * are read again and written in batches. Memory stays small however long the file is.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { checkSignalPoint, type SignalStore } from '../store.js';
import type { SignalPoint } from '../types.js';
import {
  type ImportProgress,
  type ImportResult,
  isoTime,
  ProblemList,
  parseStep,
  parseTime,
  SeriesTally,
  SignalImportError,
} from './common.js';

const REQUIRED = ['time', 'entity', 'signal', 'value'] as const;
const OPTIONAL = ['count', 'step'] as const;
type Column = (typeof REQUIRED)[number] | (typeof OPTIONAL)[number];

export interface CsvImportOptions {
  /** Step in seconds for rows without a step column (skips inference). */
  step?: number;
  /** Points per store write. */
  batchSize?: number;
  onProgress?: (p: ImportProgress) => void;
  /** Label stored with the points (default `csv:<file name>`). */
  source?: string;
}

/** Splits one CSV line; fields may be double-quoted ("" inside quotes is a quote). */
export function splitCsvLine(line: string): string[] | null {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let field = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return null;
        field += line.slice(i, q);
        if (line[q + 1] === '"') {
          field += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      out.push(field);
      if (i === line.length) return out;
      if (line[i] !== ',') return null;
      i++;
    } else {
      const c = line.indexOf(',', i);
      if (c < 0) {
        out.push(line.slice(i));
        return out;
      }
      out.push(line.slice(i, c));
      i = c + 1;
    }
  }
}

interface Row {
  line: number;
  entity: string;
  signal: string;
  time: number;
  value: number | null;
  count: number;
  /** Null: inferred per series. */
  step: number | null;
}

type Columns = Partial<Record<Column, number>>;

function parseHeader(file: string, header: string): Columns {
  const names = (splitCsvLine(header.replace(/^\uFEFF/, '')) ?? []).map((n) => n.trim().toLowerCase());
  const columns: Columns = {};
  names.forEach((name, i) => {
    if (!([...REQUIRED, ...OPTIONAL] as string[]).includes(name)) {
      throw new SignalImportError(
        `${file}:1: unknown column "${name}"; the header names time, entity, signal, value and optionally count and step`,
      );
    }
    if (columns[name as Column] !== undefined)
      throw new SignalImportError(`${file}:1: column "${name}" appears twice`);
    columns[name as Column] = i;
  });
  const missing = REQUIRED.filter((c) => columns[c] === undefined);
  if (missing.length > 0) {
    throw new SignalImportError(
      `${file}:1: the header lacks ${missing.join(', ')}; the first line must name the columns, e.g. time,entity,signal,value`,
    );
  }
  return columns;
}

/** Parses one data line into a Row, or says what is wrong with it. */
function parseRow(
  fields: string[],
  columns: Columns,
  line: number,
  defaultStep: number | undefined,
): Row | { error: string } {
  const width = Object.keys(columns).length;
  if (fields.length !== width) return { error: `${fields.length} fields where the header has ${width}` };
  const get = (c: Column) => (columns[c] === undefined ? '' : (fields[columns[c]] ?? '').trim());
  const time = parseTime(get('time'));
  if ('error' in time) return time;
  const entity = get('entity');
  const signal = get('signal');
  const valueText = get('value');
  let value: number | null = null;
  if (valueText !== '') {
    value = Number(valueText);
    if (!Number.isFinite(value))
      return { error: `value "${valueText}" is not a finite number (leave it empty for missing data)` };
  }
  let count = 1;
  const countText = get('count');
  if (countText !== '') {
    count = Number(countText);
    if (!Number.isSafeInteger(count) || count < 0)
      return { error: `count "${countText}" is not a whole number ≥ 0` };
  }
  let step: number | null = defaultStep ?? null;
  if (columns.step !== undefined) {
    const stepText = get('step');
    if (stepText === '') {
      if (defaultStep === undefined) return { error: 'step is empty; fill it in or give --step' };
    } else {
      step = parseStep(stepText);
      if (step === null) return { error: `step "${stepText}" is not a duration such as 300, 300s, 5m or 1h` };
    }
  }
  return { line, entity, signal, time: time.time, value, count, step };
}

/** Lines of a file with their numbers, reporting progress every 100,000 lines. */
async function* lines(
  file: string,
  phase: ImportProgress['phase'],
  onProgress: CsvImportOptions['onProgress'],
): AsyncGenerator<{ text: string; line: number }> {
  const totalBytes = (await stat(file)).size;
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
  const reader = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  try {
    for await (const text of reader) {
      line++;
      if (onProgress && line % 100_000 === 0) {
        onProgress({ file, phase, bytes: stream.bytesRead, totalBytes, rows: line });
      }
      yield { text, line };
    }
  } finally {
    reader.close();
    stream.destroy();
  }
}

interface InferredSeries {
  times: number[];
  lines: number[];
}

const seriesKey = (entity: string, signal: string) => `${entity}\u0000${signal}`;

/**
 * Reads, checks and writes one CSV file. Throws SignalImportError listing bad rows by line, with
 * nothing written, when any row is bad.
 */
export async function importCsvFile(
  store: SignalStore,
  file: string,
  options: CsvImportOptions = {},
): Promise<ImportResult> {
  const problems = new ProblemList();
  const entities = new Map<string, string>();
  const inferred = new Map<string, InferredSeries>();
  let columns: Columns | undefined;

  // Pass 1: check every row; keep times (and lines) of series whose step must be inferred.
  for await (const { text, line } of lines(file, 'checking', options.onProgress)) {
    if (line === 1) {
      columns = parseHeader(file, text);
      continue;
    }
    if (text.trim() === '') continue;
    const row = parseLine(text, columns as Columns, line, options.step);
    if ('error' in row) {
      problems.add(`${file}:${line}: ${row.error}`);
      continue;
    }
    // An inferred step is checked as 1 here (anything aligns) and for alignment once it is known.
    const point = {
      entity: row.entity,
      signal: row.signal,
      time: row.time,
      step: row.step ?? 1,
      value: row.value ?? 0,
      count: row.count,
    };
    const checked = checkSignalPoint(point, entities);
    if ('error' in checked) {
      problems.add(`${file}:${line}: ${checked.error}`);
      continue;
    }
    if (row.step === null) {
      const key = seriesKey(checked.point.entity, row.signal);
      let s = inferred.get(key);
      if (!s) {
        s = { times: [], lines: [] };
        inferred.set(key, s);
      }
      s.times.push(row.time);
      s.lines.push(line);
    }
  }
  if (columns === undefined) {
    throw new SignalImportError(
      `${file}: the file is empty; it needs a header line such as time,entity,signal,value`,
    );
  }
  problems.throwIfAny();
  const steps = inferSteps(file, inferred, problems);
  problems.throwIfAny();

  // Pass 2: read again and write in batches.
  const source = options.source ?? `csv:${baseName(file)}`;
  const batchSize = options.batchSize ?? 100_000;
  const tally = new SeriesTally();
  let batch: SignalPoint[] = [];
  let points = 0;
  let written = 0;
  let missing = 0;
  for await (const { text, line } of lines(file, 'writing', options.onProgress)) {
    if (line === 1 || text.trim() === '') continue;
    const row = parseLine(text, columns, line, options.step) as Row;
    if (row.value === null) {
      missing++;
      continue;
    }
    const entity = entities.get(row.entity) as string;
    const step = row.step ?? (steps.get(seriesKey(entity, row.signal)) as number);
    const point: SignalPoint = {
      entity,
      signal: row.signal,
      time: row.time,
      step,
      value: row.value,
      count: row.count,
    };
    tally.add(point);
    batch.push(point);
    points++;
    if (batch.length >= batchSize) {
      written += await store.put(batch, source);
      batch = [];
    }
  }
  if (batch.length > 0) written += await store.put(batch, source);
  return { file, format: 'csv', points, written, missing, series: tally.summaries() };
}

function parseLine(
  text: string,
  columns: Columns,
  line: number,
  step: number | undefined,
): Row | { error: string } {
  const fields = splitCsvLine(text);
  if (fields === null) return { error: 'a quoted field is not closed' };
  return parseRow(fields, columns, line, step);
}

/** Smallest gap between distinct times, per series; then every time must sit on that step. */
function inferSteps(
  file: string,
  inferred: Map<string, InferredSeries>,
  problems: ProblemList,
): Map<string, number> {
  const steps = new Map<string, number>();
  for (const [key, s] of inferred) {
    const [entity, signal] = key.split('\u0000') as [string, string];
    const sorted = [...new Set(s.times)].sort((a, b) => a - b);
    if (sorted.length < 2) {
      problems.add(
        `${file}:${s.lines[0]}: ${entity} ${signal} has a single time, so its step cannot be inferred; add a step column or give --step`,
      );
      continue;
    }
    let step = Number.POSITIVE_INFINITY;
    for (let i = 1; i < sorted.length; i++)
      step = Math.min(step, (sorted[i] as number) - (sorted[i - 1] as number));
    steps.set(key, step);
    for (let i = 0; i < s.times.length; i++) {
      const t = s.times[i] as number;
      if (t % step !== 0) {
        problems.add(
          `${file}:${s.lines[i]}: time ${t} (${isoTime(t)}) is not a multiple of ${entity} ${signal}'s step of ${step} s (inferred from the smallest gap); align the times to the step or give --step`,
        );
        break;
      }
    }
  }
  return steps;
}

function baseName(file: string): string {
  return file.split(/[\\/]/).pop() ?? file;
}
