/**
 * STOP-compatible CSV (Access Now's #KeepItOn Shutdown Tracker Optimization Project): export with
 * the combined sheet's 47 columns, and import of the combined sheet, the 2020–22 per-year sheets
 * (the same columns but region and count_year), the 2019 sheet, the 2016–18 sheet and the
 * normalized 2016–22 table. See docs/detection.md, "Incidents".
 *
 * What Pharos models (dates, country, area, type, extent, status, platforms, telcos, cause,
 * justification, legal basis, election) is mapped to incident fields and written back from them;
 * every other column of an imported row is kept as read (`source.stop`) and written back as it
 * was, so a sheet imported and exported again is the same sheet.
 */
import { createHash } from 'node:crypto';
import { canonicalJSON } from '@pharos/core';
import { formatCsv, parseCsv } from './csv.js';
import {
  countryCode,
  countryName,
  PLATFORM_COLUMNS,
  STOP_COLUMNS,
  type StopColumn,
} from './stop-vocabulary.js';
import type { Incident, IncidentAnnotations, ShutdownExtent, ShutdownType } from './types.js';

const DAY = 86_400;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

export class StopFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StopFormatError';
  }
}

export type StopSchema = 'combined' | 'yearly-2020' | 'yearly-2019' | 'yearly-2016' | 'normalized';

export interface StopImport {
  schema: StopSchema;
  incidents: Incident[];
  /** Rows read with something that could not be understood (kept, with the reason). */
  warnings: string[];
}

/** Header names compared loosely: older sheets have trailing spaces and other capitals. */
function key(header: string): string {
  return header
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');
}

function detectSchema(keys: Set<string>, fileName: string): StopSchema {
  if (keys.has('sheet') && keys.has('shutdown_extent')) return 'normalized';
  if (keys.has('start_date_type') && keys.has('shutdown_extent')) {
    return keys.has('count_year') ? 'combined' : 'yearly-2020';
  }
  if (keys.has('shutdown_type_new')) return 'yearly-2019';
  if (keys.has('shutdown_type_group')) return 'yearly-2016';
  throw new StopFormatError(
    `${fileName}: not a STOP sheet this importer knows (expected the combined sheet's columns start_date_type, start_date, country, …, or one of the older per-year layouts)`,
  );
}

function parseTypes(text: string): ShutdownType[] {
  const t = text.toLowerCase();
  if (t.trim() === '' || t.trim() === 'unknown') return [];
  const out: ShutdownType[] = [];
  // "Shutdown", "Broadband Internet, Mobile Internet", "Service-based": something was cut off.
  if (/shutdown|internet|service|sms|telephony|full/.test(t)) out.push('Shutdown');
  if (/throttl/.test(t)) out.push('Throttle');
  return out;
}

function parseExtents(text: string): ShutdownExtent[] {
  const t = text.toLowerCase();
  const out: ShutdownExtent[] = [];
  if (/full|mobile internet|broadband internet|throttling/.test(t)) out.push('Full network');
  if (/service/.test(t)) out.push('Service-based');
  return out;
}

function dateOf(text: string): string | null {
  const t = text.trim();
  return ISO_DATE.test(t) && !Number.isNaN(Date.parse(t)) ? t : null;
}

