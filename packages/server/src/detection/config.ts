/**
 * Which detectors run on which signal, with what settings: defaults by signal family from the
 * published practice (research/outage-detection.md §1.2, research/ooni.md §7), overridable by a
 * config object (`pharos eval --config FILE`, the server's detection config) checked with zod.
 *
 * Overrides are keyed by a signal name or a prefix ending in `*` (`bgp.*`); the most specific key
 * wins. Each value maps a detector to a partial config (merged over the family default), or to
 * false to switch it off; naming a detector the family does not run switches it on.
 */
import { z } from 'zod';
import type { SignalSeries } from '../signals/types.js';
import { BURST_DEFAULTS, type BurstConfig, detectBursts } from './burst.js';
import { CUSUM_DEFAULTS, type CusumConfig, detectCusum } from './cusum.js';
import { detectMedian, MEDIAN_DEFAULTS, type MedianConfig } from './median.js';
import type { Alert, AnomalyWindow, DetectorName } from './types.js';
import { alertsToWindows } from './windows.js';

export type DetectorSetup =
  | { detector: 'median'; config: MedianConfig }
  | { detector: 'cusum'; config: CusumConfig }
  | { detector: 'burst'; config: BurstConfig };

const DAY = 86400;

/** The family a signal belongs to, for its defaults. */
export type SignalFamily =
  | 'bgp'
  | 'active-probing'
  | 'telescope'
  | 'beacon-active'
  | 'beacon-disconnected'
  | 'blocked-fraction'
  | 'measurement-count'
  | 'other';

export function signalFamily(signal: string): SignalFamily {
  if (signal.startsWith('bgp')) return 'bgp';
  if (signal.startsWith('ping-slash24') || signal.startsWith('active')) return 'active-probing';
  if (signal.endsWith('-nt') || signal.startsWith('telescope')) return 'telescope';
  if (signal === 'beacon.active') return 'beacon-active';
  if (signal === 'beacon.disconnected') return 'beacon-disconnected';
  if (signal.endsWith('blocked_fraction')) return 'blocked-fraction';
  if (signal.startsWith('measurement.')) return 'measurement-count';
  return 'other';
}

function median(overrides: Partial<MedianConfig>): DetectorSetup {
  return { detector: 'median', config: { ...MEDIAN_DEFAULTS, ...overrides } };
}

/** The defaults of a family (before overrides). */
function familyDefaults(family: SignalFamily): DetectorSetup[] {
  switch (family) {
    // IODA: 24 h history, warning below 99%, critical below 50%. A /24 count moves little, so
    // anything under 99% is stored as the prediction.
    case 'bgp':
      return [
        median({
          historySeconds: DAY,
          warningRatio: 0.99,
          criticalRatio: 0.5,
          inpaintBelow: 0.99,
          minPrediction: 10,
        }),
      ];
    // IODA's Trinarkular config: 7 d history, 1 h warm-up, minprediction 20, in-paint below 0.8.
    case 'active-probing':
      return [median({ historySeconds: 7 * DAY, warningRatio: 0.8, criticalRatio: 0.5, minPrediction: 20 })];
    // Telescope counts are noisy: IODA alerts only below 25% / 10%.
    case 'telescope':
      return [
        median({
          historySeconds: 7 * DAY,
          warningRatio: 0.25,
          criticalRatio: 0.1,
          inpaintBelow: 0.25,
          minPrediction: 20,
        }),
      ];
    // Probes heard per step. Units of fewer than 20 probes (IODA's minprediction) are left to the
    // burst detector: there a 20% drop is two or three volunteers switching off at once, which
    // ordinary churn does every day (measured with bench:detect's churn: at a floor of 5, regions
    // of 10 probes opened dozens of incidents a month). A drop must last 10 minutes, so a probe
    // away for a few beacons opens nothing.
    case 'beacon-active':
      return [
        median({
          historySeconds: 7 * DAY,
          warningRatio: 0.8,
          criticalRatio: 0.5,
          minPrediction: 20,
          minDurationSeconds: 600,
        }),
      ];
    case 'beacon-disconnected':
      return [{ detector: 'burst', config: { ...BURST_DEFAULTS } }];
    case 'blocked-fraction':
      return [{ detector: 'cusum', config: { ...CUSUM_DEFAULTS } }];
    // Raw measurement counts follow the probes' schedules, not the network: not judged alone.
    case 'measurement-count':
      return [];
    default:
      return [median({})];
  }
}

