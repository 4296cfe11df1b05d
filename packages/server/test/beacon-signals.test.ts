/** Probe-silence signals from synthetic beacons, as a detector will read them. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendBeaconRows, type BeaconRow } from '../src/beacons/table.js';
import { beaconSignals } from '../src/signals/beacon-signals.js';
import { SignalsDatabase } from '../src/signals/database.js';
import type { SignalPoint } from '../src/signals/types.js';

const STEP = 60;
const T0 = 1_795_000_000 - (1_795_000_000 % STEP);

let db: SignalsDatabase;
beforeEach(async () => {
  db = await SignalsDatabase.open(':memory:');
});
afterEach(async () => {
  await db.close();
});

/** Probe `p` heard once per step over [fromStep, untilStep), mid-step. */
function heard(p: number, fromStep: number, untilStep: number, where: Partial<BeaconRow> = {}): BeaconRow[] {
  const rows: BeaconRow[] = [];
  for (let k = fromStep; k < untilStep; k++) {
    const time = T0 + k * STEP + 20 + (p % 20);
    rows.push({
      probeHash: BigInt(p),
      time,
      heard: true,
      cc: 'AZ',
      asn: 29049,
      region: 'AZ-FUZ',
      received: time,
      ...where,
    });
  }
  return rows;
}

function series(points: SignalPoint[], entity: string, signal: string): Array<number | undefined> {
  const out: Array<number | undefined> = [];
  for (const p of points) if (p.entity === entity && p.signal === signal) out[(p.time - T0) / STEP] = p.value;
  return out;
}

describe('beaconSignals', () => {
  it('counts the probes that fall silent together as disconnected, in the step they fall silent', async () => {
    const rows: BeaconRow[] = [];
    // 10 probes on AS29049 in Fuzuli; 6 of them go silent from step 5 on.
    for (let p = 0; p < 10; p++) rows.push(...heard(p, 0, p < 6 ? 5 : 10));
    // Another network, unaffected.
    for (let p = 100; p < 104; p++) rows.push(...heard(p, 0, 10, { asn: 28787, region: 'AZ-BA' }));
    await appendBeaconRows(db, rows);
    const points = await beaconSignals(db, { from: T0, until: T0 + 10 * STEP, step: STEP });

    const active = series(points, 'asn:29049', 'beacon.active');
    const disconnected = series(points, 'asn:29049', 'beacon.disconnected');
    expect(active).toEqual([10, 10, 10, 10, 10, 4, 4, 4, 4, 4]);
    expect(disconnected).toEqual([0, 0, 0, 0, 0, 6, 0, 0, 0, 0]);
    expect(series(points, 'region:AZ-FUZ+asn:29049', 'beacon.disconnected')[5]).toBe(6);
    expect(series(points, 'region:AZ-FUZ', 'beacon.active')[5]).toBe(4);
    expect(series(points, 'country:AZ', 'beacon.active')).toEqual([14, 14, 14, 14, 14, 8, 8, 8, 8, 8]);
    expect(series(points, 'asn:28787', 'beacon.disconnected')).toEqual(new Array(10).fill(0));
    const atCut = points.find(
      (p) => p.entity === 'asn:29049' && p.signal === 'beacon.disconnected' && p.time === T0 + 5 * STEP,
    );
    // The count is the probes the entity had in view: the 4 heard and the 6 that fell silent.
    expect(atCut).toMatchObject({ step: STEP, count: 10 });
  });

  it('counts a probe that reports its missed attempts once, where it fell silent', async () => {
    const rows: BeaconRow[] = [];
    for (let p = 0; p < 8; p++) {
      rows.push(...heard(p, 0, 3), ...heard(p, 7, 10));
      // Their missed attempts during steps 3-6, reported when they came back (received at step 7).
      for (let k = 3; k < 7; k++) {
        rows.push({
          probeHash: BigInt(p),
          time: T0 + k * STEP + 30,
          heard: false,
          cc: 'AZ',
          asn: 29049,
          region: null,
          received: T0 + 7 * STEP + 30,
        });
      }
    }
    await appendBeaconRows(db, rows);
    const points = await beaconSignals(db, { from: T0, until: T0 + 10 * STEP, step: STEP });
    expect(series(points, 'asn:29049', 'beacon.active')).toEqual([8, 8, 8, 0, 0, 0, 0, 8, 8, 8]);
    // Each probe fell silent once: the disconnections are in step 3 only, however many attempts
    // each reports missing (a burst detector adds neighbouring steps up).
    expect(series(points, 'asn:29049', 'beacon.disconnected')).toEqual([0, 0, 0, 8, 0, 0, 0, 0, 0, 0]);
    // The reports keep the silent probes in view while they are away.
    const known = points.filter((p) => p.entity === 'asn:29049' && p.signal === 'beacon.disconnected');
    expect(known.find((p) => p.time === T0 + 5 * STEP)?.count).toBe(8);
  });

  it('gives a silent entity zeros rather than gaps, for a while', async () => {
    const rows: BeaconRow[] = [];
    for (let p = 0; p < 5; p++) rows.push(...heard(p, 0, 3, { asn: 31721 }));
    await appendBeaconRows(db, rows);
    const points = await beaconSignals(db, {
      from: T0,
      until: T0 + 10 * STEP,
      step: STEP,
      silenceFillSeconds: 4 * STEP,
    });
    expect(series(points, 'asn:31721', 'beacon.active')).toEqual([5, 5, 5, 0, 0, 0, 0, 0]);
    expect(series(points, 'asn:31721', 'beacon.disconnected')).toEqual([0, 0, 0, 5, 0, 0, 0, 0]);
  });

  it('sees a probe heard just before the range, and nothing of an empty table', async () => {
    expect(await beaconSignals(db, { from: T0, until: T0 + 5 * STEP, step: STEP })).toEqual([]);
    await appendBeaconRows(db, heard(1, 0, 2));
    const points = await beaconSignals(db, { from: T0 + 2 * STEP, until: T0 + 3 * STEP, step: STEP });
    expect(points.filter((p) => p.entity === 'asn:29049').map((p) => [p.signal, p.value])).toEqual([
      ['beacon.active', 0],
      ['beacon.disconnected', 1],
    ]);
  });
});
