/**
 * The `beacons` table of the signals database: one row per beacon heard, and one per missed
 * attempt a beacon reported. Probes appear only as a hash of their key, and the sender's address
 * is never a column: it is looked up in memory for cc and asn and forgotten.
 *
 * Times are epoch seconds on the server's clock (a missed attempt's time is moved onto it by the
 * offset between the beacon's sent_at and its arrival).
 */
import { createHash } from 'node:crypto';
import type { SignalsDatabase } from '../signals/database.js';

export const BEACONS_TABLE = 'beacons';

export const BEACONS_DDL = `CREATE TABLE IF NOT EXISTS ${BEACONS_TABLE} (
  probe_hash BIGINT NOT NULL,
  time BIGINT NOT NULL,
  heard BOOLEAN NOT NULL,
  cc VARCHAR,
  asn BIGINT,
  region VARCHAR,
  received BIGINT NOT NULL
)`;

export interface BeaconRow {
  /** probeHash() of the key. */
  probeHash: bigint;
  /** Epoch seconds, server clock. */
  time: number;
  /** true: the beacon arrived; false: an attempt it reports as missed. */
  heard: boolean;
  cc: string | null;
  asn: number | null;
  region: string | null;
  /** When the beacon carrying this row arrived (epoch seconds): late rows are how timelines fill in. */
  received: number;
}

/** Creates the table once per database object. */
export function ensureBeaconsTable(db: SignalsDatabase): Promise<void> {
  return db.ensure(BEACONS_DDL);
}

/**
 * A probe's identity in the table: the first 8 bytes of SHA-256 over a label and the raw key, as a
 * signed 64-bit integer. Distinct counts over 64-bit integers are what keeps a month of beacons
 * quick to aggregate; collisions are negligible below millions of probes. The label makes it
 * differ from the key's public fingerprint, so the table does not join with the evidence log by
 * accident (anyone holding the key can still compute it: a pseudonym, not anonymity).
 */
export function probeHash(rawKey: Uint8Array): bigint {
  const digest = createHash('sha256').update('pharos beacon probe\n').update(rawKey).digest();
  return digest.readBigInt64BE(0);
}

export async function appendBeaconRows(db: SignalsDatabase, rows: readonly BeaconRow[]): Promise<void> {
  await ensureBeaconsTable(db);
  await db.append(
    BEACONS_TABLE,
    rows.map((r) => [r.probeHash, r.time, r.heard, r.cc, r.asn, r.region, r.received]),
  );
}
