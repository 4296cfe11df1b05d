/** Incidents: built from anomaly windows, reconciled across passes, stored, logged, served, exported. */
export { ANALYSTS_FILE, AnalystError, AnalystRegistry } from './analysts.js';
export { type BuildOptions, buildIncidents, type DraftIncident } from './build.js';
export { incidentId, type ReconcileOptions, reconcile } from './reconcile.js';
export { annotationsSchema, type IncidentRoutesOptions, incidentRoutes } from './routes.js';
export { entityWithinScope } from './scope.js';
export {
  exportStop,
  importStop,
  StopFormatError,
  type StopImport,
  type StopSchema,
  stopRow,
} from './stop-csv.js';
export { STOP_COLUMNS } from './stop-vocabulary.js';
export {
  type IncidentQuery,
  IncidentStore,
  type LoggedChange,
  type RecordLog,
  type ReviewAction,
} from './store.js';
export * from './types.js';
