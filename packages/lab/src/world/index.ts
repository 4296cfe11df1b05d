/**
 * The lab's world: a small internet in network namespaces with a real censor on its ISP router.
 * Used by the scenario runner; never imported by the probe or the server.
 */
export type { AddressPlan } from './addressing.js';
export { type CensorPlan, planCensor } from './censor-plan.js';
export {
  createLab,
  defaultSite,
  type LabAddresses,
  type LabHandle,
  type LabOptions,
  type RunResult,
  worldSites,
} from './lab.js';
export { BOGON_ADDRESS, LAB_NAMES, TELEGRAM_DC_DOMAIN, telegramDcHost } from './names.js';
export { preflight } from './preflight.js';
export { cleanupStaleLabs } from './registry.js';
export { asnTableCSV, labCatalog, standInSites, type WorldSite } from './standins.js';
