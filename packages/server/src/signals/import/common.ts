/**
 * What the signal importers share: the error type that names file and place, step and time
 * parsing, and the per-series summary an import prints.
 */
import type { SignalPoint } from '../types.js';

/** A problem in an input file, already phrased as "FILE:LINE: what; what to do" (one per line). */
export class SignalImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignalImportError';
  }
}

/** Collects up to `limit` problems so one run shows several bad rows, not only the first. */
export class ProblemList {
  readonly items: string[] = [];
  total = 0;
  constructor(private readonly limit = 10) {}
  add(message: string): void {
    this.total++;
    if (this.items.length < this.limit) this.items.push(message);
  }
  throwIfAny(): void {
    if (this.total === 0) return;
    const more = this.total - this.items.length;
    const tail = more > 0 ? `\n… and ${more} more problem${more === 1 ? '' : 's'}` : '';
    throw new SignalImportError(`${this.items.join('\n')}${tail}`);
  }
}

const UNIT_SECONDS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };

/** A step such as 300, 300s, 5m, 1h or 1d, in whole seconds; null when it is not one. */
export function parseStep(text: string): number | null {
  const m = /^\s*(\d+)\s*([smhd]?)\s*$/i.exec(text);
  if (!m) return null;
  const seconds = Number(m[1]) * (UNIT_SECONDS[(m[2] ?? '').toLowerCase()] ?? Number.NaN);
  return Number.isSafeInteger(seconds) && seconds > 0 ? seconds : null;
}

const ISO_WITHOUT_ZONE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$/;

/**
 * Epoch seconds from epoch seconds or ISO 8601 text; an ISO time without a zone is UTC (signals
 * are compared across countries, and a machine's local zone must not shift them).
 */
export function parseTime(text: string): { time: number } | { error: string } {
  const t = text.trim();
  if (/^-?\d+(?:\.\d+)?$/.test(t)) {
    const n = Number(t);
    if (!Number.isSafeInteger(n) || n < 0) {
      return { error: `time "${text}" is not a whole number of epoch seconds` };
    }
    return { time: n };
  }
  const ms = Date.parse(ISO_WITHOUT_ZONE.test(t) ? `${t.replace(' ', 'T')}Z` : t);
  if (!/^\d{4}-\d{2}-\d{2}/.test(t) || Number.isNaN(ms)) {
    return {
      error: `time "${text}" is neither epoch seconds nor an ISO 8601 time (e.g. 2023-09-19T12:00:00Z)`,
    };
  }
  if (ms % 1000 !== 0)
    return { error: `time "${text}" has a fraction of a second; signal times are whole seconds` };
  return { time: ms / 1000 };
}

export function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

/** What one import brought in for one (entity, signal, step). */
export interface SeriesSummary {
  entity: string;
  signal: string;
  step: number;
  points: number;
  /** First point's time. */
  from: number;
  /** End of the last point's step. */
  until: number;
}

/** Accumulates SeriesSummary rows as points go by. */
export class SeriesTally {
  private readonly rows = new Map<string, SeriesSummary>();

  add(p: SignalPoint): void {
    const key = `${p.entity}\u0000${p.signal}\u0000${p.step}`;
    const row = this.rows.get(key);
    if (row === undefined) {
      this.rows.set(key, {
        entity: p.entity,
        signal: p.signal,
        step: p.step,
        points: 1,
        from: p.time,
        until: p.time + p.step,
      });
      return;
    }
    row.points++;
    if (p.time < row.from) row.from = p.time;
    if (p.time + p.step > row.until) row.until = p.time + p.step;
  }

  summaries(): SeriesSummary[] {
    return [...this.rows.values()].sort(
      (a, b) => a.entity.localeCompare(b.entity) || a.signal.localeCompare(b.signal) || a.step - b.step,
    );
  }
}

/** The outcome of importing one file. */
export interface ImportResult {
  file: string;
  format: 'csv' | 'ioda';
  /** Points read (after skipping missing values). */
  points: number;
  /** Points that were new or changed in the store (0 when the same file is imported again). */
  written: number;
  /** Rows or values without a value (empty / null): missing data, not zero. */
  missing: number;
  series: SeriesSummary[];
}

/** Progress through a file, for long files. */
export interface ImportProgress {
  file: string;
  phase: 'checking' | 'writing';
  bytes: number;
  totalBytes: number;
  rows: number;
}
