/**
 * STOP CSV import and export against Access Now's real sheets (../shared/data/stop): every row
 * comes through, Azerbaijan's rows keep their dates, types, extent and telcos, and exporting what
 * was imported gives back the sheet.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sharedData } from '../../../test-support/shared-data.js';
import { formatCsv, parseCsv } from '../src/incidents/csv.js';
import { exportStop, importStop, stopRow } from '../src/incidents/stop-csv.js';
import { STOP_COLUMNS } from '../src/incidents/stop-vocabulary.js';
import type { Incident } from '../src/incidents/types.js';

const COMBINED = 'stop/stop_combined_2016-2025_snapshot_2026-05-20.csv';

/** The columns Pharos models: exported from incident fields, not copied from the row. */
const MODELLED = [
  'start_date_type',
  'start_date',
  'end_date',
  'country',
  'area_name',
  'shutdown_type',
  'shutdown_extent',
  'facebook_affected',
  'twitter_affected',
  'whatsapp_affected',
  'instagram_affected',
  'telegram_affected',
  'other_affected',
  'telcos_involved',
  'actual_cause',
  'gov_justification',
  'legal_just',
  'legal_method',
  'election',
] as const;

const PLATFORM_FLAGS = new Set<string>([
  'facebook_affected',
  'twitter_affected',
  'whatsapp_affected',
  'instagram_affected',
  'telegram_affected',
]);

function load(rel: string): { file: string; text: string } | null {
  const file = sharedData(rel);
  return file ? { file, text: readFileSync(file, 'utf8') } : null;
}

describe('CSV', () => {
  it('reads quoted fields with commas, quotes and line breaks, and writes them back', () => {
    const text = 'a,b,c\r\n"x, y","say ""hi""","two\nlines"\r\n\r\n1,,3\n';
    const rows = parseCsv(text);
    expect(rows).toEqual([
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 2, fields: ['x, y', 'say "hi"', 'two\nlines'] },
      { line: 5, fields: ['1', '', '3'] },
    ]);
    expect(parseCsv(formatCsv(rows.map((r) => r.fields))).map((r) => r.fields)).toEqual(
      rows.map((r) => r.fields),
    );
    expect(() => parseCsv('a,"b\n', 'x.csv')).toThrow('x.csv:1: a quoted field is never closed');
  });
});

