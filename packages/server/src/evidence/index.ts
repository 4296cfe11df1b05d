/** The evidence store and log: storage, sequencer, tiles, proofs, integrity, HTTP routes. */
export { DATABASE_FILE, DEFAULT_CHECKPOINT_THRESHOLD } from './database.js';
export {
  EntryFormatError,
  formatMeasurementEntry,
  formatRecordEntry,
  type MeasurementEntry,
  parseLogEntry,
  parseMeasurementEntry,
  parseRecordEntry,
  RECORD_KINDS,
  type RecordEntry,
  type RecordKind,
} from './entry.js';
export { DEFAULT_ORIGIN, keyPaths, LogKeyError } from './log-key.js';
export { checkDataDirectory, DataDirectoryError } from './offline-check.js';
export { RecoveryError } from './recovery.js';
export { evidenceRoutes } from './routes.js';
export {
  EvidenceInputError,
  MAX_GROUP_ROWS,
  MAX_RECORD_BYTES,
  type RecordAppendResult,
} from './sequencer.js';
export { type EvidenceStoreOptions, openEvidenceStore } from './store.js';
export * from './types.js';
export * from './verify-evidence.js';
