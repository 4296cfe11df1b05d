export { decodeBody, parseContentEncoding } from './body.js';
export { canonicalize } from './canonical.js';
export { SubmissionError } from './errors.js';
export { type IPLocator, LazyIPLocator, loadIPDatasets, type NetworkOrigin, RangeLocator } from './geo.js';
export { MemorySink } from './memory-sink.js';
export { type CollectorOptions, DEFAULT_COLLECTOR_OPTIONS, resolveCollectorOptions } from './options.js';
export {
  type CollectorPluginOptions,
  collectorRoutes,
  MEASUREMENTS_PATH,
  type SubmissionResponse,
} from './routes.js';
export { KNOWN_TEST_NAMES, SUBMISSION_FORMAT } from './schema.js';
export { SCRUBBED } from './scrub.js';
export type { AppendResult, IncomingMeasurement, MeasurementSink } from './store.js';
