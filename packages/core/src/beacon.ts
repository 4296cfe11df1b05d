/**
 * Probe beacons (docs/probe.md, "Beacons"): a tiny signed "I am here" a probe sends every interval,
 * so the observatory notices when many probes of one network fall silent together (Disco's
 * disconnection bursts), and learns afterwards, from `missed`, that they were alive and trying.
 *
 * On the wire: `{"beacon": {...}, "signature": "<base64>"}`. The signature is Ed25519 by
 * `beacon.probe_key` over the UTF-8 bytes of the RFC 8785 canonical JSON of `beacon`, the same rule
 * as for measurements. A beacon can never pass for a measurement or the other way round: the
 * beacon's members are a closed set and include none of OONI's envelope fields.
 *
 * Browser-safe (no Buffer, no node:crypto): the probe signs with node:crypto over
 * `beaconSigningBytes`, the server verifies with OpenSSL, and anything else can use the functions
 * here.
 */
import { fromBase64, toBase64 } from './crypto/bytes.js';
import { ed25519PublicKey, ed25519Sign, ed25519Verify } from './crypto/ed25519.js';
import { canonicalJSON, canonicalJSONBytes } from './crypto/jcs.js';

export const BEACON_VERSION = 1;
/** At most this many missed attempts travel in one beacon (about 1.4 KB of times). */
export const MAX_BEACON_MISSED = 60;
/** The largest beacon, wrapper and signature included, a collector takes. */
export const MAX_BEACON_BYTES = 4096;
/** Missed attempts older than this before `sent_at` are refused (a stale state directory). */
export const MAX_MISSED_AGE_SECONDS = 30 * 24 * 3600;

export interface Beacon {
  v: 1;
  /** Base64 of the 32-byte Ed25519 public key: the probe's identity. */
  probe_key: string;
  /**
   * Grows with every attempt, delivered or not (the probe keeps it at or above the Unix time in
   * seconds, so it survives a lost state file). A collector takes a key's beacon only when its seq
   * is above the last one it took: a repeat or a replay is stored once.
   */
  seq: number;
  /** When the probe sent it, ISO 8601 UTC (`2026-11-23T03:26:57Z`), by the probe's clock. */
  sent_at: string;
  /** Where the probe says it is: ISO 3166-1 alpha-2, `ZZ` when withheld. */
  cc: string;
  /** The probe's network as it says, 0 when withheld. */
  asn: number;
  /** ISO 3166-2 subdivision (`AZ-FUZ`) when the volunteer gave one. */
  region?: string;
  /** Earlier attempts that reached no collector, oldest first, ISO 8601 UTC, at most MAX_BEACON_MISSED. */
  missed: string[];
}

export interface SignedBeacon {
  beacon: Beacon;
  /** Base64 of the 64-byte Ed25519 signature over canonicalJSON(beacon). */
  signature: string;
}

/** A beacon that is not well formed: `field` names what, the message says what was expected. */
export class BeaconFormatError extends Error {
  override name = 'BeaconFormatError';
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

const ISO_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,3})?Z$/;
const CC = /^[A-Z]{2}$/;
const REGION = /^[A-Z]{2}-[A-Z0-9]{1,3}$/;
const BEACON_MEMBERS = new Set(['v', 'probe_key', 'seq', 'sent_at', 'cc', 'asn', 'region', 'missed']);

/** ISO 8601 UTC to the second, the spelling beacons use. */
export function beaconTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** Epoch milliseconds of a beacon time, or NaN when it is not `YYYY-MM-DDThh:mm:ss[.sss]Z` or not a real date. */
export function parseBeaconTime(text: string): number {
  const m = ISO_UTC.exec(text);
  if (!m) return Number.NaN;
  const ms = Date.parse(text);
  // Date.parse rolls 2026-02-30 over to March: a round trip catches that.
  if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 19) !== text.slice(0, 19))
    return Number.NaN;
  return ms;
}

/** The bytes a beacon's signature covers. Throws CanonicalJSONError on values JSON cannot carry. */
export function beaconSigningBytes(beacon: Beacon): Uint8Array {
  return canonicalJSONBytes(beacon);
}

/** Signs a beacon with a 32-byte Ed25519 seed (the key must be the one in `probe_key`). */
export function signBeacon(beacon: Beacon, seed: Uint8Array): SignedBeacon {
  const publicKey = toBase64(ed25519PublicKey(seed));
  if (publicKey !== beacon.probe_key)
    throw new BeaconFormatError('beacon.probe_key', 'is not the signing key');
  return { beacon, signature: toBase64(ed25519Sign(beaconSigningBytes(beacon), seed)) };
}

/** The JSON text a probe sends. */
export function beaconBody(signed: SignedBeacon): string {
  return canonicalJSON(signed);
}

