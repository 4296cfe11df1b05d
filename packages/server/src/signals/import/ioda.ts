/**
 * IODA's `/v2/signals/raw/{entityType}/{entityCode}` JSON (research/outage-detection.md §1.4):
 * an envelope whose `data` holds, per entity, an array of series
 * `{entityType, entityCode, datasource, subtype?, from, until, step, values}` where `values[i]`
 * is at `from + i * step` and null is missing data.
 *
 * Entities: country → country:CC, asn → asn:N, region → region:CODE only when the code is
 * ISO 3166-2 (IODA's own region codes are numeric NetAcuity ids, which Pharos cannot place).
 * Signal name: the datasource, plus `.subtype` in lower case when there is one (gtr.web_search).
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { checkSignalPoint, type SignalStore } from '../store.js';
import type { SignalPoint } from '../types.js';
import { type ImportResult, ProblemList, SeriesTally, SignalImportError } from './common.js';

const IodaSeries = z.looseObject({
  entityType: z.string(),
  entityCode: z.union([z.string(), z.number()]),
  datasource: z.string(),
  subtype: z.string().nullish(),
  from: z.number().int(),
  until: z.number().int(),
  step: z.number().int().positive(),
  values: z.array(z.number().nullable()),
});

const IodaEnvelope = z.looseObject({
  type: z.string().optional(),
  data: z.array(z.array(IodaSeries)),
});

type IodaSeries = z.infer<typeof IodaSeries>;

/** `data[0][1].values[3]` from a zod issue path. */
function jsonPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path)
    out += typeof part === 'number' ? `[${part}]` : `${out === '' ? '' : '.'}${String(part)}`;
  return out === '' ? '(top level)' : out;
}

/** The Pharos entity of one IODA series, or a sentence saying why there is none. */
export function iodaEntity(entityType: string, entityCode: string): { entity: string } | { error: string } {
  const code = entityCode.trim();
  switch (entityType) {
    case 'country':
      if (/^[A-Za-z]{2}$/.test(code)) return { entity: `country:${code.toUpperCase()}` };
      return { error: `country code "${code}" is not ISO 3166-1 alpha-2 (such as AZ)` };
    case 'asn': {
      const m = /^(?:AS)?([1-9]\d{0,9})$/i.exec(code);
      if (m) return { entity: `asn:${m[1]}` };
      return { error: `AS number "${code}" is not a number` };
    }
    case 'region':
      if (/^[A-Za-z]{2}-[A-Za-z0-9]{1,3}$/.test(code)) return { entity: `region:${code.toUpperCase()}` };
      return {
        error: `region code "${code}" is not ISO 3166-2 (such as AZ-FUZ); IODA's numeric region ids cannot be placed, so rewrite the series as CSV with an entity such as region:AZ-FUZ`,
      };
    default:
      return {
        error: `entity type "${entityType}" is not imported (country, asn and ISO 3166-2 region are); rewrite the series as CSV with a Pharos entity`,
      };
  }
}

/** The points of an IODA document (missing values skipped), or SignalImportError naming JSON paths. */
export function parseIodaSignals(text: string, file: string): { points: SignalPoint[]; missing: number } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SignalImportError(
      `${file}: not JSON (${(err as Error).message}); expected IODA /v2/signals/raw output`,
    );
  }
  const parsed = IodaEnvelope.safeParse(json);
  if (!parsed.success) {
    const problems = new ProblemList();
    for (const issue of parsed.error.issues)
      problems.add(`${file}: ${jsonPath(issue.path)}: ${issue.message}`);
    problems.add(
      `${file}: expected IODA /v2/signals/raw output: {"data": [[{"entityType", "entityCode", "datasource", "from", "until", "step", "values": [...]}]]}`,
    );
    problems.throwIfAny();
  }
  const problems = new ProblemList();
  const points: SignalPoint[] = [];
  const entities = new Map<string, string>();
  let missing = 0;
  (parsed.data?.data ?? []).forEach((group, g) => {
    group.forEach((series: IodaSeries, s) => {
      const where = `${file}: data[${g}][${s}]`;
      const entity = iodaEntity(series.entityType, String(series.entityCode));
      if ('error' in entity) {
        problems.add(`${where}.entityCode: ${entity.error}`);
        return;
      }
      const signal = series.subtype
        ? `${series.datasource}.${series.subtype.toLowerCase()}`
        : series.datasource;
      if (series.from % series.step !== 0) {
        problems.add(
          `${where}.from: ${series.from} is not a multiple of the step ${series.step}; Pharos keeps points on step boundaries, so fetch with a "from" aligned to the step`,
        );
        return;
      }
      series.values.forEach((value, i) => {
        if (value === null) {
          missing++;
          return;
        }
        const point = {
          entity: entity.entity,
          signal,
          step: series.step,
          time: series.from + i * series.step,
          value,
          count: 1,
        };
        const checked = checkSignalPoint(point, entities);
        if ('error' in checked) problems.add(`${where}.values[${i}]: ${checked.error}`);
        else points.push(checked.point);
      });
    });
  });
  problems.throwIfAny();
  return { points, missing };
}

/** Reads an IODA JSON file and writes its points. */
export async function importIodaFile(
  store: SignalStore,
  file: string,
  options: { source?: string } = {},
): Promise<ImportResult> {
  const text = await readFile(file, 'utf8');
  const { points, missing } = parseIodaSignals(text, file);
  const written = await store.put(points, options.source ?? `ioda:${file.split(/[\\/]/).pop() ?? file}`);
  const tally = new SeriesTally();
  for (const p of points) tally.add(p);
  return { file, format: 'ioda', points: points.length, written, missing, series: tally.summaries() };
}
