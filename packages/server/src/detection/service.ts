/**
 * Detection inside the running server: the signals database of the data directory, the stores
 * over it (signal points, beacons, measurement outcomes, incidents), the engine that runs passes,
 * and the routes (beacons in; incidents and detection status out).
 *
 * One pass gathers every source over the look-back window, runs the detectors over all series at
 * once, turns the windows into incident drafts (with the measurements that show them, by log
 * index) and reconciles those with the stored incidents; each change is logged in the evidence log.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { beaconRoutes, ensureBeaconsTable } from '../beacons/index.js';
import type { NetworkOrigin } from '../collector/index.js';
import type { EvidenceStore } from '../evidence/types.js';
import { AnalystRegistry } from '../incidents/analysts.js';
import { buildIncidents } from '../incidents/build.js';
import { incidentRoutes } from '../incidents/routes.js';
import { IncidentStore } from '../incidents/store.js';
import { Serial } from '../serial.js';
import { BeaconSignalCache } from '../signals/beacon-cache.js';
import { SignalsDatabase } from '../signals/database.js';
import {
  ensureMeasurementOutcomesTable,
  type MeasurementItem,
  measurementEvidence,
  measurementSignals,
  type OutcomeRow,
  outcomeRow,
  recordOutcomeRows,
} from '../signals/measurement-signals.js';
import { SignalStore } from '../signals/store.js';
import { SIGNAL_KINDS, type SignalPoint } from '../signals/types.js';
import { type DetectionConfig, detectAll, parseDetectionConfig } from './config.js';
import { DetectionEngine, type DetectionPipeline, type EngineLogger, type PassRange } from './engine.js';
import { signalRoutes } from './signal-routes.js';
import type { AnomalyWindow } from './types.js';

export const DEFAULT_LOOKBACK_SECONDS = 8 * 86400;
/**
 * Measurements come in far fewer than beacons (a probe measures an app every few minutes, not every
 * minute), so their counts are binned coarser: ten minutes holds enough of them for the CUSUM to
 * weigh, and still dates a block to within ten minutes (OONI's detector works in hours).
 */
export const DEFAULT_MEASUREMENT_STEP_SECONDS = 600;
/** Measurements shown as evidence per anomaly window, at most (the API stays small). */
const EVIDENCE_PER_WINDOW = 50;

export interface DetectionServiceOptions {
  dataDir: string;
  /** The evidence log incident changes are appended to. */
  log: Pick<EvidenceStore, 'appendRecord'>;
  locator: { lookup(ip: string): Promise<NetworkOrigin> | NetworkOrigin };
  /** How often probes beacon, seconds: the step of the silence signals and of the passes. */
  beaconInterval: number;
  /** Step of the measurement signals, seconds (default 600): measurements are sparser than beacons. */
  measurementStep?: number;
  /** Seconds between passes; null: no passes (signals are still collected). */
  every: number | null;
  /** Detector overrides (docs/detection.md); checked here. */
  config?: unknown;
  /** How far back each pass reads, seconds. Default 8 days (the longest history, 7 days, plus one). */
  lookback?: number;
  logger?: EngineLogger;
  now?: () => number;
}

export interface DetectionService {
  readonly db: SignalsDatabase;
  readonly signals: SignalStore;
  readonly incidents: IncidentStore;
  readonly engine: DetectionEngine;
  /** Beacons, incidents and GET /api/v1/detection. */
  routes: FastifyPluginAsync;
  /**
   * Records measurements the evidence store accepted as new (their outcomes feed the signals).
   * Buffered and written in the background; a failed write is logged; close() writes the rest.
   */
  recordAccepted(items: readonly MeasurementItem[]): void;
  close(): Promise<void>;
}

export async function openDetection(options: DetectionServiceOptions): Promise<DetectionService> {
  const config = parseDetectionConfig(options.config ?? {});
  const db = await SignalsDatabase.open(options.dataDir);
  try {
    await ensureBeaconsTable(db);
    await ensureMeasurementOutcomesTable(db);
    const signals = await SignalStore.open(db);
    const incidents = await IncidentStore.open(db, options.log);
    const analysts = new AnalystRegistry(options.dataDir);
    const steps = {
      beacons: options.beaconInterval,
      measurements: options.measurementStep ?? DEFAULT_MEASUREMENT_STEP_SECONDS,
    };
    const lookback = options.lookback ?? DEFAULT_LOOKBACK_SECONDS;
    const pipeline = detectionPipeline(db, signals, incidents, config, steps, lookback);
    const engine = new DetectionEngine({
      pipeline,
      step: options.beaconInterval,
      every: options.every ?? undefined,
      lookback,
      logger: options.logger,
      now: options.now,
    });
    if (options.every !== null) engine.start();
    const routes: FastifyPluginAsync = async (app: FastifyInstance) => {
      // A probe sends one beacon per interval; allow three on average (restarts, a second probe
      // process on the same key) and a burst of ten. The route's default (one per 10 s) would
      // refuse beacons of shorter intervals, and a refused beacon reads as silence.
      const rateLimit = { perSecond: 3 / options.beaconInterval, burst: 10 };
      await app.register(beaconRoutes({ db, locator: options.locator, rateLimit }));
      await app.register(incidentRoutes(incidents, { analysts }));
      // Requests share the passes' beacon hours (a request for an older range is derived without
      // evicting them) and are served one at a time: a month of signals takes a while to derive,
      // and requests must not be able to take every core from ingest and detection.
      const requests = new Serial();
      await app.register(signalRoutes((range) => requests.run(() => pipeline.gather(range))));
      app.get('/api/v1/detection', async () => engine.status());
    };
    const recorder = new OutcomeRecorder((rows) => recordOutcomeRows(db, rows), options.logger);
    return {
      db,
      signals,
      incidents,
      engine,
      routes,
      recordAccepted: (items) => recorder.add(items),
      async close() {
        await engine.stop();
        await recorder.close();
        await db.close();
      },
    };
  } catch (err) {
    await db.close();
    throw err;
  }
}

