/**
 * `npm run bench:detect`: the scale of detection's work. Builds a month of one country's inputs in
 * a fresh signals database — one-minute beacons from 1,000 probes (43 M rows) with ordinary churn,
 * the country's measurements, and BGP visibility per ASN every 5 minutes — with four disruptions
 * written in, then times one detection pass over the whole month (gather, detect, incidents) and
 * its peak memory, and says which disruptions it found and what else it opened.
 *
 *   node packages/server/dist/bench/detection-bench.js [--probes 1000] [--days 30]
 *     [--measurements-per-day 20000] [--verbose] [--no-record]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureBeaconsTable } from '../beacons/index.js';
import { parseDetectionConfig } from '../detection/config.js';
import type { PassRange } from '../detection/engine.js';
import { seriesOf } from '../detection/engine.js';
import { detectionPipeline } from '../detection/service.js';
import { openEvidenceStore } from '../evidence/index.js';
import { IncidentStore } from '../incidents/store.js';
import type { Incident } from '../incidents/types.js';
import { beaconSignals } from '../signals/beacon-signals.js';
import { SignalsDatabase } from '../signals/database.js';
import { ensureMeasurementOutcomesTable, measurementSignals } from '../signals/measurement-signals.js';
import { SignalStore } from '../signals/store.js';
import { recordBenchmark } from './record.js';

const { values } = parseArgs({
  options: {
    probes: { type: 'string', default: '1000' },
    days: { type: 'string', default: '30' },
    'measurements-per-day': { type: 'string', default: '20000' },
    'no-record': { type: 'boolean', default: false },
    /** Time each source of the gather on its own, and list every incident with its windows. */
    verbose: { type: 'boolean', default: false },
  },
});
const PROBES = Number(values.probes);
const DAYS = Number(values.days);
const PER_DAY = Number(values['measurements-per-day']);
if (!(PROBES > 0 && DAYS >= 2 && PER_DAY >= 0))
  throw new Error('--probes > 0, --days >= 2, --measurements-per-day >= 0');

const STEP = 60;
const START = Date.UTC(2026, 9, 1) / 1000;
const END = START + DAYS * 86400;
const ASNS = [29049, 28787, 31721, 197830, 42779, 39232, 196925];
const REGIONS = [
  'AZ-BA',
  'AZ-GA',
  'AZ-SM',
  'AZ-FUZ',
  'AZ-AGM',
  'AZ-TAR',
  'AZ-LA',
  'AZ-SAB',
  'AZ-MI',
  'AZ-NX',
];
/** Day d of a 30-day month, scaled to the month the benchmark builds (so short runs keep every event). */
const day = (d: number, hour: number) => START + Math.floor((d * DAYS) / 30) * 86400 + hour * 3600;

/** The disruptions written into the month, and the incident each should become. */
interface BenchEvent {
  name: string;
  from: number;
  until: number;
  /** Whether an incident is the one this event should have become. */
  is(incident: Incident): boolean;
}
const EVENTS: BenchEvent[] = [
  {
    name: 'Fuzuli cut (every ASN)',
    from: day(9, 6),
    until: day(9, 9),
    is: (i) => i.scope.region === 'AZ-FUZ' && i.shutdown_extent === 'Full network',
  },
  {
    name: 'AS29049 down',
    from: day(19, 12),
    until: day(19, 13.5),
    is: (i) =>
      i.scope.asns.includes(29049) && i.scope.region === null && i.shutdown_extent === 'Full network',
  },
  {
    name: 'nationwide blackout',
    from: day(24, 18),
    until: day(24, 20),
    is: (i) => i.scope.entity === 'country:AZ' && i.shutdown_extent === 'Full network',
  },
  {
    name: 'WhatsApp blocked on AS31721 and AS197830',
    from: day(14, 0),
    until: day(14, 48),
    is: (i) => i.scope.services.includes('whatsapp') && i.shutdown_extent === 'Service-based',
  },
];
const [fuzuli, asnDown, blackout, whatsapp] = EVENTS as [BenchEvent, BenchEvent, BenchEvent, BenchEvent];
/** News sites blocked on every ASN all month (as in Azerbaijan since 2017): one standing incident, not many. */
const STANDING = (i: Incident) => i.scope.entity.includes('category:NEWS');

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);
const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
const log = (line: string) => process.stdout.write(`${line}\n`);

