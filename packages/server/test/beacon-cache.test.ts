/**
 * The live server's beacon-signal cache must say exactly what deriving everything afresh says,
 * also after late rows (a returning probe's missed attempts) land in hours it had already derived.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendBeaconRows, type BeaconRow } from '../src/beacons/index.js';
import { BeaconSignalCache, fillSilence } from '../src/signals/beacon-cache.js';
import { beaconSignals } from '../src/signals/beacon-signals.js';
import { SignalsDatabase } from '../src/signals/database.js';
import type { SignalPoint } from '../src/signals/types.js';

const STEP = 60;
const T0 = Date.UTC(2026, 10, 1) / 1000;
let db: SignalsDatabase;

beforeEach(async () => {
  db = await SignalsDatabase.open(':memory:');
});
afterEach(async () => {
  await db.close();
});

function beacons(probes: number[], from: number, until: number, received?: number): BeaconRow[] {
  const rows: BeaconRow[] = [];
  for (const probe of probes)
    for (let t = from; t < until; t += STEP) {
      const time = t + 20 + probe;
      rows.push({
        probeHash: BigInt(probe),
        time,
        heard: true,
        cc: 'AZ',
        asn: 29049,
        region: null,
        received: received ?? time,
      });
    }
  return rows;
}

const key = (p: SignalPoint) => `${p.entity} ${p.signal} ${p.time} ${p.value} ${p.count}`;
const sorted = (points: SignalPoint[]) => points.map(key).sort();

describe('beacon signal cache', () => {
  it('gives what a fresh derivation gives, before and after late rows fill in an earlier hour', async () => {
    // Five probes for three hours; three of them silent in the second hour (a cut).
    await appendBeaconRows(db, beacons([1, 2], T0, T0 + 3 * 3600));
    await appendBeaconRows(db, beacons([3, 4, 5], T0, T0 + 3600));
    await appendBeaconRows(db, beacons([3, 4, 5], T0 + 2 * 3600, T0 + 3 * 3600));
    const cache = new BeaconSignalCache(db, STEP);
    const range = { from: T0, until: T0 + 3 * 3600 };
    const fresh = () => beaconSignals(db, { ...range, step: STEP });
    expect(sorted(await cache.points(range))).toEqual(sorted(await fresh()));

    // The three come back and report the attempts they missed in the second hour.
    const missed: BeaconRow[] = [];
    for (const probe of [3, 4, 5])
      for (let t = T0 + 3600; t < T0 + 2 * 3600; t += 300)
        missed.push({
          probeHash: BigInt(probe),
          time: t + 7,
          heard: false,
          cc: 'AZ',
          asn: 29049,
          region: null,
          received: T0 + 3 * 3600 + 5,
        });
    await appendBeaconRows(db, missed);
    const after = await cache.points(range);
    expect(sorted(after)).toEqual(sorted(await fresh()));
    const disconnected = after.filter(
      (p) => p.signal === 'beacon.disconnected' && p.time === T0 + 3600 + 300,
    );
    // The reports keep the three in view (count) through their silence.
    expect(disconnected[0]).toMatchObject({ value: 0, count: 5 });
  });

  it('answers an older range too, and still the recent one after it, as a fresh derivation would', async () => {
    await appendBeaconRows(db, beacons([1, 2, 3], T0, T0 + 6 * 3600));
    // Keeps two hours back from the latest range asked for.
    const cache = new BeaconSignalCache(db, STEP, 2 * 3600);
    const recent = { from: T0 + 4 * 3600, until: T0 + 6 * 3600 };
    const old = { from: T0, until: T0 + 3600 };
    for (const range of [recent, old, recent]) {
      expect(sorted(await cache.points(range))).toEqual(
        sorted(await beaconSignals(db, { ...range, step: STEP })),
      );
    }
  });

  it('fills an entity gone silent with zeros for up to a day, not beyond, and not over later points', () => {
    const at = (time: number, value: number): SignalPoint => ({
      entity: 'asn:29049',
      signal: 'beacon.active',
      time,
      step: STEP,
      value,
      count: value,
    });
    const filled = fillSilence([at(T0, 5), at(T0 + 600, 4)], STEP, { from: T0, until: T0 + 2 * 86400 });
    const active = filled.filter((p) => p.signal === 'beacon.active').sort((a, b) => a.time - b.time);
    expect(active.slice(0, 3).map((p) => p.value)).toEqual([5, 0, 0]);
    expect(active.find((p) => p.time === T0 + 600)?.value).toBe(4);
    // One day of zeros after the last point, then nothing.
    expect(active.at(-1)?.time).toBe(T0 + 600 + 86400);
    expect(active.filter((p) => p.time === T0 + 600)).toHaveLength(1);
  });
});
