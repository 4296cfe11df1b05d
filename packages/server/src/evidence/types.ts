/**
 * The evidence store's public types; the collector hands over `IncomingMeasurement`s through its
 * MeasurementSink view of the store (src/collector/store.ts).
 */

/** One accepted measurement, validated and scrubbed by the collector, ready to be stored and logged. */
export interface IncomingMeasurement {
  /** Lower-case hex SHA-256 of the canonical JSON the probe signed (= of `body` unless scrubbed). */
  id: string;
  /**
   * The UTF-8 bytes of the measurement's RFC 8785 canonical JSON as stored (after scrubbing); from
   * the collector's fast path, a slice of the request body.
   */
  body: Uint8Array;
  /** The same measurement, parsed (from the collector's fast path, when first read). */
  measurement: Record<string, unknown>;
  /**
   * When the collector parsed only part of it: the measurement with test_keys cut down to
   * `testKeyScalars`. What the store's columns and detection read (see `envelopeOf`).
   */
  envelope?: Record<string, unknown>;
  /**
   * Its test_keys members that are not objects or arrays, when the collector read them without
   * parsing test_keys: enough for its outcome.
   */
  testKeyScalars?: Record<string, unknown>;
  /** Base64 of the probe's 32-byte Ed25519 public key. */
  probeKey: string;
  /** Base64 of the 64-byte signature over the canonical JSON the probe sent. */
  signature: string;
  /** True when the submitter's address was removed from the body before storing. */
  scrubbed: boolean;
  receivedAt: Date;
  network: {
    derivedCC: string | null;
    derivedASN: number | null;
    claimedCC: string;
    claimedASN: string;
    mismatch: boolean;
  };
}

export interface AppendResult {
  id: string;
  log_index: number;
  /** The measurement was already stored; `log_index` is its original index. */
  duplicate: boolean;
  /** Received long after it ended (the collector's metadata, never in the signed body). */
  late: boolean;
}

/** A stored measurement as `GET /api/v1/measurements/:id` shows it (what `pharos verify` reads). */
export interface StoredMeasurement {
  id: string;
  measurement: Record<string, unknown>;
  probe_key: string;
  signature: string;
  log_index: number;
  /** The log entry's text (its UTF-8 bytes are the leaf). */
  entry: string;
  /** ISO 8601 UTC time the collector received it. */
  received: string;
  late: boolean;
  upload_delay_seconds: number | null;
  scrubbed: boolean;
  network: {
    derived_cc: string | null;
    derived_asn: number | null;
    claimed_cc: string | null;
    claimed_asn: string | null;
    location_mismatch: boolean;
  };
}

/** A record logged beside the measurements, as `GET /api/v1/records/:log_index` shows it. */
export interface StoredRecord {
  /** What it is: `incident` (an incident's state change). */
  kind: string;
  log_index: number;
  /** The record as stored; its canonical JSON hashes to `sha256`. */
  record: Record<string, unknown>;
  /** Lower-case hex SHA-256 of the record's canonical JSON, as its entry records. */
  sha256: string;
  /** The log entry's text (its UTF-8 bytes are the leaf). */
  entry: string;
  /** ISO 8601 UTC time the store took it. */
  received: string;
}

/** One thing the integrity check found wrong: where, and what, in plain words. */
export interface IntegrityProblem {
  /** e.g. `log entry 17`, `measurement 3f2a… (log index 17)`, `tile/0/001`, `checkpoint of size 42`. */
  where: string;
  problem: string;
}

export interface IntegrityReport {
  ok: boolean;
  /** Log entries checked (the tree size the check covers). */
  treeSize: number;
  /** Tree size the tiles on disk were checked at (the published checkpoint's). */
  tileTreeSize: number;
  checked: {
    entries: number;
    measurements: number;
    /** Records (incident changes…) checked against their entries. */
    records: number;
    signatures: number;
    tiles: number;
    entryBundles: number;
    checkpoints: number;
  };
  problems: IntegrityProblem[];
  /** More problems were found than are listed. */
  problemsOmitted: number;
  /** Things worth knowing that are not problems (e.g. tiles behind after a crash). */
  notes: string[];
}

export interface IntegrityOptions {
  /** Verify every unscrubbed measurement's Ed25519 signature too (default true). */
  signatures?: boolean;
  /** Most problems listed (default 1000); the rest are counted. */
  maxProblems?: number;
}

/** A bad argument to a read method (index beyond the tree, size 0, …); routes answer 400. */
export class EvidenceRangeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvidenceRangeError';
  }
}

/** Something exists but cannot be served yet (e.g. an entry not in a published checkpoint); 503. */
export class EvidenceUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvidenceUnavailableError';
  }
}

/** Logging the store does (pino's shape; the server passes its logger). */
export interface EvidenceLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface EvidenceStore {
  /** The log's origin (first line of its checkpoints; also the key's name). */
  readonly origin: string;
  /** The log's verifier key, `<origin>+<key id>+<base64>`. */
  readonly vkey: string;
  readonly dataDir: string;
  /** Stores and logs a batch; resolves once it is durably committed, with results in batch order. */
  append(batch: readonly IncomingMeasurement[]): Promise<AppendResult[]>;
  /** The latest published checkpoint (a signed note). */
  checkpoint(): string;
  /** Tree size of the latest published checkpoint. */
  treeSize(): number;
  /** A hash tile (width 1..256, default 256 = full), or null when the published tree has no such tile. */
  tile(level: number, index: number, width?: number): Promise<Uint8Array | null>;
  /** An entry bundle, or null when the published tree has no such bundle. */
  entryBundle(index: number, width?: number): Promise<Uint8Array | null>;
  getMeasurement(id: string): Promise<StoredMeasurement | null>;
  /**
   * Logs a record beside the measurements through the same sequencer (one writer, group commit);
   * resolves once it is durably committed, with its log index and the SHA-256 of its canonical JSON.
   */
  appendRecord(
    kind: 'incident',
    body: Record<string, unknown>,
  ): Promise<{ log_index: number; sha256: string }>;
  /** The record at a log index, or null when that index holds a measurement or nothing. */
  getRecord(logIndex: number): Promise<StoredRecord | null>;
  /** A C2SP tlog-proof for the record at a log index against the latest checkpoint, or null. */
  recordProof(logIndex: number): Promise<string | null>;
  /** Inclusion proof of an entry in the tree of `treeSize` (default: the published size). */
  inclusionProof(logIndex: number, treeSize?: number): Promise<Uint8Array[]>;
  /** Consistency proof from size1 to size2 (default: the published size); empty for size1 = 0. */
  consistencyProof(size1: number, size2?: number): Promise<Uint8Array[]>;
  /** A C2SP tlog-proof for the measurement against the latest checkpoint, or null if unknown. */
  tlogProof(id: string): Promise<string | null>;
  verifyIntegrity(options?: IntegrityOptions): Promise<IntegrityReport>;
  close(): Promise<void>;
}

/** The parsed measurement with at least its envelope: what the store's columns and detection read. */
export function envelopeOf(item: IncomingMeasurement): Record<string, unknown> {
  return item.envelope ?? item.measurement;
}
