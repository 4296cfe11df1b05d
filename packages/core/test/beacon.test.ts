import { describe, expect, it } from 'vitest';
import {
  type Beacon,
  BeaconFormatError,
  beaconBody,
  beaconTime,
  ed25519PublicKey,
  MAX_BEACON_BYTES,
  MAX_BEACON_MISSED,
  parseBeacon,
  parseBeaconText,
  signBeacon,
  toBase64,
  verifyBeacon,
} from '../src/index.js';

const seed = new Uint8Array(32).map((_, i) => i + 1);
const probeKey = toBase64(ed25519PublicKey(seed));

function beacon(extra: Partial<Beacon> = {}): Beacon {
  return {
    v: 1,
    probe_key: probeKey,
    seq: 7,
    sent_at: '2026-11-23T03:26:57Z',
    cc: 'AZ',
    asn: 29049,
    region: 'AZ-FUZ',
    missed: ['2026-11-23T03:24:57Z', '2026-11-23T03:25:57Z'],
    ...extra,
  };
}

function reject(value: unknown): BeaconFormatError {
  try {
    parseBeacon(value);
  } catch (err) {
    expect(err).toBeInstanceOf(BeaconFormatError);
    return err as BeaconFormatError;
  }
  throw new Error('accepted');
}

describe('beacon format', () => {
  it('signs and verifies, and survives the trip through JSON text', () => {
    const signed = signBeacon(beacon(), seed);
    expect(verifyBeacon(signed)).toBe(true);
    const back = parseBeaconText(beaconBody(signed));
    expect(back.beacon).toEqual(beacon());
    expect(verifyBeacon(back)).toBe(true);
  });

  it('is a few hundred bytes, and stays under the limit with the most missed attempts', () => {
    expect(beaconBody(signBeacon(beacon({ missed: [] }), seed)).length).toBeLessThan(300);
    const start = Date.parse('2026-11-20T00:00:00Z');
    const missed = Array.from({ length: MAX_BEACON_MISSED }, (_, i) =>
      beaconTime(new Date(start + i * 60_000)),
    );
    const full = beaconBody(signBeacon(beacon({ missed }), seed));
    expect(full.length).toBeLessThan(MAX_BEACON_BYTES / 2);
    expect(parseBeaconText(full).beacon.missed).toHaveLength(MAX_BEACON_MISSED);
  });

  it('refuses any change after signing', () => {
    const signed = signBeacon(beacon(), seed);
    for (const tampered of [
      { ...signed.beacon, seq: 8 },
      { ...signed.beacon, asn: 28787 },
      { ...signed.beacon, missed: [] },
      { ...signed.beacon, region: 'AZ-BA' },
    ]) {
      expect(verifyBeacon({ beacon: tampered, signature: signed.signature })).toBe(false);
    }
    const otherSeed = new Uint8Array(32).fill(9);
    const other = signBeacon({ ...beacon(), probe_key: toBase64(ed25519PublicKey(otherSeed)) }, otherSeed);
    expect(verifyBeacon({ beacon: signed.beacon, signature: other.signature })).toBe(false);
  });

  it('will not sign with a key other than the one it names', () => {
    expect(() => signBeacon(beacon(), new Uint8Array(32).fill(3))).toThrow(/probe_key/);
  });

  it('names the field that is wrong', () => {
    const good = signBeacon(beacon(), seed);
    const withBeacon = (b: Record<string, unknown>) => ({ beacon: b, signature: good.signature });
    expect(reject([]).field).toBe('body');
    expect(reject({ ...good, extra: 1 }).field).toBe('extra');
    expect(reject({ ...good, signature: 'abc' }).field).toBe('signature');
    expect(reject(withBeacon({ ...good.beacon, v: 2 })).field).toBe('beacon.v');
    expect(reject(withBeacon({ ...good.beacon, probe_key: toBase64(new Uint8Array(31)) })).message).toMatch(
      /31 bytes, expected 32/,
    );
    expect(reject(withBeacon({ ...good.beacon, seq: -1 })).field).toBe('beacon.seq');
    expect(reject(withBeacon({ ...good.beacon, sent_at: '2026-02-30T00:00:00Z' })).field).toBe(
      'beacon.sent_at',
    );
    expect(reject(withBeacon({ ...good.beacon, cc: 'az' })).field).toBe('beacon.cc');
    expect(reject(withBeacon({ ...good.beacon, asn: 'AS29049' })).field).toBe('beacon.asn');
    expect(reject(withBeacon({ ...good.beacon, region: 'AM-ER' })).message).toMatch(/not in country AZ/);
    expect(reject(withBeacon({ ...good.beacon, ip: '1.2.3.4' })).field).toBe('beacon.ip');
    const unordered = ['2026-11-23T03:25:57Z', '2026-11-23T03:24:57Z'];
    expect(reject(withBeacon({ ...good.beacon, missed: unordered })).field).toBe('beacon.missed[1]');
    expect(reject(withBeacon({ ...good.beacon, missed: ['2026-11-23T03:30:00Z'] })).message).toMatch(
      /before sent_at/,
    );
    expect(() => parseBeaconText('{')).toThrow(/body: is not JSON/);
    expect(() => parseBeaconText(`{"pad":"${'x'.repeat(MAX_BEACON_BYTES)}"}`)).toThrow(/larger than/);
  });
});
