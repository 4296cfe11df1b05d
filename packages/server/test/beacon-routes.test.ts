/**
 * POST /api/v1/beacons on a bare Fastify app with an in-memory signals database: what is stored
 * for a good beacon, that nothing is stored for a bad one, and that the sender's address is
 * nowhere in the database.
 */
import {
  type Beacon,
  beaconBody,
  beaconTime,
  ed25519PublicKey,
  type SignedBeacon,
  signBeacon,
  toBase64,
} from '@pharos/core';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BEACONS_PATH, beaconRoutes, probeHash } from '../src/beacons/index.js';
import { SignalsDatabase } from '../src/signals/database.js';

const CLIENT = '203.0.113.77';
const NOW = new Date('2026-11-23T03:30:00Z');
const seed = new Uint8Array(32).fill(7);
const publicKey = ed25519PublicKey(seed);

let db: SignalsDatabase;
let app: FastifyInstance;
let lookups: string[];

beforeEach(async () => {
  db = await SignalsDatabase.open(':memory:');
  lookups = [];
  app = Fastify({ logger: false }) as unknown as FastifyInstance;
  await app.register(
    beaconRoutes({
      db,
      now: () => NOW,
      locator: {
        lookup: (ip) => {
          lookups.push(ip);
          return { cc: 'AZ', asn: 31721 };
        },
      },
    }),
  );
  await app.ready();
});
afterEach(async () => {
  await app.close();
  await db.close();
});

function beacon(extra: Partial<Beacon> = {}): Beacon {
  return {
    v: 1,
    probe_key: toBase64(publicKey),
    seq: 1,
    sent_at: beaconTime(new Date(NOW.getTime() - 2000)),
    cc: 'AZ',
    asn: 29049,
    region: 'AZ-FUZ',
    missed: [],
    ...extra,
  };
}

function send(payload: SignedBeacon | string) {
  return app.inject({
    method: 'POST',
    url: BEACONS_PATH,
    remoteAddress: CLIENT,
    headers: { 'content-type': 'application/json' },
    payload: typeof payload === 'string' ? payload : beaconBody(payload),
  });
}

async function rows() {
  return db.all<Record<string, unknown>>('SELECT * FROM beacons ORDER BY time');
}

describe('POST /api/v1/beacons', () => {
  it('takes a signed beacon: 202 with the server time, the arrival and its missed attempts stored', async () => {
    const missed = [
      beaconTime(new Date(NOW.getTime() - 180_000)),
      beaconTime(new Date(NOW.getTime() - 120_000)),
    ];
    const res = await send(signBeacon(beacon({ missed }), seed));
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ server_time: NOW.toISOString(), duplicate: false, missed_recorded: 2 });
    const stored = await rows();
    const nowS = NOW.getTime() / 1000;
    // The probe's clock is 2 s behind: its missed times are moved onto the server's.
    expect(stored.map((r) => [Number(r.time) - nowS, r.heard])).toEqual([
      [-178, false],
      [-118, false],
      [0, true],
    ]);
    // The network derived from the address wins over the probe's claim; the region is its word.
    expect(stored[2]).toMatchObject({ cc: 'AZ', asn: 31721n, region: 'AZ-FUZ' });
    expect(stored[2]!.probe_hash).toBe(probeHash(publicKey));
    expect(lookups).toEqual([CLIENT]);
  });

  it('keeps the address nowhere, and the key only as a hash', async () => {
    await send(signBeacon(beacon({ missed: [beaconTime(new Date(NOW.getTime() - 60_000))] }), seed));
    const columns = await db.all<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'beacons'",
    );
    expect(columns.map((c) => c.column_name).sort()).toEqual(
      ['asn', 'cc', 'heard', 'probe_hash', 'received', 'region', 'time'].sort(),
    );
    const dump = JSON.stringify(await rows(), (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    expect(dump).not.toContain(CLIENT);
    expect(dump).not.toContain(toBase64(publicKey));
  });

  it('refuses a bad signature (400) and stores nothing', async () => {
    const signed = signBeacon(beacon(), seed);
    const res = await send({ beacon: { ...signed.beacon, seq: 2 }, signature: signed.signature });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(/signature: does not verify/);
    expect(await rows()).toEqual([]);
  });

  it('names the bad field, refuses a wrong clock, and stores nothing', async () => {
    const signed = signBeacon(beacon(), seed);
    const bad = await send(
      JSON.stringify({ beacon: { ...signed.beacon, cc: 'Azerbaijan' }, signature: signed.signature }),
    );
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/^beacon\.cc: /);
    const late = await send(
      signBeacon(beacon({ sent_at: beaconTime(new Date(NOW.getTime() - 3_600_000)) }), seed),
    );
    expect(late.statusCode).toBe(400);
    expect(late.json().error).toMatch(/3600 s behind the server's clock/);
    const notJSON = await send('{"beacon":');
    expect(notJSON.statusCode).toBe(400);
    const huge = await send(`{"pad":"${'x'.repeat(5000)}"}`);
    expect(huge.statusCode).toBe(413);
    expect(await rows()).toEqual([]);
  });

  it('stores a repeated beacon once, and rate-limits a key that sends too often', async () => {
    const signed = signBeacon(beacon(), seed);
    expect((await send(signed)).statusCode).toBe(202);
    const again = await send(signed);
    expect(again.statusCode).toBe(202);
    expect(again.json().duplicate).toBe(true);
    expect(await rows()).toHaveLength(1);
    let status = 202;
    for (let seq = 2; seq < 30 && status === 202; seq++)
      status = (await send(signBeacon(beacon({ seq }), seed))).statusCode;
    expect(status).toBe(429);
  });
});
