/**
 * Citizen Lab test lists (github.com/citizenlab/test-lists): CSV with the header
 * `url,category_code,category_description,date_added,source,notes`. A bad row must not sink a
 * list of hundreds, so rows are checked one by one: each bad row becomes a warning naming
 * `file:line` and is skipped; only a file we cannot use at all (no `url` column) is an error.
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { checkMeasurableURL } from './measurable-url.js';

export interface InputURL {
  /** The URL as written in the source (trimmed), which is what the measurement records. */
  url: string;
  /** The test list's category code (e.g. NEWS), null for URLs given on the command line. */
  categoryCode: string | null;
  /** Where it came from, for warnings: `file:line` or `--input`. */
  origin: string;
}

export interface TestListParse {
  entries: InputURL[];
  warnings: string[];
}

/** The file cannot be used at all; the message names the file and what is wrong. */
export class TestListError extends Error {
  override name = 'TestListError';
}

interface ParsedRecord {
  record: string[];
  info: { lines: number };
}

export function parseTestList(text: string, fileName: string): TestListParse {
  // csv-parse counts a CRLF as two lines, which would make every line number after it wrong.
  const normalized = text.replace(/\r\n?/g, '\n');
  const warnings: string[] = [];
  const skipped: { code: string | undefined; message: string; line: number }[] = [];
  const records = parse(normalized, {
    bom: true,
    info: true,
    // Checked per row below, so a short row is a warning rather than the end of the file.
    relax_column_count: true,
    // A stray quote inside a field (`a"b`) is kept as text; the URL check catches real damage.
    relax_quotes: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    on_skip: (err) => {
      skipped.push({
        code: err?.code,
        message: err?.message ?? 'unreadable row',
        line: typeof err?.lines === 'number' ? err.lines : 0,
      });
      return undefined;
    },
  }) as unknown as ParsedRecord[];
  for (const skip of skipped) warnings.push(describeSkip(skip, records, normalized, fileName));

  const [header, ...rows] = records;
  if (!header) throw new TestListError(`${fileName} is empty: expected a header row with a "url" column`);
  const columns = header.record.map((name) => name.trim().toLowerCase());
  const urlColumn = columns.indexOf('url');
  if (urlColumn < 0) {
    throw new TestListError(
      `${fileName}: the header (line ${startLine(header)}) has no "url" column; a Citizen Lab test list starts with url,category_code,category_description,date_added,source,notes`,
    );
  }
  const categoryColumn = columns.indexOf('category_code');

  const entries: InputURL[] = [];
  for (const row of rows) {
    const where = `${fileName}:${startLine(row)}`;
    if (row.record.length !== columns.length) {
      warnings.push(`${where}: ${row.record.length} columns where the header has ${columns.length}; skipped`);
      continue;
    }
    const url = (row.record[urlColumn] ?? '').trim();
    const check = checkMeasurableURL(url);
    if (!check.ok) {
      warnings.push(
        `${where}: ${url === '' ? 'empty url' : `invalid URL "${url}"`}: ${check.reason}; skipped`,
      );
      continue;
    }
    const category = categoryColumn >= 0 ? (row.record[categoryColumn] ?? '').trim() : '';
    entries.push({ url, categoryCode: category === '' ? null : category, origin: where });
  }
  return { entries, warnings };
}

export async function readTestList(file: string, displayName = file): Promise<TestListParse> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new TestListError(`cannot read test list ${displayName}: ${(err as Error).message}`);
  }
  return parseTestList(text, displayName);
}

/**
 * csv-parse can only say where it gave up; for the common damage, a quote never closed, say
 * where the swallowed rows begin, so the user knows which lines to look at.
 */
function describeSkip(
  skip: { code: string | undefined; message: string; line: number },
  records: ParsedRecord[],
  text: string,
  fileName: string,
): string {
  if (skip.code !== 'CSV_QUOTE_NOT_CLOSED') return `${fileName}:${skip.line}: ${skip.message}; skipped`;
  const lines = text.split('\n');
  let first = (records.at(-1)?.info.lines ?? 0) + 1;
  while (first < skip.line && (lines[first - 1] ?? '').trim() === '') first++;
  return `${fileName}:${first}: a quote opened on this row is never closed; lines ${first}-${skip.line} skipped`;
}

/** csv-parse reports the line a record ends on; quoted fields may span lines. */
function startLine(parsed: ParsedRecord): number {
  const innerNewlines = parsed.record.reduce((n, field) => n + field.split('\n').length - 1, 0);
  return parsed.info.lines - innerNewlines;
}
