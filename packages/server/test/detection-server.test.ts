/**
 * Detection inside the server, end to end: beacons in the signals database, a pass of the engine,
 * incidents served by the API and every change in the evidence log. Time is replayed with the
 * detection clock; beacon history is written straight into the table, the way the route stores it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beaconBody, beaconTime, ed25519PublicKey, signBeacon, toBase64 } from '@pharos/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServer, type PharosServer } from '../src/app.js';
import { appendBeaconRows, type BeaconRow } from '../src/beacons/index.js';
import { readSignalFile } from '../src/eval/signal-files.js';
import type { Incident } from '../src/incidents/types.js';
import { SignalsDatabase } from '../src/signals/database.js';
import { body, post, signed } from './collector-fixtures.js';

const STEP = 60;
/** The cut: 2026-11-01 12:00 UTC, after a day of steady beacons. */
const CUT = Date.UTC(2026, 10, 1, 12, 0, 0) / 1000;
const RESTORE = CUT + 30 * 60;

let dir: string;
let server: PharosServer;
let clock = 0;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pharos-detect-'));
  server = await createServer({
    dataDir: dir,
    logger: false,
    locator: { lookup: () => ({ cc: null, asn: null }) },
    detection: { beaconInterval: STEP, every: null, lookback: 2 * 86400, now: () => clock * 1000 },
  });
});
afterEach(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

/** Ten probes in Fuzuli on AS29049 beaconing every minute from a day before the cut; eight are cut. */
function history(until: number): BeaconRow[] {
  const rows: BeaconRow[] = [];
  for (let probe = 1; probe <= 10; probe++) {
    for (let t = CUT - 86400; t < until; t += STEP) {
      const cut = probe <= 8 && t >= CUT && t < RESTORE;
      if (cut) continue;
      const time = t + probe; // each probe at its own second of the minute
      rows.push({
        probeHash: BigInt(probe),
        time,
        heard: true,
        cc: 'AZ',
        asn: 29049,
        region: 'AZ-FUZ',
        received: time,
      });
    }
  }
  return rows;
}

async function incidents() {
  const res = await server.app.inject({ method: 'GET', url: '/api/v1/incidents' });
  expect(res.statusCode).toBe(200);
  return res.json().incidents as Incident[];
}

describe('detection in the server', () => {
  it('opens an incident scoped to the silenced network, logs it, and ends it when the probes return', async () => {
    const detection = server.detection!;
    await appendBeaconRows(detection.db, history(CUT + 5 * 60));
    clock = CUT + 5 * 60 + 20;
    const first = await detection.engine.pass();
    expect(first?.changes).toBeGreaterThan(0);

    const open = await incidents();
    expect(open).toHaveLength(1);
    const fuzuli = open[0];
    expect(fuzuli?.scope).toMatchObject({ region: 'AZ-FUZ', asns: [29049] });
    expect(fuzuli).toMatchObject({
      status: 'ongoing',
      shutdown_type: 'Shutdown',
      shutdown_extent: 'Full network',
    });
    expect(Date.parse(fuzuli!.start) / 1000).toBeGreaterThanOrEqual(CUT - STEP);
    expect(Date.parse(fuzuli!.start) / 1000).toBeLessThanOrEqual(CUT + STEP);

    // The change is in the evidence log, as a record whose hash the detail view carries.
    const detail = await server.app.inject({ method: 'GET', url: `/api/v1/incidents/${fuzuli!.id}` });
    const changes = detail.json().changes as Array<{ change: string; log_index: number }>;
    expect(changes[0]?.change).toBe('opened');
    const record = await server.app.inject({
      method: 'GET',
      url: `/api/v1/records/${changes[0]!.log_index}`,
    });
    expect(record.statusCode).toBe(200);
    expect(record.json()).toMatchObject({ log_index: changes[0]!.log_index });

    // The probes come back: the next passes end it, with an end near the restoration.
    const rows = history(RESTORE + 10 * 60).filter((r) => r.time >= CUT + 5 * 60);
    await appendBeaconRows(detection.db, rows);
    clock = RESTORE + 10 * 60 + 20;
    await detection.engine.pass();
    const ended = (await incidents()).find((i) => i.id === fuzuli!.id);
    expect(ended?.status).toBe('ended');
    expect(Math.abs(Date.parse(ended!.end as string) / 1000 - RESTORE)).toBeLessThanOrEqual(2 * STEP);
  });

  it('a quiet day opens nothing', async () => {
    const quiet = history(CUT).filter((r) => r.time < CUT);
    await appendBeaconRows(server.detection!.db, quiet);
    clock = CUT + 20;
    const report = await server.detection!.engine.pass();
    expect(report?.series).toBeGreaterThan(0);
    expect(await incidents()).toEqual([]);
  });

  it('serves the signals a pass reads, as JSON and as the CSV pharos eval reads', async () => {
    await appendBeaconRows(server.detection!.db, history(CUT + 5 * 60));
    const url = `/api/v1/signals?from=${CUT - 600}&until=${CUT + 300}&entity=asn:29049&signal=beacon.active`;
    const json = await server.app.inject({ method: 'GET', url });
    expect(json.statusCode).toBe(200);
    const points = json.json().points as Array<{ time: number; value: number }>;
    expect(points.find((p) => p.time === CUT - 60)?.value).toBe(10);
    expect(points.find((p) => p.time === CUT + 60)?.value).toBe(2);

    const csv = await server.app.inject({ method: 'GET', url: `${url}&format=csv` });
    const file = path.join(dir, 'signals.csv');
    await writeFile(file, csv.body);
    const [series] = await readSignalFile(file);
    expect(series).toMatchObject({ entity: 'asn:29049', signal: 'beacon.active', step: STEP });
    expect(series!.values).toContain(2);

    const bad = await server.app.inject({
      method: 'GET',
      url: '/api/v1/signals?from=2026-01-01&until=2026-03-01',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/at most 31 days/);
    const badEntity = await server.app.inject({
      method: 'GET',
      url: `/api/v1/signals?from=0&until=60&entity=asn:x`,
    });
    expect(badEntity.json().error).toMatch(/entity/);
  });

  it('records each accepted measurement once for the signals, a resubmission not again', async () => {
    const items = signed(3);
    for (let i = 0; i < 2; i++) {
      const res = await post(server.app, body(items), {}, '203.0.113.5');
      expect(res.statusCode).toBe(200);
    }
    await server.close(); // flushes the buffered outcomes
    const db = await SignalsDatabase.open(dir);
    try {
      const rows = await db.all<{ n: bigint }>('SELECT count(*) AS n FROM measurement_outcomes');
      expect(Number(rows[0]?.n)).toBe(3);
    } finally {
      await db.close();
    }
  });

  it('takes signed beacons over HTTP and reports its passes at /api/v1/detection', async () => {
    const seed = new Uint8Array(32).fill(3);
    const signed = signBeacon(
      {
        v: 1,
        probe_key: toBase64(ed25519PublicKey(seed)),
        seq: 1,
        sent_at: beaconTime(new Date()),
        cc: 'AZ',
        asn: 29049,
        missed: [],
      },
      seed,
    );
    const res = await server.app.inject({
      method: 'POST',
      url: '/api/v1/beacons',
      headers: { 'content-type': 'application/json' },
      payload: beaconBody(signed),
    });
    expect(res.statusCode).toBe(202);
    const status = await server.app.inject({ method: 'GET', url: '/api/v1/detection' });
    expect(status.json()).toMatchObject({ running: false, step: STEP });
  });
});
