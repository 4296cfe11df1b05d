/**
 * Blocking fingerprints in OONI's format (ooni/blocking-fingerprints, research/ooni.md §5): known
 * blockpage server addresses (DNS) and known blockpage bodies and headers (HTTP). A match is the
 * strongest evidence a measurement can carry, so it makes a result "confirmed".
 *
 * CSV columns: name, scope, other_names, location_found, pattern_type, pattern, confidence_no_fp,
 * expected_countries, source, exp_url, notes. The reader is our own small RFC 4180 parser so this
 * runs in the browser without dependencies.
 */

export type PatternType = 'full' | 'prefix' | 'contains' | 'regexp';

export interface Fingerprint {
  name: string;
  /** nat, isp, prod, inst, vbw (vague blocking word), fp (known false-positive pattern), … */
  scope: string;
  other_names: string[];
  /** `dns`, `body` or `header.<name>` (the header name lower-cased here). */
  location_found: string;
  pattern_type: PatternType;
  pattern: string;
  confidence_no_fp: number | null;
  expected_countries: string[];
  source: string;
  exp_url: string;
  notes: string;
  /** Where the row came from: the source name given to the parser and its first physical line. */
  origin: { file: string; line: number };
  /** The compiled pattern of a `regexp` row. */
  regexp?: RegExp;
}

/** A row left out on purpose, kept so tools can report it. */
export interface RejectedFingerprint {
  file: string;
  line: number;
  name: string;
  reason: string;
}

export interface FingerprintSet {
  dns: Fingerprint[];
  http: Fingerprint[];
  /** Rows skipped because their regexp does not compile in JavaScript (Go's syntax differs a little). */
  rejected: RejectedFingerprint[];
}

const PATTERN_TYPES: readonly string[] = ['full', 'prefix', 'contains', 'regexp'];
const REQUIRED_COLUMNS = ['name', 'location_found', 'pattern_type', 'pattern'] as const;

/** One CSV record and the physical line it starts on (1-based), for error messages. */
export interface CSVRecord {
  line: number;
  fields: string[];
}

/**
 * RFC 4180 records: comma-separated fields, CRLF or LF line ends, double-quoted fields that may
 * hold commas, newlines and doubled quotes. Blank lines are skipped. Malformed input throws an
 * error naming the source and the line, because a silently misread row would shift every field.
 */
