import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { SignalsDatabase } from '../src/signals/database.js';
import {
  importSignalFile,
  parseIodaSignals,
  parseTime,
  SignalImportError,
  splitCsvLine,
} from '../src/signals/import/index.js';
import { SignalStore } from '../src/signals/store.js';
import { recordingIO } from './cli-io-fixture.js';

const T0 = 1_695_124_800; // 2023-09-19T12:00:00Z

let dir: string;
let db: SignalsDatabase;
let store: SignalStore;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pharos-import-'));
  db = await SignalsDatabase.open(':memory:');
  store = await SignalStore.open(db);
});
afterEach(async () => {
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const f = path.join(dir, name);
  await writeFile(f, text);
  return f;
}

describe('CSV import', () => {
  it('reads ISO and epoch times, optional count and step columns, quotes, and skips missing values', async () => {
    const f = await file(
      'series.csv',
      [
        'time,entity,signal,value,count,step',
        '2023-09-19T12:00:00Z,country:AZ,ping-slash24,100,20,10m',
        '2023-09-19 12:10,country:AZ,ping-slash24,90,,600',
        `${T0 + 1200},country:AZ,ping-slash24,,,600`,
        `"${T0}","platform:whatsapp+asn:AS29049","measurement.blocked","3.5","7","5m"`,
        '',
      ].join('\r\n'),
    );
    const result = await importSignalFile(store, f);
    expect(result).toMatchObject({ format: 'csv', points: 3, written: 3, missing: 1 });
    expect(result.series).toEqual([
      {
        entity: 'asn:29049+platform:whatsapp',
        signal: 'measurement.blocked',
        step: 300,
        points: 1,
        from: T0,
        until: T0 + 300,
      },
      { entity: 'country:AZ', signal: 'ping-slash24', step: 600, points: 2, from: T0, until: T0 + 1200 },
    ]);
    expect(await store.points({ from: T0, until: T0 + 3600 })).toEqual([
      {
        entity: 'asn:29049+platform:whatsapp',
        signal: 'measurement.blocked',
        step: 300,
        time: T0,
        value: 3.5,
        count: 7,
      },
      { entity: 'country:AZ', signal: 'ping-slash24', step: 600, time: T0, value: 100, count: 20 },
      { entity: 'country:AZ', signal: 'ping-slash24', step: 600, time: T0 + 600, value: 90, count: 1 },
    ]);
  });

  it('infers each series step from its smallest gap, or takes --step', async () => {
    const rows = ['time,entity,signal,value'];
    // Out of order, with a missing step in between: the smallest gap is 300 s.
    for (const dt of [1200, 0, 300, 900]) rows.push(`${T0 + dt},asn:29049,merit-nt,${dt}`);
    rows.push(`${T0},country:AZ,gtr,1`, `${T0 + 3600},country:AZ,gtr,2`);
    const f = await file('gaps.csv', `${rows.join('\n')}\n`);
    const result = await importSignalFile(store, f);
    expect(result.series.map((s) => [s.entity, s.signal, s.step, s.points])).toEqual([
      ['asn:29049', 'merit-nt', 300, 4],
      ['country:AZ', 'gtr', 3600, 2],
    ]);
    const withStep = await importSignalFile(store, f, { step: 60 });
    expect(withStep.series.map((s) => [s.step, s.points])).toEqual([
      [60, 4],
      [60, 2],
    ]);
    // A time off the given step's boundaries: the file is refused, naming the line.
    const misaligned = await file('misaligned.csv', `time,entity,signal,value\n${T0 + 300},asn:1,x,1\n`);
    await expect(importSignalFile(store, misaligned, { step: 1800 })).rejects.toThrow(
      /misaligned\.csv:2: time 1695125100 \(2023-09-19T12:05:00Z\) is not aligned to the step of 1800 s/,
    );
  });

  it('says when a step cannot be inferred or does not fit', async () => {
    const single = await file('single.csv', `time,entity,signal,value\n${T0},country:AZ,gtr,1\n`);
    await expect(importSignalFile(store, single)).rejects.toThrow(
      /single\.csv:2: country:AZ gtr has a single time, so its step cannot be inferred; add a step column or give --step/,
    );
    const uneven = await file(
      'uneven.csv',
      `time,entity,signal,value\n${T0},country:AZ,gtr,1\n${T0 + 600},country:AZ,gtr,1\n${T0 + 1000},country:AZ,gtr,1\n`,
    );
    await expect(importSignalFile(store, uneven)).rejects.toThrow(
      /uneven\.csv:3: time 1695125400 .* is not a multiple of country:AZ gtr's step of 400 s/,
    );
  });

  it('lists bad rows with their line numbers and writes nothing', async () => {
    const f = await file(
      'bad.csv',
      [
        'time,entity,signal,value,step',
        `${T0},country:AZ,gtr,1,300`,
        `yesterday,country:AZ,gtr,1,300`,
        `${T0},country:Azerbaijan,gtr,1,300`,
        `${T0},country:AZ,GTR traffic,1,300`,
        `${T0},country:AZ,gtr,lots,300`,
        `${T0},country:AZ,gtr,1,300,extra`,
        `${T0},country:AZ,gtr,1,`,
        `${T0 + 7},country:AZ,gtr,1,300`,
        `"${T0},country:AZ,gtr,1,300`,
      ].join('\n'),
    );
    const err = await importSignalFile(store, f).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SignalImportError);
    const lines = (err as Error).message.split('\n');
    expect(lines).toEqual([
      expect.stringMatching(/bad\.csv:3: time "yesterday" is neither epoch seconds nor an ISO 8601 time/),
      expect.stringMatching(/bad\.csv:4: entity "country:Azerbaijan": .* is not a valid country code/),
      expect.stringMatching(/bad\.csv:5: signal "GTR traffic" is not a valid name/),
      expect.stringMatching(/bad\.csv:6: value "lots" is not a finite number/),
      expect.stringMatching(/bad\.csv:7: 6 fields where the header has 5/),
      expect.stringMatching(/bad\.csv:8: step is empty; fill it in or give --step/),
      expect.stringMatching(/bad\.csv:9: time 1695124807 .* is not aligned to the step of 300 s/),
      expect.stringMatching(/bad\.csv:10: a quoted field is not closed/),
    ]);
    expect(await store.catalog()).toEqual([]);
  });

  it('refuses a header without the required columns, or with unknown ones', async () => {
    await expect(importSignalFile(store, await file('h1.csv', 'when,entity,signal,value\n'))).rejects.toThrow(
      /h1\.csv:1: unknown column "when"/,
    );
    await expect(importSignalFile(store, await file('h2.csv', 'time,entity,value\n'))).rejects.toThrow(
      /h2\.csv:1: the header lacks signal/,
    );
    await expect(importSignalFile(store, await file('empty.csv', ''))).rejects.toThrow(
      /empty\.csv: the file is empty/,
    );
  });

  it('importing the same file twice changes nothing; a corrected file replaces the values it changes', async () => {
    const rows = (v: number) =>
      `time,entity,signal,value,step\n${T0},country:AZ,gtr,1,300\n${T0 + 300},country:AZ,gtr,${v},300\n`;
    const f = await file('a.csv', rows(2));
    expect((await importSignalFile(store, f)).written).toBe(2);
    const before = await store.catalog();
    expect((await importSignalFile(store, f)).written).toBe(0);
    expect(await store.catalog()).toEqual(before);
    const late = await file('late.csv', rows(5));
    expect((await importSignalFile(store, late)).written).toBe(1);
    expect((await store.points({ from: T0, until: T0 + 600 })).map((p) => p.value)).toEqual([1, 5]);
  });

  it('splits quoted CSV fields and parses times', () => {
    expect(splitCsvLine('a,"b,c","d""e",')).toEqual(['a', 'b,c', 'd"e', '']);
    expect(splitCsvLine('"open')).toBeNull();
    expect(parseTime('2023-09-19T14:00:00+02:00')).toEqual({ time: T0 });
    expect(parseTime('2023-09-19')).toEqual({ time: T0 - 12 * 3600 });
    expect(parseTime('1695124800.5')).toHaveProperty('error');
    expect(parseTime('2023-09-19T12:00:00.250Z')).toHaveProperty('error');
  });
});

