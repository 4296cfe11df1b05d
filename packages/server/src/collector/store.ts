/**
 * What the collector hands to the evidence store, and the one method it needs from it. The store
 * (../evidence) implements this; keeping the collector's view this narrow lets its tests run
 * against a small in-memory store.
 */

/** One accepted measurement, ready to be stored and logged. */
export interface IncomingMeasurement {
  /**
   * The measurement id: lower-case hex SHA-256 of the canonical JSON the probe signed. It equals
   * the SHA-256 of `canonical` unless `scrubbed` (docs/evidence-log.md).
   */
  id: string;
  /** RFC 8785 canonical JSON of the measurement as stored (after scrubbing). */
  canonical: string;
  /** The validated, scrubbed measurement. */
  measurement: Record<string, unknown>;
  /** Base64 of the probe's 32-byte Ed25519 public key. */
  probeKey: string;
  /** Base64 of the 64-byte signature over the canonical JSON the probe sent. */
  signature: string;
  /** True when the submitter's address was removed from the body before storing. */
  scrubbed: boolean;
  receivedAt: Date;
  /** Derived from the submitter's address at submission, then the address is forgotten. */
  network: {
    derivedCC: string | null;
    derivedASN: number | null;
    claimedCC: string;
    claimedASN: string;
    /** The derived country or network differs from the one the probe claims (neither unknown). */
    mismatch: boolean;
  };
}

export interface AppendResult {
  id: string;
  log_index: number;
  duplicate: boolean;
  late: boolean;
}

export interface MeasurementSink {
  /** Resolves once the whole batch is durably stored and in the log, in the batch's order. */
  append(batch: IncomingMeasurement[]): Promise<AppendResult[]>;
}
