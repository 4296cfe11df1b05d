export {
  BEACONS_PATH,
  type BeaconResponse,
  type BeaconRouteOptions,
  beaconRoutes,
  MAX_CLOCK_SKEW_SECONDS,
} from './routes.js';
export { appendBeaconRows, BEACONS_TABLE, type BeaconRow, ensureBeaconsTable, probeHash } from './table.js';