export function parseCSVRecords(text: string, sourceName: string): CSVRecord[] {
  const records: CSVRecord[] = [];
  const input = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let line = 1;
  let i = 0;
  const n = input.length;
  while (i < n) {
    const recordLine = line;
    const fields: string[] = [];
    // Parse one record.
    for (;;) {
      let field = '';
      if (input[i] === '"') {
        const quoteLine = line;
        i++;
        for (;;) {
          if (i >= n) throw new Error(`${sourceName}:${quoteLine}: unterminated quoted field`);
          const c = input[i]!;
          if (c === '"') {
            if (input[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          field += c;
          i++;
        }
        const next = input[i];
        if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') {
          throw new Error(`${sourceName}:${line}: unexpected character after a closing quote`);
        }
      } else {
        while (i < n && input[i] !== ',' && input[i] !== '\n' && input[i] !== '\r') {
          if (input[i] === '"') throw new Error(`${sourceName}:${line}: quote inside an unquoted field`);
          field += input[i];
          i++;
        }
      }
      fields.push(field);
      if (input[i] === ',') {
        i++;
        continue;
      }
      // End of record: CRLF, LF, lone CR or end of input.
      if (input[i] === '\r') i++;
      if (input[i] === '\n') i++;
      line++;
      break;
    }
    if (fields.length === 1 && fields[0] === '') continue; // blank line
    records.push({ line: recordLine, fields });
  }
  return records;
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

function isValidLocation(location: string): boolean {
  return location === 'dns' || location === 'body' || /^header\.[!#$%&'*+.^_`|~0-9a-z-]+$/.test(location);
}

/**
 * Parse a blocking-fingerprints CSV. Rows with a malformed structure throw (naming source and
 * line); rows whose regexp JavaScript cannot compile are skipped and listed in `rejected`.
 */
export function parseFingerprintsCSV(text: string, sourceName: string): FingerprintSet {
  const records = parseCSVRecords(text, sourceName);
  const set: FingerprintSet = { dns: [], http: [], rejected: [] };
  const header = records.shift();
  if (!header) return set;
  const columns = header.fields.map((f) => f.trim());
  for (const required of REQUIRED_COLUMNS) {
    if (!columns.includes(required)) {
      throw new Error(`${sourceName}:${header.line}: header lacks the "${required}" column`);
    }
  }
  for (const record of records) {
    const where = `${sourceName}:${record.line}`;
    if (record.fields.length !== columns.length) {
      throw new Error(`${where}: expected ${columns.length} fields, found ${record.fields.length}`);
    }
    const row: Record<string, string> = {};
    columns.forEach((column, index) => {
      row[column] = record.fields[index]!;
    });
    const name = row.name!.trim();
    if (name === '') throw new Error(`${where}: empty fingerprint name`);
    const patternType = row.pattern_type!.trim();
    if (!PATTERN_TYPES.includes(patternType)) {
      throw new Error(`${where}: fingerprint ${name} has unknown pattern_type "${patternType}"`);
    }
    // Header names are case-insensitive, so they are stored lower-cased once here.
    const location = row.location_found!.trim().toLowerCase();
    if (!isValidLocation(location)) {
      throw new Error(`${where}: fingerprint ${name} has unknown location_found "${row.location_found}"`);
    }
    const pattern = row.pattern!;
    if (pattern === '') throw new Error(`${where}: fingerprint ${name} has an empty pattern`);
    const confidence = Number.parseInt(row.confidence_no_fp ?? '', 10);
    const fingerprint: Fingerprint = {
      name,
      scope: (row.scope ?? '').trim(),
      other_names: splitList(row.other_names ?? ''),
      location_found: location,
      pattern_type: patternType as PatternType,
      pattern,
      confidence_no_fp: Number.isFinite(confidence) ? confidence : null,
      expected_countries: splitList(row.expected_countries ?? '').map((c) => c.toUpperCase()),
      source: row.source ?? '',
      exp_url: row.exp_url ?? '',
      notes: row.notes ?? '',
      origin: { file: sourceName, line: record.line },
    };
    if (patternType === 'regexp') {
      try {
        // No flags: OONI's patterns are Go RE2 without flags, case-sensitive, "." not matching newlines.
        fingerprint.regexp = new RegExp(pattern);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        set.rejected.push({ file: sourceName, line: record.line, name, reason: `regexp: ${reason}` });
        continue;
      }
    }
    (location === 'dns' ? set.dns : set.http).push(fingerprint);
  }
  return set;
}

/**
 * Combine fingerprint sets. A later set's fingerprint replaces an earlier one of the same name, so
 * a local file can correct an upstream row; rejected rows are all kept for reporting.
 */
export function mergeFingerprints(...sets: FingerprintSet[]): FingerprintSet {
  const merge = (lists: Fingerprint[][]): Fingerprint[] => {
    const byName = new Map<string, Fingerprint>();
    for (const list of lists) for (const fp of list) byName.set(fp.name, fp);
    return [...byName.values()];
  };
  return {
    dns: merge(sets.map((s) => s.dns)),
    http: merge(sets.map((s) => s.http)),
    rejected: sets.flatMap((s) => s.rejected),
  };
}

/** Number of usable fingerprints in a set. */
export function fingerprintCount(set: FingerprintSet): number {
  return set.dns.length + set.http.length;
}

/** Does one value match one fingerprint's pattern? */
export function matchesPattern(fp: Fingerprint, value: string): boolean {
  switch (fp.pattern_type) {
    case 'full':
      return value === fp.pattern;
    case 'prefix':
      return value.startsWith(fp.pattern);
    case 'contains':
      return value.includes(fp.pattern);
    case 'regexp':
      return fp.regexp ? fp.regexp.test(value) : false;
  }
}

/**
 * `fp` rows describe pages that look like blockpages but are not (OONI's "known false-positive
 * pattern" scope): they exist to be discounted, so they never count as a match.
 */
function counts(fp: Fingerprint): boolean {
  return fp.scope !== 'fp';
}

/** DNS fingerprints (blockpage server addresses) matched by any of these resolved addresses. */
export function matchDNSFingerprints(set: FingerprintSet, addresses: Iterable<string>): Fingerprint[] {
  const values = [...new Set([...addresses].map((a) => a.toLowerCase()))];
  return set.dns.filter((fp) => counts(fp) && values.some((a) => matchesPattern(fp, a)));
}

/** What HTTP fingerprints look at: a response body as text and its headers (any case, repeatable). */
export interface HTTPResponseView {
  body: string | null;
  headers: Iterable<readonly [string, string]>;
}

/** HTTP fingerprints matched by a response's body or headers (header names case-insensitive). */
export function matchHTTPFingerprints(set: FingerprintSet, response: HTTPResponseView): Fingerprint[] {
  const headers = new Map<string, string[]>();
  for (const [name, value] of response.headers) {
    const key = name.toLowerCase();
    const list = headers.get(key) ?? [];
    list.push(value);
    headers.set(key, list);
  }
  return set.http.filter((fp) => {
    if (!counts(fp)) return false;
    if (fp.location_found === 'body') return response.body !== null && matchesPattern(fp, response.body);
    const values = headers.get(fp.location_found.slice('header.'.length)) ?? [];
    return values.some((v) => matchesPattern(fp, v));
  });
}