/** The shape IODA's /v2/signals/raw returns (research/outage-detection.md §1.4). */
function iodaDocument(series: object[]) {
  return JSON.stringify({
    type: 'signals',
    metadata: { requestTime: '2023-09-20T00:00:00', responseTime: '2023-09-20T00:00:01' },
    requestParameters: {},
    error: null,
    perf: null,
    data: [series],
    copyright: 'IODA',
  });
}

const iodaSeries = {
  entityType: 'country',
  entityCode: 'AZ',
  entityName: 'Azerbaijan',
  entityFqid: 'geo.provider.AS.AZ',
  datasource: 'bgp',
  subtype: null,
  from: T0,
  until: T0 + 1500,
  step: 300,
  nativeStep: 300,
  values: [2050, 2048, null, 12, 2049],
};

describe('IODA import', () => {
  it('turns each series into points at from + i * step, skipping nulls; subtype joins the signal name', async () => {
    const f = await file(
      'ioda.json',
      iodaDocument([
        iodaSeries,
        {
          ...iodaSeries,
          entityType: 'asn',
          entityCode: '29049',
          datasource: 'ping-slash24',
          step: 600,
          values: [7, 8],
        },
        { ...iodaSeries, datasource: 'gtr', subtype: 'WEB_SEARCH', step: 1800, values: [0.5] },
      ]),
    );
    const result = await importSignalFile(store, f);
    expect(result).toMatchObject({ format: 'ioda', points: 7, written: 7, missing: 1 });
    expect(result.series.map((s) => [s.entity, s.signal, s.step, s.points])).toEqual([
      ['asn:29049', 'ping-slash24', 600, 2],
      ['country:AZ', 'bgp', 300, 4],
      ['country:AZ', 'gtr.web_search', 1800, 1],
    ]);
    const series = await store.series({
      entity: 'country:AZ',
      signal: 'bgp',
      step: 300,
      from: T0,
      until: T0 + 1500,
    });
    expect(series.values).toEqual([2050, 2048, null, 12, 2049]);
    expect((await importSignalFile(store, f)).written).toBe(0);
  });

  it('names the JSON path of what it cannot take, and says what to do', () => {
    const doc = (s: object) => iodaDocument([iodaSeries, s]);
    expect(() =>
      parseIodaSignals(doc({ ...iodaSeries, entityType: 'region', entityCode: '1234' }), 'r.json'),
    ).toThrow(
      /r\.json: data\[0\]\[1\]\.entityCode: region code "1234" is not ISO 3166-2 .*rewrite the series as CSV/,
    );
    expect(
      parseIodaSignals(doc({ ...iodaSeries, entityType: 'region', entityCode: 'az-fuz' }), 'r.json')
        .points[5],
    ).toMatchObject({
      entity: 'region:AZ-FUZ',
    });
    expect(() =>
      parseIodaSignals(doc({ ...iodaSeries, entityType: 'continent', entityCode: 'EU' }), 'c.json'),
    ).toThrow(/data\[0\]\[1\]\.entityCode: entity type "continent" is not imported/);
    expect(() => parseIodaSignals(doc({ ...iodaSeries, values: [1, 'x'] }), 'v.json')).toThrow(
      /v\.json: data\[0\]\[1\]\.values\[1\]: /,
    );
    expect(() => parseIodaSignals(doc({ ...iodaSeries, from: T0 + 1 }), 'f.json')).toThrow(
      /data\[0\]\[1\]\.from: 1695124801 is not a multiple of the step 300/,
    );
    expect(() => parseIodaSignals('{"data": 3}', 'd.json')).toThrow(
      /d\.json: data: .*\n.*expected IODA \/v2\/signals\/raw output/,
    );
    expect(() => parseIodaSignals('not json', 'n.json')).toThrow(/n\.json: not JSON/);
  });
});

