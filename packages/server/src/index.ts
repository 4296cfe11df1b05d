/** @pharos/server: the observatory's services. */

export {
  type AppStore,
  baseURL,
  createServer,
  type PharosServer,
  type ServerOptions,
  type ServerTimeouts,
  type StoreOpener,
} from './app.js';
export {
  type CollectorOptions,
  type CollectorPluginOptions,
  collectorRoutes,
  DEFAULT_COLLECTOR_OPTIONS,
  KNOWN_TEST_NAMES,
  MEASUREMENTS_PATH,
  type MeasurementSink,
  MemorySink,
  SUBMISSION_FORMAT,
  type SubmissionResponse,
} from './collector/index.js';
export * from './test-helper/index.js';
