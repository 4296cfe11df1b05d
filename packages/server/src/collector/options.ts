/** What the collector can be configured with, and the defaults a public deployment starts from. */
import { availableParallelism } from 'node:os';

export interface CollectorOptions {
  /** Largest request body on the wire, compressed or not, in bytes (413 above). Default 16 MiB. */
  bodyLimit: number;
  /**
   * Largest body after decompression, in bytes (413 above). A zip bomb stops here: decompression
   * is cut off at this size, never run to the end. Default 64 MiB.
   */
  maxDecompressedBytes: number;
  /** Most measurements in one batch. Default 1000. */
  maxBatchSize: number;
  /** Largest canonical JSON of one measurement, in bytes. Default 1 MiB (docs/evidence-log.md). */
  maxMeasurementBytes: number;
  /**
   * Per-key rate limit, a token bucket counted in measurements: `burst` at once, refilled at
   * `perSecond`. Generous by default: a probe uploading a day's backlog after a shutdown must get
   * through, and one key still cannot take more than a fraction of a server.
   */
  rateLimit: { perSecond: number; burst: number };
  /**
   * Decompressed body bytes being checked or stored at once, over all requests; beyond it new
   * batches get 503 with Retry-After instead of queueing without bound. Default 256 MiB.
   */
  maxPendingBytes: number;
  /**
   * Worker threads that check signatures (verify-threads.ts); 0 checks them with node:crypto's
   * asynchronous verify on libuv's pool instead. Default: one per core, at most 4.
   */
  verifyThreads: number;
}

export const DEFAULT_COLLECTOR_OPTIONS: Readonly<CollectorOptions> = {
  bodyLimit: 16 * 1024 * 1024,
  maxDecompressedBytes: 64 * 1024 * 1024,
  maxBatchSize: 1000,
  maxMeasurementBytes: 1024 * 1024,
  rateLimit: { perSecond: 500, burst: 10_000 },
  maxPendingBytes: 256 * 1024 * 1024,
  verifyThreads: Math.max(1, Math.min(4, availableParallelism())),
};

export function resolveCollectorOptions(options: Partial<CollectorOptions> = {}): CollectorOptions {
  const resolved = {
    ...DEFAULT_COLLECTOR_OPTIONS,
    ...options,
    rateLimit: { ...DEFAULT_COLLECTOR_OPTIONS.rateLimit, ...options.rateLimit },
  };
  for (const [name, value] of Object.entries({
    bodyLimit: resolved.bodyLimit,
    maxDecompressedBytes: resolved.maxDecompressedBytes,
    maxBatchSize: resolved.maxBatchSize,
    maxMeasurementBytes: resolved.maxMeasurementBytes,
    'rateLimit.perSecond': resolved.rateLimit.perSecond,
    'rateLimit.burst': resolved.rateLimit.burst,
    maxPendingBytes: resolved.maxPendingBytes,
  })) {
    if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`collector option ${name} must be > 0`);
  }
  if (!(Number.isInteger(resolved.verifyThreads) && resolved.verifyThreads >= 0)) {
    throw new RangeError('collector option verifyThreads must be an integer >= 0');
  }
  if (resolved.rateLimit.burst < resolved.maxBatchSize) {
    // Otherwise a full batch from one key could never be accepted, however long it waited.
    throw new RangeError('collector option rateLimit.burst must be at least maxBatchSize');
  }
  return resolved;
}