const medianSchema = z
  .object({
    historySeconds: z.number().positive(),
    warmupSeconds: z.number().nonnegative(),
    minPrediction: z.number().nonnegative(),
    warningRatio: z.number().positive(),
    criticalRatio: z.number().nonnegative(),
    inpaintBelow: z.number().nonnegative(),
    inpaintAbove: z.number().positive(),
    maxInpaintSeconds: z.number().nonnegative(),
    minDurationSeconds: z.number().nonnegative(),
    recoverySeconds: z.number().nonnegative(),
  })
  .strict()
  .partial();

const cusumSchema = z
  .object({
    mu0: z.number().min(0).max(1),
    mu1: z.number().min(0).max(1),
    expectedDelaySteps: z.number().positive(),
    recoveryFactor: z.number().positive(),
    fullWeightCount: z.number().positive(),
    minMeasurements: z.number().int().nonnegative(),
    emptyHalfLifeSteps: z.number().positive(),
    unknownAfterSteps: z.number().int().positive(),
    criticalFraction: z.number().min(0).max(1),
  })
  .strict()
  .partial();

const burstSchema = z
  .object({
    minProbes: z.number().int().positive(),
    minActive: z.number().int().positive(),
    minFraction: z.number().min(0).max(1),
    spreadSteps: z.number().int().positive(),
    minSilentSteps: z.number().int().positive(),
    criticalFraction: z.number().min(0).max(1),
  })
  .strict()
  .partial();

const signalOverrideSchema = z
  .object({
    median: z.union([medianSchema, z.literal(false)]),
    cusum: z.union([cusumSchema, z.literal(false)]),
    burst: z.union([burstSchema, z.literal(false)]),
  })
  .strict()
  .partial();

const waveSchema = z
  .object({
    /** Bursts starting within this many steps of each other count as one wave. */
    withinSteps: z.number().int().nonnegative(),
    /** A wave reaching more than this many countries at once is a platform artefact. */
    maxCountries: z.number().int().positive(),
  })
  .strict();

export const detectionConfigSchema = z
  .object({
    signals: z.record(z.string().regex(/^[a-z0-9][a-z0-9._-]*\*?$|^\*$/), signalOverrideSchema).default({}),
    wave: waveSchema.partial().default({}),
  })
  .strict();

export type DetectionConfig = z.infer<typeof detectionConfigSchema>;
export type DetectionOverrides = z.input<typeof detectionConfigSchema>;

export const WAVE_DEFAULTS = { withinSteps: 1, maxCountries: 3 };

/** Checks a config object; the error names the offending field (e.g. `signals.bgp.*.median.warningRatio`). */
export function parseDetectionConfig(input: unknown, source = 'detection config'): DetectionConfig {
  const result = detectionConfigSchema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issue = deepestIssue(result.error.issues as unknown as Issue[], []);
  const where = issue.path.map(String).join('.') || '(top level)';
  throw new Error(`${source}: ${where}: ${issue.message}`);
}

interface Issue {
  code: string;
  path: PropertyKey[];
  message: string;
  errors?: Issue[][];
}

/**
 * The issue to report: inside a union (a detector's settings or `false`), the branch that got
 * furthest, so the message names the field (`signals.bgp.*.median.warningRatio`) rather than the union.
 */
function deepestIssue(issues: Issue[], prefix: PropertyKey[]): { path: PropertyKey[]; message: string } {
  const issue = issues[0];
  if (!issue) return { path: prefix, message: 'invalid' };
  const here = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union' && issue.errors?.length) {
    const branches = issue.errors.map((branch) => deepestIssue(branch, here));
    return branches.reduce((a, b) => (b.path.length > a.path.length ? b : a));
  }
  return { path: here, message: issue.message };
}

function overrideFor(
  signal: string,
  config: DetectionConfig,
): z.infer<typeof signalOverrideSchema> | undefined {
  if (config.signals[signal]) return config.signals[signal];
  let best: string | undefined;
  for (const key of Object.keys(config.signals)) {
    if (!key.endsWith('*')) continue;
    const prefix = key.slice(0, -1);
    if (signal.startsWith(prefix) && (best === undefined || prefix.length > best.length - 1)) best = key;
  }
  return best === undefined ? undefined : config.signals[best];
}

const BASE: Record<DetectorName, () => DetectorSetup> = {
  median: () => median({}),
  cusum: () => ({ detector: 'cusum', config: { ...CUSUM_DEFAULTS } }),
  burst: () => ({ detector: 'burst', config: { ...BURST_DEFAULTS } }),
};

