/**
 * The app and platform experiments, by name: what `pharos-probe run --experiment NAME` runs.
 * Each `run` returns one OONI-format measurement (docs/experiments.md).
 */
import type { AppTestKeysBase } from '@pharos/core';
import { facebookMessenger } from './messenger.js';
import { platformExperiment } from './platform.js';
import { signal } from './signal.js';
import { telegram } from './telegram.js';
import type { AppExperiment } from './types.js';
import { whatsapp } from './whatsapp.js';

export { type Catalog, CatalogError, type CatalogFile, loadCatalog, parseCatalog } from '../catalog/index.js';
export { AsnTable, loadAsnTable } from './asn.js';
export { createDataBudget } from './budget.js';
export { messengerKeys } from './messenger.js';
export { PLATFORM_NAMES } from './platform.js';
export { signalKeys } from './signal.js';
export { telegramKeys } from './telegram.js';
export type {
  AppExperiment,
  AppRunOptions,
  DataBudget,
  ThrottlingCheck,
  ThrottlingOutcome,
  ThrottlingTarget,
} from './types.js';
export { whatsappKeys } from './whatsapp.js';

export const APP_EXPERIMENTS: Record<string, AppExperiment<AppTestKeysBase>> = {
  whatsapp: whatsapp as AppExperiment<AppTestKeysBase>,
  telegram: telegram as AppExperiment<AppTestKeysBase>,
  signal: signal as AppExperiment<AppTestKeysBase>,
  facebook_messenger: facebookMessenger as AppExperiment<AppTestKeysBase>,
  tiktok: platformExperiment('tiktok', 'TikTok') as AppExperiment<AppTestKeysBase>,
  youtube: platformExperiment('youtube', 'YouTube') as AppExperiment<AppTestKeysBase>,
  instagram: platformExperiment('instagram', 'Instagram') as AppExperiment<AppTestKeysBase>,
  facebook: platformExperiment('facebook', 'Facebook') as AppExperiment<AppTestKeysBase>,
  x: platformExperiment('x', 'X') as AppExperiment<AppTestKeysBase>,
};

/** The experiments' names, apps first. */
export const APP_EXPERIMENT_NAMES = Object.keys(APP_EXPERIMENTS);