function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00.000Z`) + days * DAY * 1000).toISOString();
}

function isYes(text: string): boolean {
  const t = text.trim().toLowerCase();
  return t === 'yes' || t === '1' || t === '1.0';
}

/** The telcos as STOP lists them: "Azerbaijan: Bakcell, Azerbaijan: Nar (Azerfon)". */
function splitTelcos(text: string): string[] {
  if (text === '') return [];
  return text.split(/,\s*(?=[^,()]+:\s)/).filter((p) => p !== '');
}

/** The status STOP's row implies, for a row whose shutdown_status says nothing definite. */
function importedStatus(status: string, endDate: string | null): 'ongoing' | 'ended' {
  if (endDate !== null || status.trim().toLowerCase() === 'ended') return 'ended';
  return 'ongoing';
}

/** A stable id for an imported row: its content, and which copy of it this is. */
function importId(raw: Record<string, string>, occurrence: number): string {
  const hash = createHash('sha256')
    .update(`${canonicalJSON(raw)}\n${occurrence}`)
    .digest('hex');
  return `stop_${hash.slice(0, 20)}`;
}

/** Reads a STOP sheet into incidents (review confirmed: they were documented by people). */
export function importStop(text: string, fileName: string, now = new Date()): StopImport {
  const records = parseCsv(text, fileName);
  if (records.length === 0) throw new StopFormatError(`${fileName} is empty`);
  const header = records[0]!.fields;
  const keys = header.map(key);
  const schema = detectSchema(new Set(keys), fileName);
  const warnings: string[] = [];
  const seen = new Map<string, number>();
  const at = now.toISOString();
  const incidents: Incident[] = [];
  for (const { line, fields } of records.slice(1)) {
    const raw: Record<string, string> = {};
    header.forEach((h, i) => {
      raw[h] = fields[i] ?? '';
    });
    const get = (...names: string[]): string => {
      for (const n of names) {
        const i = keys.indexOf(n);
        if (i >= 0) return fields[i] ?? '';
      }
      return '';
    };
    const where = `${fileName}:${line}`;
    const start = dateOf(get('start_date'));
    if (!start) {
      warnings.push(`${where}: start_date "${get('start_date')}" is not a date (YYYY-MM-DD); row skipped`);
      continue;
    }
    const endDate = dateOf(get('end_date'));
    const status = get('shutdown_status');
    const countryText = get('country');
    const code = countryCode(countryText.split(';')[0]!.trim());
    if (!code) warnings.push(`${where}: country "${countryText}" has no ISO 3166 code here; kept as ZZ`);
    const types = parseTypes(get('shutdown_type', 'shutdown_type_new'));
    const extentText = get('shutdown_extent', 'full_or_service_based', 'shutdown_type_group');
    let extents = parseExtents(extentText);
    if (extents.length === 0) extents = parseTypes(get('shutdown_type')).length ? ['Full network'] : [];
    const services: string[] = [];
    for (const p of PLATFORM_COLUMNS) if (isYes(get(p.column))) services.push(p.ids[0]!);
    const other = get('other_affected', 'other_service_details_specify');
    const annotations: IncidentAnnotations = {};
    const put = (field: keyof IncidentAnnotations, value: string) => {
      if (value !== '') annotations[field] = value as never;
    };
    put('actual_cause', get('actual_cause'));
    put('gov_justification', get('gov_justification', 'official_just'));
    put('legal_just', get('legal_just', 'legal_justif'));
    put('legal_method', get('legal_method'));
    put('election', get('election'));
    const occurrence = seen.get(canonicalJSON(raw)) ?? 0;
    seen.set(canonicalJSON(raw), occurrence + 1);
    const startDateType = get('start_date_type').trim();
    const country = code ?? 'ZZ';
    const telcos = splitTelcos(get('telcos_involved'));
    incidents.push({
      id: importId(raw, occurrence),
      scope: {
        entity: `country:${country}`,
        country,
        region: null,
        asns: [],
        services,
        area: get('area_name'),
        ...(telcos.length > 0 ? { telcos } : {}),
        ...(other !== '' ? { services_other: other } : {}),
        ...(countryName(country) !== countryText ? { country_name: countryText } : {}),
      },
      shutdown_type: types[0] ?? 'Shutdown',
      shutdown_extent: extents[0] ?? 'Full network',
      shutdown_types: types,
      shutdown_extents: extents,
      ...(startDateType === 'Actual' || startDateType === 'Estimated'
        ? { start_date_type: startDateType }
        : {}),
      status: importedStatus(status, endDate),
      start: `${start}T00:00:00.000Z`,
      start_precision_seconds: DAY,
      // STOP's end_date is the last day affected: the incident ends when that day does.
      end: endDate ? addDays(endDate, 1) : null,
      end_precision_seconds: endDate ? DAY : null,
      confidence: 1,
      review: 'confirmed',
      annotations,
      evidence: { windows: [], measurements: [] },
      opened_at: at,
      updated_at: at,
      source: { file: fileName, row: line, stop: raw },
    });
  }
  return { schema, incidents, warnings };
}

function day(iso: string): string {
  return iso.slice(0, 10);
}

/** One incident as a STOP row (the 47 columns). */
export function stopRow(incident: Incident): Record<StopColumn, string> {
  const raw = incident.source?.stop ?? {};
  const row = Object.fromEntries(STOP_COLUMNS.map((c) => [c, raw[c] ?? ''])) as Record<StopColumn, string>;
  const s = incident.scope;
  const a = incident.annotations;
  const types = incident.shutdown_types ?? [incident.shutdown_type];
  const extents = incident.shutdown_extents ?? [incident.shutdown_extent];
  row.start_date_type = incident.start_date_type ?? '';
  row.start_date = day(incident.start);
  // Our end is the instant it ended; STOP's end_date the last day it lasted.
  row.end_date = incident.end === null ? '' : day(new Date(Date.parse(incident.end) - 1).toISOString());
  row.country = s.country_name ?? (s.country ? countryName(s.country) : '');
  row.area_name = s.area ?? s.region ?? (s.asns.length === 0 && s.country ? 'Nationwide' : '');
  row.shutdown_type = types.length === 0 ? 'Unknown' : types.join(', ');
  row.shutdown_extent = extents.join(', ');
  const rawStatus = raw.shutdown_status;
  const endDate = raw.end_date !== undefined ? dateOf(raw.end_date) : null;
  row.shutdown_status =
    rawStatus !== undefined &&
    (rawStatus === '' || rawStatus === 'Unknown') &&
    incident.status === importedStatus(rawStatus, endDate)
      ? rawStatus
      : incident.status === 'ended'
        ? 'Ended'
        : 'Ongoing';
  for (const p of PLATFORM_COLUMNS) {
    const affected = p.ids.some((id) => s.services.includes(id));
    const before = raw[p.column];
    row[p.column] = affected ? 'Yes' : before !== undefined && !isYes(before) ? before : 'No';
  }
  const known = new Set(PLATFORM_COLUMNS.flatMap((p) => p.ids));
  row.other_affected = [s.services_other, ...s.services.filter((x) => !known.has(x))]
    .filter((x) => x !== undefined && x !== '')
    .join(', ');
  row.telcos_involved = (
    s.telcos ?? (raw.telcos_involved === undefined ? s.asns.map((n) => `AS${n}`) : [])
  ).join(', ');
  row.actual_cause = a.actual_cause ?? '';
  row.gov_justification = a.gov_justification ?? '';
  row.legal_just = a.legal_just ?? '';
  row.legal_method = a.legal_method ?? '';
  row.election = a.election ?? '';
  if (!incident.source) {
    // Detected incidents: what STOP computes from the dates, and where the evidence lives.
    if (incident.end !== null) {
      row.duration = String(
        Math.max(1, Math.round((Date.parse(incident.end) - Date.parse(incident.start)) / 86_400_000)),
      );
    }
    row.count_year = incident.start.slice(0, 4);
    row.info_source = 'Other';
    row.event = a.note ?? '';
  }
  return row;
}

/** STOP CSV of incidents: the header, then one row each. */
export function exportStop(incidents: readonly Incident[]): string {
  return formatCsv([
    [...STOP_COLUMNS],
    ...incidents.map((i) => {
      const row = stopRow(i);
      return STOP_COLUMNS.map((c) => row[c]);
    }),
  ]);
}