/** The detectors configured for a signal, family defaults merged with overrides. */
export function detectorsFor(
  signal: string,
  overrides?: DetectionOverrides | DetectionConfig,
): DetectorSetup[] {
  const config = parseDetectionConfig(overrides ?? {});
  const setups = familyDefaults(signalFamily(signal));
  const override = overrideFor(signal, config);
  if (!override) return setups;
  const out: DetectorSetup[] = [];
  for (const name of ['median', 'cusum', 'burst'] as const) {
    const given = override[name];
    const current = setups.find((s) => s.detector === name);
    if (given === false) continue;
    if (given === undefined) {
      if (current) out.push(current);
      continue;
    }
    const base = current ?? BASE[name]();
    out.push({ ...base, config: { ...base.config, ...given } } as DetectorSetup);
  }
  return out;
}

/** Alerts of one series under one setup; a burst needs the entity's `beacon.active` series. */
export function runDetector(setup: DetectorSetup, series: SignalSeries, active?: SignalSeries): Alert[] {
  switch (setup.detector) {
    case 'median':
      return detectMedian(series, setup.config);
    case 'cusum':
      return detectCusum(series, setup.config);
    case 'burst':
      return active ? detectBursts(series, active, setup.config) : [];
  }
}

/**
 * Anomaly windows of one series under its configured detectors. `related` supplies companion
 * series of the same entity (the burst detector reads `beacon.disconnected` against
 * `beacon.active`); without them a burst cannot be judged and yields nothing.
 */
export function detectSeries(
  series: SignalSeries,
  overrides?: DetectionOverrides | DetectionConfig,
  related: SignalSeries[] = [],
): AnomalyWindow[] {
  const active = related.find(
    (s) => s.entity === series.entity && s.signal === 'beacon.active' && s.step === series.step,
  );
  const alerts: Alert[] = [];
  for (const setup of detectorsFor(series.signal, overrides))
    alerts.push(...runDetector(setup, series, active));
  return alertsToWindows(alerts, series.step);
}

/** Anomaly windows of many series: companions paired, then waves spread over many countries dropped. */
export function detectAll(
  series: SignalSeries[],
  overrides?: DetectionOverrides | DetectionConfig,
): AnomalyWindow[] {
  const config = parseDetectionConfig(overrides ?? {});
  const actives = new Map<string, SignalSeries>();
  for (const s of series) if (s.signal === 'beacon.active') actives.set(`${s.entity}\u0000${s.step}`, s);
  const windows: AnomalyWindow[] = [];
  for (const s of series) {
    const active = actives.get(`${s.entity}\u0000${s.step}`);
    windows.push(...detectSeries(s, config, active ? [active] : []));
  }
  return rejectWideWaves(windows, { ...WAVE_DEFAULTS, ...config.wave });
}

/** The country an entity is in, if it names one. */
function countryOf(entity: string): string | null {
  const m = /(?:^|\+)country:([A-Z]{2})/.exec(entity);
  return m ? (m[1] as string) : null;
}

/**
 * Drops burst windows that belong to a wave spread over more than `maxCountries` countries at
 * once. A network outage or a shutdown is bounded by a network or a country; a synchronized
 * disconnection of probes in many countries is the probe platform itself (a firmware roll-out,
 * a controller restart), as on RIPE Atlas on 2016-07-13. A wave is a chain of burst windows whose
 * starts lie within `withinSteps` steps of the previous one; its countries are those of its
 * `country:` windows. Other detectors' windows pass untouched.
 */
export function rejectWideWaves(
  windows: AnomalyWindow[],
  wave: { withinSteps: number; maxCountries: number },
): AnomalyWindow[] {
  const bursts = windows.filter((w) => w.detector === 'burst').sort((a, b) => a.start - b.start);
  const rejected = new Set<AnomalyWindow>();
  let i = 0;
  while (i < bursts.length) {
    let j = i + 1;
    while (
      j < bursts.length &&
      (bursts[j] as AnomalyWindow).start - (bursts[j - 1] as AnomalyWindow).start <=
        wave.withinSteps * (bursts[j] as AnomalyWindow).step
    )
      j++;
    const group = bursts.slice(i, j);
    const countries = new Set(group.map((w) => countryOf(w.entity)).filter((c) => c !== null));
    if (countries.size > wave.maxCountries) for (const w of group) rejected.add(w);
    i = j;
  }
  return windows.filter((w) => !rejected.has(w));
}
