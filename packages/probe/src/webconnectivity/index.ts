export { type ControlOutcome, controlRequest } from './control.js';
export { parseControlResponse } from './control-schema.js';
export { TEST_NAME, TEST_VERSION } from './envelope.js';
export { measureWebConnectivity } from './measure.js';
export {
  DEFAULT_TEST_HELPERS,
  type WebConnectivityOptions,
  type WebConnectivityTimeouts,
} from './options.js';
export { SOFTWARE_NAME, SOFTWARE_VERSION } from './software.js';
