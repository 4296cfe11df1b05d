/**
 * Labelled events for `pharos eval`: our CSV (`entity,start,end`) and Disco's two event files
 * (research data in atlas-disco/README.txt), all turned into one shape.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { canonicalEntity } from '../signals/entity.js';
import { parseTime } from './signal-files.js';

export interface Label {
  entity: string;
  /** Epoch seconds. */
  start: number;
  end: number;
  /** Where it came from, e.g. `labels.csv:12` or `disco_topEvents_thres12.txt#210`. */
  source: string;
}

export type LabelFormat = 'csv' | 'disco-events' | 'disco-medians';

/** Tells the three formats apart by their first line. */
export function labelFormat(text: string): LabelFormat {
  const first = text.split('\n', 1)[0] ?? '';
  if (/^\d+\|[\d.]+\|[\d.]+\|set\(/.test(first)) return 'disco-events';
  if (/^\d+\|[\d.]+\|[\d.]+\|[\d.]+\|\[/.test(first)) return 'disco-medians';
  return 'csv';
}

/** CSV `entity,start,end` (header optional; times ISO 8601 or epoch seconds; `#` comments). */
export function parseLabelsCsv(text: string, name: string): Label[] {
  const out: Label[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '' || line.startsWith('#')) continue;
    const cells = line.split(',').map((c) => c.trim());
    if (i === 0 && cells[0]?.toLowerCase() === 'entity') continue;
    const where = `${name}:${i + 1}`;
    if (cells.length < 3) throw new Error(`${where}: expected entity,start,end, got "${line}"`);
    let entity: string;
    try {
      entity = canonicalEntity(cells[0] as string);
    } catch (err) {
      throw new Error(`${where}: ${(err as Error).message}`);
    }
    const start = parseTime(cells[1] as string, `${where}: start`);
    const end = parseTime(cells[2] as string, `${where}: end`);
    if (end < start) throw new Error(`${where}: end ${cells[2]} is before start ${cells[1]}`);
    out.push({ entity, start, end, source: where });
  }
  return out;
}

/** The entity of one of Disco's aggregation units: an ASN or a country; probe clusters have none. */
export function discoUnitEntity(unit: string): string | null {
  if (/^\d+$/.test(unit)) return `asn:${Number(unit)}`;
  if (/^[A-Z]{2}$/.test(unit)) return `country:${unit}`;
  return null;
}

/**
 * disco_topEvents_thres12.txt: `id|start|end|set(probes)|[units]|[burst levels]`. One label per
 * ASN or country unit; `pid-N` units (clusters of probes within 50 km) have no Pharos entity and
 * are left out.
 */
export function parseDiscoEvents(text: string, name: string): Label[] {
  const out: Label[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const fields = line.split('|');
    if (fields.length < 6) throw new Error(`${name}:${i + 1}: expected 6 |-separated fields`);
    const start = Number(fields[1]);
    const end = Number(fields[2]);
    if (!Number.isFinite(start) || !Number.isFinite(end))
      throw new Error(`${name}:${i + 1}: bad start or end`);
    const units = [...(fields[4] as string).matchAll(/'([^']*)'/g)].map((m) => m[1] as string);
    for (const unit of units) {
      const entity = discoUnitEntity(unit);
      if (entity) out.push({ entity, start, end, source: `${name}#${fields[0]}` });
    }
  }
  return out;
}

/**
 * discoEventMedians.txt: `id|start|end|duration|[{probeID,start,end,state}…]`. The events name
 * probes, not units, so each becomes one label per ASN holding at least `minProbes` of its probes
 * (the burst detector's own floor), using the probes' ASNs from the connection logs.
 */
export function parseDiscoMedians(
  text: string,
  name: string,
  asnOfProbe: (probe: number) => number | null,
  minProbes = 3,
): Label[] {
  const out: Label[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const fields = line.split('|');
    const start = Number(fields[1]);
    const end = Number(fields[2]);
    if (fields.length < 5 || !Number.isFinite(start) || !Number.isFinite(end))
      throw new Error(`${name}:${i + 1}: expected id|start|end|duration|[probes]`);
    const perAsn = new Map<number, number>();
    for (const m of (fields[4] as string).matchAll(/'probeID':\s*(\d+)/g)) {
      const asn = asnOfProbe(Number(m[1]));
      if (asn !== null) perAsn.set(asn, (perAsn.get(asn) ?? 0) + 1);
    }
    for (const [asn, n] of [...perAsn].sort(([a], [b]) => a - b))
      if (n >= minProbes) out.push({ entity: `asn:${asn}`, start, end, source: `${name}#${fields[0]}` });
  }
  return out;
}

export async function readLabels(
  file: string,
  asnOfProbe: (probe: number) => number | null = () => null,
): Promise<Label[]> {
  const text = await readFile(file, 'utf8');
  const name = path.basename(file);
  switch (labelFormat(text)) {
    case 'disco-events':
      return parseDiscoEvents(text, name);
    case 'disco-medians':
      return parseDiscoMedians(text, name, asnOfProbe);
    default:
      return parseLabelsCsv(text, name);
  }
}
