import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIO } from '../src/cli/io.js';
import { main } from '../src/cli/main.js';
import type { AnomalyWindow } from '../src/detection/types.js';
import { type ConnectionEvent, connectionLogToSeries } from '../src/eval/atlas.js';
import { labelFormat, parseDiscoEvents, parseDiscoMedians, parseLabelsCsv } from '../src/eval/labels.js';
import { score } from '../src/eval/score.js';

function capture(cwd: string): { io: CliIO; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s) },
      cwd,
      onStopSignal: () => () => {},
    },
    out: () => out,
    err: () => err,
  };
}

const STEP = 600;
const FROM = 1_695_081_600; // 2023-09-19T00:00Z
const iso = (t: number) => new Date(t * 1000).toISOString().replace('.000Z', 'Z');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pharos-eval-'));
  // Two days of an active-probing signal for AZ with a 2-hour outage, and a quiet signal for AM.
  const rows = ['time,entity,signal,value,count'];
  for (let i = 0; i < 288; i++) {
    const t = FROM + i * STEP;
    const wobble = 1 + 0.01 * Math.sin(i);
    rows.push(`${iso(t)},country:AZ,ping-slash24,${i >= 200 && i < 212 ? 150 : Math.round(1000 * wobble)},1`);
    rows.push(`${t},country:AM,ping-slash24,${Math.round(800 * wobble)},1`);
  }
  await writeFile(path.join(dir, 'signals.csv'), `${rows.join('\n')}\n`);
  await writeFile(
    path.join(dir, 'labels.csv'),
    `entity,start,end\ncountry:AZ,${iso(FROM + 200 * STEP + 120)},${iso(FROM + 212 * STEP)}\n` +
      // An event the signal never saw: a miss.
      `country:AM,${iso(FROM + 100 * STEP)},${iso(FROM + 110 * STEP)}\n` +
      // Outside the data: not scored.
      `country:AZ,2020-01-01T00:00:00Z,2020-01-02T00:00:00Z\n`,
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('pharos eval', () => {
  it('scores a replayed CSV series against CSV labels', async () => {
    const t = capture(dir);
    expect(await main(['eval', '--signals', 'signals.csv', '--labels', 'labels.csv', '--json'], t.io)).toBe(
      0,
    );
    const result = JSON.parse(t.out());
    expect(result.overall).toMatchObject({
      labels: 2,
      labelsUncovered: 1,
      found: 1,
      windows: 1,
      trueWindows: 1,
      precision: 1,
      recall: 0.5,
      // The window opens at the step of the drop, two minutes before the labelled start.
      medianStartErrorSeconds: 120,
      falseAlertsPerEntityWeek: 0,
    });
    console.log('eval on a synthetic CSV:', JSON.stringify({ ...result.overall, outcomes: undefined }));
  });

  it('prints a table by default', async () => {
    const t = capture(dir);
    expect(await main(['eval', '--signals', 'signals.csv', '--labels', 'labels.csv'], t.io)).toBe(0);
    expect(t.out()).toMatch(/\| all \| 1\/2 \| 50\.0% \| 1\/1 \| 100\.0% \| 2\.0 min \|/);
  });

  it('takes detector settings from --config, and names a bad field', async () => {
    await writeFile(path.join(dir, 'off.json'), JSON.stringify({ signals: { 'ping-*': { median: false } } }));
    const t = capture(dir);
    expect(
      await main(
        ['eval', '--signals', 'signals.csv', '--labels', 'labels.csv', '--config', 'off.json', '--json'],
        t.io,
      ),
    ).toBe(0);
    expect(JSON.parse(t.out()).overall).toMatchObject({ windows: 0, found: 0 });
    await writeFile(
      path.join(dir, 'bad.json'),
      JSON.stringify({ signals: { 'ping-*': { median: { warningRatio: -1 } } } }),
    );
    const bad = capture(dir);
    expect(
      await main(
        ['eval', '--signals', 'signals.csv', '--labels', 'labels.csv', '--config', 'bad.json'],
        bad.io,
      ),
    ).toBe(1);
    expect(bad.err()).toMatch(/bad\.json: signals\.ping-\*\.median\.warningRatio/);
  });

  it('says what is missing or wrong', async () => {
    const none = capture(dir);
    expect(await main(['eval', '--signals', 'signals.csv'], none.io)).toBe(2);
    expect(none.err()).toMatch(/--labels FILE/);
    await writeFile(path.join(dir, 'badlabels.csv'), 'entity,start,end\ncountry:AZ,yesterday,2023-09-20\n');
    const bad = capture(dir);
    expect(await main(['eval', '--signals', 'signals.csv', '--labels', 'badlabels.csv'], bad.io)).toBe(1);
    expect(bad.err()).toMatch(/badlabels\.csv:2: start: time "yesterday"/);
    const help = capture(dir);
    expect(await main(['eval', '--help'], help.io)).toBe(0);
    expect(help.out()).toMatch(/pharos eval --signals FILE\.\.\. --labels FILE/);
  });
});

describe('labels', () => {
  it('reads our CSV, skipping a header and comments', () => {
    const labels = parseLabelsCsv(
      'entity,start,end\n# cut\nasn:AS29049,1695081600,2023-09-19T02:00:00Z\n',
      'l.csv',
    );
    expect(labels).toEqual([{ entity: 'asn:29049', start: 1695081600, end: 1695088800, source: 'l.csv:3' }]);
    expect(() => parseLabelsCsv('country:ZZZ,1,2\n', 'l.csv')).toThrow(/l\.csv:1/);
  });

  it("reads Disco's event files: ASN and country units, not probe clusters", () => {
    const line = "210|1409131667.17|1409137880.5|set([1, 2])|['11426', 'pid-3', 'US']|['2', '2', '3']\n";
    expect(labelFormat(line)).toBe('disco-events');
    expect(parseDiscoEvents(line, 'top.txt').map((l) => l.entity)).toEqual(['asn:11426', 'country:US']);
    const medians =
      "1|1461889819.0|1461890159.0|340.0|[{'start': 1.0, 'probeID': 10, 'end': 2.0, 'state': 11.0}, {'probeID': 11}, {'probeID': 12}, {'probeID': 13}]\n";
    expect(labelFormat(medians)).toBe('disco-medians');
    const asn = (p: number) => (p < 13 ? 6830 : 3320);
    expect(parseDiscoMedians(medians, 'm.txt', asn).map((l) => l.entity)).toEqual(['asn:6830']);
  });
});

describe('scores', () => {
  const w = (entity: string, start: number, end: number | null): AnomalyWindow => ({
    entity,
    signal: 'beacon.disconnected',
    detector: 'burst',
    step: 300,
    start,
    end,
    level: 'critical',
    worstRatio: 0,
    alerts: [],
  });
  const cover = [
    { entity: 'asn:1', from: 0, until: 7 * 86400 },
    { entity: 'asn:2', from: 0, until: 7 * 86400 },
  ];

  it('a window overlapping a label of the same entity, within one step, is true; others are false alerts', () => {
    const labels = [
      { entity: 'asn:1', start: 10_000, end: 12_000, source: 'x' },
      { entity: 'asn:2', start: 50_000, end: 51_000, source: 'y' },
    ];
    const s = score(
      [w('asn:1', 12_200, 13_000), w('asn:2', 10_000, 12_000), w('asn:1', 90_000, null)],
      labels,
      cover,
    );
    expect(s).toMatchObject({ found: 1, labels: 2, trueWindows: 1, windows: 3, falseWindows: 2 });
    expect(s.medianStartErrorSeconds).toBe(2200);
    // Two false alerts over two entity-weeks.
    expect(s.falseAlertsPerEntityWeek).toBe(1);
  });
});

describe('Atlas connection logs to beacon series', () => {
  it('counts probes heard per step and those that fell silent, per ASN and country', () => {
    const t0 = 1_468_368_000;
    const ev = (
      probe: number,
      time: number,
      event: 'connect' | 'disconnect',
      asn = 3320,
    ): ConnectionEvent => ({
      probe,
      time: t0 + time,
      event,
      asn,
      prefix: '79.192.0.0/10',
    });
    const events = [
      ev(1, 0, 'disconnect'), // connected since before the log: heard in step 0
      ev(1, 1000, 'connect'),
      ev(2, 610, 'disconnect'),
      ev(3, 30, 'connect', 6830),
      ev(2, 3000, 'connect'),
    ];
    const series = connectionLogToSeries(events, () => 'DE', 300);
    const get = (entity: string, signal: string) =>
      series.find((s) => s.entity === entity && s.signal === signal)?.values;
    // Probe 1 is heard in step 0 only until it reconnects in step 3; probe 2 until step 2. The
    // step holding the last event (3000 s) is cut short by the end of the log and left out.
    expect(get('asn:3320', 'beacon.active')).toEqual([2, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect(get('asn:3320', 'beacon.disconnected')).toEqual([null, 1, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect(get('country:DE', 'beacon.active')?.[0]).toBe(3);
  });
});