function fail(field: string, problem: string): never {
  throw new BeaconFormatError(field, problem);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function base64Of(field: string, value: unknown, size: number, what: string): string {
  if (typeof value !== 'string') fail(field, `must be a base64 string (${what})`);
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(value);
  } catch (err) {
    fail(field, `is not valid base64: ${(err as Error).message}`);
  }
  if (bytes.length !== size) fail(field, `has ${bytes.length} bytes, expected ${size} (${what})`);
  return value;
}

/**
 * Checks a parsed beacon body and returns it typed; throws BeaconFormatError naming the first bad
 * field. Checks form only: the signature is checked by `verifyBeacon` (or the server's verifier).
 */
export function parseBeacon(value: unknown): SignedBeacon {
  if (!isObject(value)) fail('body', 'must be a JSON object {"beacon": {...}, "signature": "..."}');
  for (const key of Object.keys(value)) {
    if (key !== 'beacon' && key !== 'signature')
      fail(key, 'is not a member of a signed beacon (beacon, signature)');
  }
  const signature = base64Of('signature', value.signature, 64, 'an Ed25519 signature');
  const b = value.beacon;
  if (!isObject(b)) fail('beacon', 'must be an object');
  for (const key of Object.keys(b)) {
    if (!BEACON_MEMBERS.has(key))
      fail(`beacon.${key}`, `is not a beacon member (${[...BEACON_MEMBERS].join(', ')})`);
  }
  if (b.v !== BEACON_VERSION)
    fail('beacon.v', `must be ${BEACON_VERSION} (this collector speaks beacon version 1)`);
  const probeKey = base64Of('beacon.probe_key', b.probe_key, 32, 'an Ed25519 public key');
  if (typeof b.seq !== 'number' || !Number.isSafeInteger(b.seq) || b.seq < 0)
    fail('beacon.seq', 'must be a whole number ≥ 0');
  if (typeof b.sent_at !== 'string') fail('beacon.sent_at', 'must be a time such as 2026-11-23T03:26:57Z');
  const sentMs = parseBeaconTime(b.sent_at);
  if (Number.isNaN(sentMs))
    fail('beacon.sent_at', `"${b.sent_at.slice(0, 40)}" is not a UTC time such as 2026-11-23T03:26:57Z`);
  if (typeof b.cc !== 'string' || !CC.test(b.cc))
    fail('beacon.cc', 'must be a two-letter country code in capitals (ZZ when withheld)');
  if (typeof b.asn !== 'number' || !Number.isSafeInteger(b.asn) || b.asn < 0 || b.asn > 4294967295)
    fail('beacon.asn', 'must be an AS number (0 when withheld)');
  if (b.region !== undefined) {
    if (typeof b.region !== 'string' || !REGION.test(b.region))
      fail('beacon.region', 'must be an ISO 3166-2 subdivision such as AZ-FUZ');
    if (b.cc !== 'ZZ' && !b.region.startsWith(`${b.cc}-`))
      fail('beacon.region', `${b.region} is not in country ${b.cc}`);
  }
  if (!Array.isArray(b.missed))
    fail('beacon.missed', 'must be a list of times (empty when nothing was missed)');
  if (b.missed.length > MAX_BEACON_MISSED)
    fail('beacon.missed', `has ${b.missed.length} times, at most ${MAX_BEACON_MISSED}`);
  let previous = Number.NEGATIVE_INFINITY;
  for (const [i, t] of b.missed.entries()) {
    const field = `beacon.missed[${i}]`;
    const ms = typeof t === 'string' ? parseBeaconTime(t) : Number.NaN;
    if (Number.isNaN(ms)) fail(field, 'is not a UTC time such as 2026-11-23T03:26:57Z');
    if (ms <= previous) fail(field, 'is not after the time before it (oldest first, no repeats)');
    if (ms >= sentMs) fail(field, 'is not before sent_at');
    if (sentMs - ms > MAX_MISSED_AGE_SECONDS * 1000) fail(field, 'is more than 30 days before sent_at');
    previous = ms;
  }
  return { beacon: { ...(b as unknown as Beacon), probe_key: probeKey }, signature };
}

/** Parses a beacon's JSON text (at most MAX_BEACON_BYTES of UTF-8), as parseBeacon. */
export function parseBeaconText(text: string): SignedBeacon {
  if (new TextEncoder().encode(text).length > MAX_BEACON_BYTES)
    fail('body', `is larger than ${MAX_BEACON_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    fail('body', `is not JSON: ${(err as Error).message.slice(0, 200)}`);
  }
  return parseBeacon(value);
}

/** True when the signature verifies under the beacon's own key (core's RFC 8032 verifier). */
export function verifyBeacon(signed: SignedBeacon): boolean {
  let bytes: Uint8Array;
  try {
    bytes = beaconSigningBytes(signed.beacon);
  } catch {
    return false;
  }
  return ed25519Verify(fromBase64(signed.signature), bytes, fromBase64(signed.beacon.probe_key));
}