describe('the combined sheet (2016–2025)', () => {
  const data = load(COMBINED);
  it.skipIf(!data)('imports every row, with the header in STOP order', () => {
    const { text, file } = data!;
    const rows = parseCsv(text);
    expect(rows[0]!.fields).toEqual([...STOP_COLUMNS]);
    const result = importStop(text, path.basename(file));
    expect(result.schema).toBe('combined');
    expect(result.warnings).toEqual([]);
    expect(result.incidents).toHaveLength(2102);
    expect(rows.length - 1).toBe(2102);
    expect(new Set(result.incidents.map((i) => i.id)).size).toBe(2102);
    for (const i of result.incidents) {
      expect(i.review).toBe('confirmed');
      expect(i.source?.file).toBe('stop_combined_2016-2025_snapshot_2026-05-20.csv');
    }
  });

  it.skipIf(!data)("brings Azerbaijan's rows through with their dates, types, extent and telcos", () => {
    const az = importStop(data!.text, 'combined.csv').incidents.filter((i) => i.scope.country === 'AZ');
    const brief = az.map((i) => ({
      start: i.start.slice(0, 10),
      end: i.end,
      types: i.shutdown_types,
      extents: i.shutdown_extents,
      area: i.scope.area,
      status: i.status,
    }));
    expect(brief).toEqual([
      {
        start: '2020-01-03',
        end: '2020-01-16T00:00:00.000Z',
        types: ['Shutdown', 'Throttle'],
        extents: ['Full network', 'Service-based'],
        area: '',
        status: 'ended',
      },
      {
        start: '2022-09-13',
        end: '2022-09-17T00:00:00.000Z',
        types: ['Shutdown'],
        extents: ['Service-based'],
        area: 'Nationwide',
        status: 'ended',
      },
      {
        start: '2023-01-12',
        end: '2023-01-13T00:00:00.000Z',
        types: ['Shutdown'],
        extents: ['Full network'],
        area: 'Nagorno-Karabakh',
        status: 'ended',
      },
      {
        start: '2023-08-17',
        end: '2023-08-19T00:00:00.000Z',
        types: ['Shutdown'],
        extents: ['Full network'],
        area: 'Artsakh',
        status: 'ended',
      },
      {
        start: '2023-09-19',
        end: '2023-10-25T00:00:00.000Z',
        types: ['Shutdown', 'Throttle'],
        extents: ['Full network'],
        area: 'Fuzuli',
        status: 'ended',
      },
      {
        start: '2023-09-19',
        end: '2023-11-01T00:00:00.000Z',
        types: ['Shutdown'],
        extents: ['Service-based'],
        area: 'Nationwide',
        status: 'ended',
      },
      {
        start: '2023-09-20',
        end: null,
        types: ['Shutdown'],
        extents: ['Full network'],
        area: 'Stepanakert City',
        status: expect.any(String),
      },
      {
        start: '2024-02-06',
        end: '2024-02-09T00:00:00.000Z',
        types: ['Shutdown', 'Throttle'],
        extents: ['Full network'],
        area: 'Baku, Fuzuli',
        status: 'ended',
      },
      {
        start: '2024-10-08',
        end: '2024-10-11T00:00:00.000Z',
        types: ['Shutdown'],
        extents: ['Service-based'],
        area: 'Nationwide',
        status: 'ended',
      },
    ]);
    const fuzuli = az[4]!;
    expect(fuzuli.scope.telcos).toEqual([
      'Azerbaijan: Azercell',
      'Azerbaijan: Aztelecom',
      'Azerbaijan: Bakcell',
      'Azerbaijan: Nar Mobile',
    ]);
    expect(fuzuli.scope.entity).toBe('country:AZ');
    expect(az[1]!.scope.services_other).toBe('TikTok');
    expect(az[8]!.scope.services).toEqual(['x']);
    const election = az[7]!;
    expect(election.annotations.election).toBe('Yes');
    expect(election.scope.telcos).toEqual(['Azerbaijan: Bakcell', 'Azerbaijan: Nar (Azerfon)']);
  });

  it.skipIf(!data)('exports what it imported as the same sheet', () => {
    const { text } = data!;
    const original = parseCsv(text).map((r) => r.fields);
    const imported = importStop(text, 'combined.csv').incidents;
    const exported = parseCsv(exportStop(imported)).map((r) => r.fields);
    expect(exported).toEqual(original);
  });

  it.skipIf(!data)(
    'writes the modelled columns from the incident fields, not from the row it came from',
    () => {
      const { text } = data!;
      const original = parseCsv(text).map((r) => r.fields);
      const imported = importStop(text, 'combined.csv').incidents;
      const mismatches: string[] = [];
      imported.forEach((incident, n) => {
        const { source: _dropped, ...fieldsOnly } = incident;
        const row = stopRow(fieldsOnly as Incident);
        for (const column of MODELLED) {
          const want = original[n + 1]![STOP_COLUMNS.indexOf(column)]!;
          // A platform flag is modelled as affected or not: STOP's No, Unknown and blank need the row.
          const same = PLATFORM_FLAGS.has(column)
            ? (row[column] === 'Yes') === (want === 'Yes')
            : row[column] === want;
          if (!same) mismatches.push(`row ${n + 2} ${column}: ${row[column]} != ${want}`);
        }
        // Status: Ended and Ongoing come from the incident's status (STOP's blanks need the row).
        const status = original[n + 1]![STOP_COLUMNS.indexOf('shutdown_status')]!;
        if ((status === 'Ended' || status === 'Ongoing') && row.shutdown_status !== status) {
          mismatches.push(`row ${n + 2} shutdown_status: ${row.shutdown_status} != ${status}`);
        }
      });
      expect(mismatches).toEqual([]);
    },
  );
});

describe('older layouts', () => {
  const cases: Array<[string, string, number]> = [
    ['stop/kio_2016-2022_normalized.csv', 'normalized', 1118],
    ['stop/keepiton_raw_sheet_2022.csv', 'yearly-2020', 187],
    ['stop/keepiton_raw_sheet_2021.csv', 'yearly-2020', 182],
    ['stop/keepiton_raw_sheet_2020.csv', 'yearly-2020', 159],
    ['stop/keepiton_raw_sheet_2019.csv', 'yearly-2019', 213],
    ['stop/keepiton_raw_sheet_2016-2018.csv', 'yearly-2016', 377],
  ];
  for (const [rel, schema, rows] of cases) {
    const data = load(rel);
    it.skipIf(!data)(`${path.basename(rel)}: ${rows} rows as ${schema}`, () => {
      const result = importStop(data!.text, path.basename(rel));
      expect(result.schema).toBe(schema);
      expect(result.incidents.length + result.warnings.filter((w) => /row skipped/.test(w)).length).toBe(
        rows,
      );
      expect(result.warnings.filter((w) => /row skipped/.test(w))).toEqual([]);
      for (const i of result.incidents) expect(i.start).toMatch(/^\d{4}-\d{2}-\d{2}T00:00:00\.000Z$/);
      // Azerbaijan's rows of those years (2020's protests; none in 2019 and 2021).
      const az = result.incidents.filter((i) => i.scope.country === 'AZ').map((i) => i.start.slice(0, 10));
      if (/2020|normalized/.test(rel)) expect(az).toContain('2020-01-03');
    });
  }

  it('names what it cannot read', () => {
    expect(() => importStop('a,b\n1,2\n', 'x.csv')).toThrow(/x\.csv: not a STOP sheet/);
  });
});
