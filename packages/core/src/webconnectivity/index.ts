export type { WebConnectivityAnalysis, WebConnectivityObservations } from './analysis-types.js';
export {
  BODY_PROPORTION_THRESHOLD,
  COMMON_HEADERS,
  compareWithControl,
  extractTitle,
  type HTTPDiff,
  headersMatch,
  statusCodeMatch,
  titleMatch,
} from './http-diff.js';
export { dnsFailureMechanism, httpMechanism, tcpMechanism, tlsMechanism } from './mechanism-label.js';
export { analyzeWebConnectivity } from './verdict.js';
