/** @pharos/probe: the experiments and the network primitives they are built from. */

export { describeParseError, UsageError } from './cli/command-line.js';
export * from './experiments/apps/index.js';
export {
  keyFingerprint,
  loadOrCreateProbeKey,
  type ProbeKey,
  ProbeKeyError,
  readProbeKey,
} from './identity/probe-key.js';
export {
  asJSONObject,
  canonicalBytes,
  measurementId,
  type SignedMeasurement,
  type SubmissionItem,
  signMeasurement,
} from './identity/sign.js';
export { resolveStateDir, type StateLayout, stateLayout } from './identity/state-dir.js';
export * from './net/index.js';
export { syncDirectory, writeSyncedThenRename } from './outbox/durable-file.js';
export { type LedgerEntry, readLedger } from './outbox/ledger.js';
export { Outbox } from './outbox/outbox.js';
export { type OutboxStatus, readOutboxStatus } from './outbox/status.js';
export { type Collector, parseCollector } from './upload/collector-url.js';
export {
  type DrainResult,
  type UploadEvent,
  Uploader,
  type UploaderOptions,
  type UploadTotals,
} from './upload/uploader.js';
export * from './webconnectivity/index.js';
