import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SignalsDatabase } from '../src/signals/database.js';
import { SignalPointError, SignalStore } from '../src/signals/store.js';
import type { SignalPoint } from '../src/signals/types.js';

const T0 = 1_695_124_800; // 2023-09-19T12:00:00Z, a multiple of 300 and 600

function point(over: Partial<SignalPoint> = {}): SignalPoint {
  return { entity: 'country:AZ', signal: 'ping-slash24', time: T0, step: 300, value: 100, count: 1, ...over };
}

let db: SignalsDatabase;
let store: SignalStore;
beforeEach(async () => {
  db = await SignalsDatabase.open(':memory:');
  store = await SignalStore.open(db);
});
afterEach(async () => {
  await db.close();
});

describe('SignalStore', () => {
  it('stores points under the canonical entity and reads them back in time order', async () => {
    const written = await store.put(
      [
        point({ time: T0 + 300, value: 90 }),
        point({ time: T0, value: 100 }),
        point({ entity: 'platform:TikTok+asn:AS29049', signal: 'measurement.blocked', value: 3, count: 7 }),
      ],
      'test',
    );
    expect(written).toBe(3);
    expect(await store.points({ entity: 'country:az', from: T0, until: T0 + 600 })).toEqual([
      point({ time: T0, value: 100 }),
      point({ time: T0 + 300, value: 90 }),
    ]);
    const [tiktok] = await store.points({ entity: 'asn:29049+platform:tiktok', from: T0, until: T0 + 1 });
    expect(tiktok).toEqual(
      point({ entity: 'asn:29049+platform:tiktok', signal: 'measurement.blocked', value: 3, count: 7 }),
    );
    // until is exclusive
    expect(await store.points({ from: T0 + 300, until: T0 + 300 })).toEqual([]);
  });

  it('refuses a bad point, naming it, and writes none of the batch', async () => {
    const bad: Array<[Partial<SignalPoint>, RegExp]> = [
      [{ entity: 'country:AZE' }, /point #1: entity "country:AZE"/],
      [{ entity: 'town:Baku' }, /unknown type "town"/],
      [{ signal: 'Ping Slash24' }, /signal "Ping Slash24" is not a valid name/],
      [{ time: T0 + 30 }, /not aligned to the step of 300 s/],
      [{ value: Number.NaN }, /value NaN is not a finite number/],
      [{ value: Number.POSITIVE_INFINITY }, /value Infinity/],
      [{ count: -1 }, /count -1 is not a whole number ≥ 0/],
      [{ step: 0 }, /step 0 is not a whole number of seconds/],
    ];
    for (const [over, message] of bad) {
      const err = await store.put([point(), point(over)], 'test').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SignalPointError);
      expect((err as SignalPointError).index).toBe(1);
      expect((err as Error).message).toMatch(message);
    }
    expect(await store.points({ from: 0, until: 2 ** 40 })).toEqual([]);
  });

  it('is idempotent, lets late data replace a value, and keeps the last of duplicates in one write', async () => {
    const points = [point(), point({ time: T0 + 300, value: 90 })];
    expect(await store.put(points, 'a.csv')).toBe(2);
    expect(await store.put(points, 'a.csv')).toBe(0);
    expect(await store.put([point({ time: T0 + 300, value: 95, count: 2 })], 'late.csv')).toBe(1);
    expect(await store.put([point({ value: 1 }), point({ value: 2 })], 'dup.csv')).toBe(1);
    expect(await store.points({ from: T0, until: T0 + 600 })).toEqual([
      point({ value: 2 }),
      point({ time: T0 + 300, value: 95, count: 2 }),
    ]);
    const catalog = await store.catalog();
    expect(catalog).toEqual([
      {
        entity: 'country:AZ',
        signal: 'ping-slash24',
        step: 300,
        from: T0,
        until: T0 + 600,
        points: 2,
        source: 'dup.csv, late.csv',
      },
    ]);
  });

  it('keeps steps apart and returns dense series with gaps as null, not zero', async () => {
    await store.put(
      [
        point({ time: T0, value: 0 }),
        point({ time: T0 + 900, value: 7, count: 3 }),
        point({ step: 600, time: T0, value: 42 }),
      ],
      'test',
    );
    const series = await store.series({
      entity: 'country:AZ',
      signal: 'ping-slash24',
      step: 300,
      from: T0 + 10,
      until: T0 + 1200,
    });
    expect(series).toEqual({
      entity: 'country:AZ',
      signal: 'ping-slash24',
      step: 300,
      from: T0,
      values: [0, null, null, 7],
      counts: [1, 0, 0, 3],
    });
    expect((await store.catalog()).map((c) => [c.step, c.points])).toEqual([
      [300, 2],
      [600, 1],
    ]);
  });

  it('takes a million points in one write and re-importing them changes nothing', {
    timeout: 180_000,
  }, async () => {
    const points: SignalPoint[] = [];
    for (let a = 0; a < 1000; a++) {
      for (let i = 0; i < 1000; i++) {
        points.push({
          entity: `asn:${a + 1}`,
          signal: 'bgp.visible_slash24',
          step: 300,
          time: T0 + i * 300,
          value: a * 1000 + i,
          count: 5,
        });
      }
    }
    expect(await store.put(points, 'big')).toBe(1_000_000);
    expect(await store.put(points, 'big')).toBe(0);
    points[123_456] = { ...(points[123_456] as SignalPoint), value: -1 };
    expect(await store.put(points, 'big')).toBe(1);
    const catalog = await store.catalog();
    expect(catalog).toHaveLength(1000);
    expect(catalog.reduce((n, c) => n + c.points, 0)).toBe(1_000_000);
    const [changed] = await store.points({ entity: 'asn:124', from: T0 + 456 * 300, until: T0 + 457 * 300 });
    expect(changed?.value).toBe(-1);
  });
});

describe('SignalStore on disk', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pharos-signals-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps points across a close and reopen', async () => {
    const first = await SignalsDatabase.open(dir);
    await (await SignalStore.open(first)).put([point()], 'test');
    await first.close();
    const second = await SignalsDatabase.open(dir);
    try {
      const again = await SignalStore.open(second);
      expect(await again.points({ from: T0, until: T0 + 300 })).toEqual([point()]);
      // No staging tables are left behind.
      const tables = await second.all<{ name: string }>('SELECT table_name AS name FROM duckdb_tables()');
      expect(tables.map((t) => t.name)).toEqual(['signal_points']);
    } finally {
      await second.close();
    }
  });
});