/**
 * Measurement outcomes are written in batches of up to FLUSH_ROWS or every FLUSH_MS: DuckDB's
 * appender costs about 56 µs a row in the collector's batches of 25 and 7 µs in batches of 500
 * (measured on this project's 2-core machine), and ingest has about 400 µs a measurement in all.
 * The outcomes are derived data: a crash loses at most the last FLUSH_MS of them for detection,
 * never a measurement.
 */
const FLUSH_ROWS = 500;
const FLUSH_MS = 200;

class OutcomeRecorder {
  private pending: OutcomeRow[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly write: (rows: readonly OutcomeRow[]) => Promise<void>,
    private readonly logger?: EngineLogger,
  ) {}

  /** Derives the rows now, so that the measurements themselves are not held until the write. */
  add(items: readonly MeasurementItem[]): void {
    for (const item of items) {
      const row = outcomeRow(item);
      if (row) this.pending.push(row);
    }
    if (this.pending.length >= FLUSH_ROWS) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const rows = this.pending;
    if (rows.length === 0) return;
    this.pending = [];
    this.writing = this.writing
      .then(() => this.write(rows))
      .catch((err: Error) => {
        this.logger?.error({ err, measurements: rows.length }, 'could not record measurement outcomes');
      });
  }

  /** Writes what is buffered and waits for every write. */
  async close(): Promise<void> {
    this.flush();
    await this.writing;
  }
}

/**
 * What one pass does, over the data of a signals database: the server's engine runs it, and so
 * does the detection benchmark (timing each phase).
 */
export function detectionPipeline(
  db: SignalsDatabase,
  signals: SignalStore,
  incidents: IncidentStore,
  config: DetectionConfig,
  steps: { beacons: number; measurements: number },
  /** How far back the passes look: the beacon hours kept between them. */
  lookback = DEFAULT_LOOKBACK_SECONDS,
): DetectionPipeline {
  const beaconCache = new BeaconSignalCache(db, steps.beacons, lookback);
  return {
    async gather(range: PassRange) {
      const [stored, beacons, measurements] = await Promise.all([
        signals.points({ from: range.from, until: range.until }),
        beaconCache.points(range),
        measurementSignals(db, { ...range, step: steps.measurements }),
      ]);
      return [...stored, ...beacons, ...measurements.filter(judgedMeasurementPoint)];
    },
    detect: (series) => detectAll(series, config),
    async decide(windows, range, now) {
      const evidence = await evidenceOf(db, windows);
      const countries = await asnCountries(db, range);
      const drafts = buildIncidents(windows, {
        countryOf: (asn) => countries.get(asn) ?? null,
        measurementsOf: (w) => evidence.get(w) ?? [],
      });
      const changes = await incidents.evaluate(drafts, { now: new Date(now * 1000), window: range });
      return { changes: changes.length };
    },
  };
}

/**
 * Blocking is a property of what was measured: a blocked fraction means something for one platform
 * or one test-list category, but over everything a network's probes measured it only mirrors the
 * mix of targets (news sites blocked for years would keep a whole country "blocked"). So blocked and
 * throttled counts are judged only where the entity names a platform or a category.
 */
function judgedMeasurementPoint(point: SignalPoint): boolean {
  if (
    point.signal !== SIGNAL_KINDS.blocked &&
    point.signal !== SIGNAL_KINDS.blockedFraction &&
    point.signal !== SIGNAL_KINDS.throttled
  )
    return true;
  return point.entity.includes('platform:') || point.entity.includes('category:');
}

/** The measurements behind each measurement-based window: blocked, down or throttled ones, by log index. */
async function evidenceOf(
  db: SignalsDatabase,
  windows: readonly AnomalyWindow[],
): Promise<Map<AnomalyWindow, Array<{ id: string; log_index: number }>>> {
  const out = new Map<AnomalyWindow, Array<{ id: string; log_index: number }>>();
  for (const w of windows) {
    if (!w.signal.startsWith('measurement.')) continue;
    const found = await measurementEvidence(db, {
      entity: w.entity,
      from: w.start,
      until: w.end ?? Number.MAX_SAFE_INTEGER,
      outcomes: ['blocked', 'down', 'throttled'],
      limit: EVIDENCE_PER_WINDOW,
    });
    out.set(w, found);
  }
  return out;
}

/**
 * The country most of an ASN's probes were in over the pass's range (from what they measured and
 * beaconed). Limited to the range: every window of the pass is about data in it, and a pass must
 * not scan every beacon ever stored (row groups outside the range are skipped by time).
 */
async function asnCountries(db: SignalsDatabase, range: PassRange): Promise<Map<number, string>> {
  const rows = await db.all<{ asn: bigint | number; cc: string }>(
    `SELECT asn, mode(cc) AS cc FROM (
       SELECT asn, cc FROM measurement_outcomes
       WHERE asn IS NOT NULL AND cc IS NOT NULL AND time >= $from AND time < $until
       UNION ALL
       SELECT asn, cc FROM beacons
       WHERE asn IS NOT NULL AND cc IS NOT NULL AND time >= $from AND time < $until
     ) GROUP BY asn`,
    { from: range.from, until: range.until },
  );
  return new Map(rows.map((r) => [Number(r.asn), r.cc]));
}