const dir = await mkdtemp(path.join(tmpdir(), 'pharos-detect-bench-'));
const db = await SignalsDatabase.open(dir);
const evidence = await openEvidenceStore({ dataDir: path.join(dir, 'evidence') });
try {
  await ensureBeaconsTable(db);
  await ensureMeasurementOutcomesTable(db);
  const signals = await SignalStore.open(db);
  const incidents = await IncidentStore.open(db, evidence);

  let t0 = performance.now();
  log(`generating ${DAYS} days of one-minute beacons from ${PROBES} probes…`);
  // Churn: every probe is off for 20 minutes once a day, at its own time; and 2% of probes are off
  // for a whole day now and then. Neither may open an incident.
  const silencedBy = (p: string, t: string) =>
    `(region = 'AZ-FUZ' AND ${t} >= ${fuzuli.from} AND ${t} < ${fuzuli.until})
     OR (asn = 29049 AND ${t} >= ${asnDown.from} AND ${t} < ${asnDown.until})
     OR (${t} >= ${blackout.from} AND ${t} < ${blackout.until})
     OR ((${t} - ${START}) % 86400 // 60 - (hash(${p}, (${t} - ${START}) // 86400, 'churn') % 1440)::BIGINT) BETWEEN 0 AND 19
     OR hash(${p}, (${t} - ${START}) // 86400) % 50 = 0`;
  await db.run(`
    INSERT INTO beacons
    SELECT probe, t + probe % 60, TRUE, 'AZ', asn, region, t + probe % 60
    FROM (
      SELECT p.range AS probe, ${START} + s.range * ${STEP} AS t,
             [${ASNS.join(',')}][1 + p.range % ${ASNS.length}] AS asn,
             [${REGIONS.map((r) => `'${r}'`).join(',')}][1 + (p.range // ${ASNS.length}) % ${REGIONS.length}] AS region
      FROM range(${PROBES}) p, range(${DAYS * 1440}) s
    ) WHERE NOT (${silencedBy('probe', 't')})
    -- In arrival order, as a server stores them: DuckDB then skips row groups by time.
    ORDER BY t`);
  const beaconRows = Number((await db.all<{ n: bigint }>('SELECT count(*) AS n FROM beacons'))[0]?.n);
  const beaconSeconds = (performance.now() - t0) / 1000;

  t0 = performance.now();
  // Measurements: spread over the month and the ASNs; WhatsApp blocked on two ASNs for two days.
  await db.run(`
    INSERT INTO measurement_outcomes
    SELECT printf('%064x', i), i, t, 'AZ', asn, NULL,
           CASE WHEN i % 4 = 0 THEN 'whatsapp' ELSE 'web_connectivity' END,
           CASE WHEN i % 4 = 0 THEN 'whatsapp' ELSE NULL END,
           CASE WHEN i % 4 = 0 THEN NULL ELSE ['NEWS','POLR','HUMR','COMT'][i % 4] END,
           CASE WHEN i % 4 = 0 AND asn IN (31721, 197830) AND t >= ${whatsapp.from} AND t < ${whatsapp.until} THEN 'blocked'
                WHEN i % 4 = 1 AND hash(i, 'news') % 10 <> 0 THEN 'blocked'
                WHEN hash(i) % 50 = 0 THEN 'down'
                ELSE 'ok' END
    FROM (
      SELECT range AS i, ${START} + (range * 86400 // ${Math.max(1, PER_DAY)}) AS t,
             [${ASNS.join(',')}][1 + (hash(range) % ${ASNS.length})::BIGINT] AS asn
      FROM range(${PER_DAY * DAYS})
    )`);
  // BGP: visible /24s per ASN every 5 minutes, steady with a little noise; gone during the blackout.
  await db.run(`
    INSERT INTO signal_points
    SELECT 'asn:' || asn, 'bgp.visible_slash24', 300, t,
           CASE WHEN t >= ${blackout.from} AND t < ${blackout.until} THEN 12 ELSE 400 + hash(asn, t) % 5 END,
           40, 'bench'
    FROM (SELECT unnest([${ASNS.join(',')}]) AS asn), (SELECT ${START} + range * 300 AS t FROM range(${DAYS * 288}))`);
  const otherSeconds = (performance.now() - t0) / 1000;
  log(
    `  ${beaconRows.toLocaleString('en')} beacon rows in ${beaconSeconds.toFixed(1)} s; measurements and BGP in ${otherSeconds.toFixed(1)} s`,
  );

  // One pass over the whole month, phase by phase, as the server's engine runs it.
  const config = parseDetectionConfig({});
  const pipeline = detectionPipeline(db, signals, incidents, config, { beacons: STEP, measurements: 600 });
  const range: PassRange = { from: START, until: END };
  peakRss = process.memoryUsage().rss;
  const rssBefore = peakRss;
  log('one detection pass over the month…');
  t0 = performance.now();
  const points = await pipeline.gather(range);
  const gatherSeconds = (performance.now() - t0) / 1000;
  if (values.verbose) {
    for (const [name, run] of [
      ['stored', () => signals.points(range)],
      ['beacons', () => beaconSignals(db, { ...range, step: STEP })],
      ['measurements', () => measurementSignals(db, { ...range, step: 600 })],
    ] as const) {
      const t = performance.now();
      const n = (await run()).length;
      log(`  ${name}: ${n} points in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
  }
  t0 = performance.now();
  const series = seriesOf(points, range);
  const windows = pipeline.detect(series);
  const detectSeconds = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const { changes } = await pipeline.decide(windows, range, END);
  const decideSeconds = (performance.now() - t0) / 1000;
  const passSeconds = gatherSeconds + detectSeconds + decideSeconds;

  // What the server then does every minute: one more minute of beacons, one more pass. The server
  // looks back 8 days; its beacon hours are cached between passes (signals/beacon-cache.ts).
  await db.run(`
    INSERT INTO beacons
    SELECT p.range, ${END} + p.range % 60, TRUE, 'AZ', [${ASNS.join(',')}][1 + p.range % ${ASNS.length}],
           [${REGIONS.map((r) => `'${r}'`).join(',')}][1 + (p.range // ${ASNS.length}) % ${REGIONS.length}], ${END + STEP}
    FROM range(${PROBES}) p`);
  const live = { from: END + STEP - 8 * 86400, until: END + STEP };
  const livePipeline = detectionPipeline(db, signals, incidents, config, {
    beacons: STEP,
    measurements: 600,
  });
  const timePass = async () => {
    const started = performance.now();
    const windows = livePipeline.detect(seriesOf(await livePipeline.gather(live), live));
    await livePipeline.decide(windows, live, live.until);
    return (performance.now() - started) / 1000;
  };
  const liveColdSeconds = await timePass();
  const liveWarmSeconds = await timePass();
  clearInterval(sampler);

  const found: Incident[] = await incidents.list({ limit: 1000 });
  if (values.verbose)
    for (const i of found)
      log(
        `  incident ${i.scope.entity} ${i.shutdown_type}/${i.shutdown_extent} ${i.start}..${i.end} services=${i.scope.services} asns=${i.scope.asns} windows: ${i.evidence.windows.map((w) => `${w.entity} ${w.signal} ${w.detector} ${new Date(w.start * 1000).toISOString()}`).join('; ')}`,
      );
  const matched = EVENTS.map((e) => ({ event: e, incident: found.find((i) => e.is(i) && overlaps(i, e)) }));
  const standing = found.filter(STANDING);
  const explained = new Set(matched.flatMap((m) => (m.incident ? [m.incident.id] : [])));
  const others = found.filter(
    (i) => !explained.has(i.id) && !STANDING(i) && !EVENTS.some((e) => overlaps(i, e)),
  );
  const during = found.filter(
    (i) => !explained.has(i.id) && !STANDING(i) && EVENTS.some((e) => overlaps(i, e)),
  );
  const rows: string[][] = [
    [
      'beacons',
      `${beaconRows.toLocaleString('en')} rows (${PROBES} probes × ${DAYS} days × 1/min, minus churn and cuts)`,
    ],
    ['measurements', `${(PER_DAY * DAYS).toLocaleString('en')} outcomes`],
    ['BGP', `${(ASNS.length * DAYS * 288).toLocaleString('en')} points (${ASNS.length} ASNs × 5 min)`],
    ['points gathered', `${points.length.toLocaleString('en')} in ${series.length} series`],
    ['pass: gather', `${gatherSeconds.toFixed(1)} s`],
    ['pass: detect', `${detectSeconds.toFixed(1)} s (${windows.length} anomaly windows)`],
    ['pass: incidents', `${decideSeconds.toFixed(1)} s (${changes} changes logged)`],
    ['pass: total', `${passSeconds.toFixed(1)} s`],
    ['live pass, 8 days, first', `${liveColdSeconds.toFixed(1)} s (beacon hours derived and cached)`],
    [
      'live pass, 8 days, next minute',
      `${liveWarmSeconds.toFixed(1)} s (only the current hour derived again)`,
    ],
    ['peak RSS', `${mib(peakRss)} MiB (${mib(rssBefore)} MiB before the pass)`],
    ...matched.map((m) => [
      `found: ${m.event.name}`,
      m.incident
        ? `yes — ${m.incident.scope.entity}, ${m.incident.shutdown_type} / ${m.incident.shutdown_extent}, start off by ${Math.round(Date.parse(m.incident.start) / 1000 - m.event.from)} s`
        : 'NO',
    ]),
    ['standing NEWS blocking', `${standing.length} incident(s): ${summary(standing)}`],
    ['other incidents during the events', `${during.length}${during.length ? ` (${summary(during)})` : ''}`],
    ['false incidents', `${others.length}${others.length ? ` (${summary(others)})` : ''}`],
  ];
  const table = ['| what | result |', '|---|---|', ...rows.map(([a, b]) => `| ${a} | ${b} |`)].join('\n');
  log(`\n${table}\n`);
  if (!values['no-record']) {
    const here = path.dirname(fileURLToPath(import.meta.url));
    await recordBenchmark(
      path.resolve(here, '../../../../docs/benchmarks.md'),
      'bench:detect',
      `One detection pass over ${DAYS} days of a country's inputs, as the server runs it (\`npm run bench:detect\`). ` +
        'The data is generated into a fresh signals database: one-minute beacons with daily churn (each probe off ' +
        '20 minutes a day, 2% off for whole days), measurements, and BGP visibility per ASN, with four disruptions ' +
        'written in. The server itself looks back 8 days per pass, not 30, and keeps derived beacon hours between ' +
        'passes: the two "live pass" rows time what it does every minute.\n\n' +
        table,
    );
    log('recorded in docs/benchmarks.md');
  }
} finally {
  clearInterval(sampler);
  await evidence.close();
  await db.close();
  await rm(dir, { recursive: true, force: true });
}

function overlaps(i: Incident, e: { from: number; until: number }): boolean {
  const start = Date.parse(i.start) / 1000;
  const end = i.end === null ? Number.POSITIVE_INFINITY : Date.parse(i.end) / 1000;
  return start < e.until + 600 && end > e.from - 600;
}

/** Entities with their counts, for a short line. */
function summary(incidents: Incident[]): string {
  const counts = new Map<string, number>();
  for (const i of incidents) counts.set(i.scope.entity, (counts.get(i.scope.entity) ?? 0) + 1);
  return [...counts].map(([e, n]) => (n > 1 ? `${e} ×${n}` : e)).join(', ');
}