describe('pharos import signals', () => {
  it('imports into DATA_DIR/signals.duckdb and prints each series', async () => {
    const csv = await file(
      'a.csv',
      `time,entity,signal,value\n${T0},country:AZ,gtr,1\n${T0 + 300},country:AZ,gtr,2\n`,
    );
    const json = await file('b.json', iodaDocument([iodaSeries]));
    const data = path.join(dir, 'data');
    const out = recordingIO(dir);
    expect(await main(['import', 'signals', 'a.csv', 'b.json', '--data', 'data'], out.io)).toBe(0);
    expect(out.stdout()).toBe(
      'a.csv (csv): 2 points, 2 new or changed\n' +
        '  country:AZ gtr (step 300 s): 2 points, 2023-09-19T12:00:00Z to 2023-09-19T12:10:00Z\n' +
        'b.json (ioda): 4 points, 4 new or changed, 1 missing values skipped\n' +
        '  country:AZ bgp (step 300 s): 4 points, 2023-09-19T12:00:00Z to 2023-09-19T12:25:00Z\n',
    );
    const again = recordingIO(dir);
    expect(await main(['import', 'signals', csv, json, '--data', data], again.io)).toBe(0);
    expect(again.stdout()).toContain('a.csv (csv): 2 points, 0 new or changed');
    const check = await SignalsDatabase.open(data);
    try {
      expect((await (await SignalStore.open(check)).catalog()).map((c) => c.points)).toEqual([4, 2]);
    } finally {
      await check.close();
    }
  });

  it('exits 1 naming the bad line, and 2 for bad usage', async () => {
    await file(
      'bad.csv',
      `time,entity,signal,value,step\n${T0},country:AZ,gtr,1,300\n${T0},asn:x,gtr,1,300\n`,
    );
    const bad = recordingIO(dir);
    expect(await main(['import', 'signals', 'bad.csv', '--data', 'data'], bad.io)).toBe(1);
    expect(bad.stderr()).toMatch(
      /^pharos import: .*bad\.csv:3: entity "asn:x": "x" is not a valid asn code\n$/,
    );
    const missing = recordingIO(dir);
    expect(await main(['import', 'signals', 'nope.csv', '--data', 'data'], missing.io)).toBe(1);
    expect(missing.stderr()).toMatch(/cannot read .*nope\.csv \(ENOENT\)/);
    for (const argv of [
      ['import'],
      ['import', 'signals', '--data', 'data'],
      ['import', 'signals', 'bad.csv'],
      ['import', 'signals', 'bad.csv', '--data', 'data', '--step', 'often'],
      ['import', 'signals', 'bad.csv', '--data', 'data', '--format', 'xml'],
      ['import', 'signals', 'bad.csv', '--data', 'data', '--full-feed-min', '5'],
      ['import', 'pictures', 'x', '--data', 'data'],
    ]) {
      const u = recordingIO(dir);
      expect(await main(argv, u.io), argv.join(' ')).toBe(2);
      expect(u.stderr()).toMatch(/^pharos import: .*\nRun "pharos import --help" for usage\.\n$/);
    }
    const help = recordingIO(dir);
    expect(await main(['import', '--help'], help.io)).toBe(0);
    expect(help.stdout()).toContain('pharos import signals FILE... --data DIR');
  });

  it('says to stop the server when another process holds the database', async () => {
    const data = path.join(dir, 'held');
    const serverDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
    // A separate process, as a running `pharos serve` would be: DuckDB locks the file per process.
    const holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { mkdirSync } from 'node:fs';
         import { DuckDBInstance } from '@duckdb/node-api';
         mkdirSync(${JSON.stringify(data)}, { recursive: true });
         await DuckDBInstance.create(${JSON.stringify(path.join(data, 'signals.duckdb'))});
         console.log('ready');
         setInterval(() => {}, 1000);`,
      ],
      { cwd: serverDir, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
        holder.on('exit', (code) => reject(new Error(`holder exited with ${code}`)));
      });
      await file('a.csv', `time,entity,signal,value,step\n${T0},country:AZ,gtr,1,300\n`);
      const out = recordingIO(dir);
      expect(await main(['import', 'signals', 'a.csv', '--data', data], out.io)).toBe(1);
      expect(out.stderr()).toMatch(
        /signals\.duckdb is held by another process \(a running "pharos serve" on this data directory\?\): stop the server and import again, or import through the server/,
      );
    } finally {
      holder.kill();
    }
  });
});
