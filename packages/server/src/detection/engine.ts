/**
 * The detection engine: the loop that turns what the server has into incidents while it runs.
 *
 * Each pass reads every signal over a look-back window (stored points, beacon and measurement
 * aggregates), runs the configured detectors over each series, and hands the anomaly windows to
 * the incident step, which opens, updates and ends incidents and logs every change. A pass is a
 * pure function of the stored inputs, so late data (an outbox that uploads after a blackout, late
 * beacons' missed attempts, a backfilled import) is taken into account by the next pass: nothing is
 * lost because it arrived after the step was first judged.
 *
 * Passes run just after each step ends (plus a grace for the last beacons of the step to arrive), so
 * that a cut is seen at the first complete silent step rather than whenever a timer fires; only
 * complete steps are judged, since a step in progress always looks emptier than it will be.
 */

import { groupSeries, type SignalPoint, type SignalSeries, stepStart } from '../signals/types.js';
import type { AnomalyWindow } from './types.js';

export interface PassRange {
  /** Epoch seconds, inclusive. */
  from: number;
  /** Epoch seconds, exclusive: the end of the last complete step. */
  until: number;
}

export interface DetectionPipeline {
  /** Points of every source over the range, each source at its own step. */
  gather(range: PassRange): Promise<SignalPoint[]>;
  /**
   * Anomaly windows of all series together: some detectors pair series (disconnections against
   * active probes) or compare entities (a wave over many countries is the probes, not a network).
   */
  detect(series: SignalSeries[]): AnomalyWindow[];
  /** Turns this pass's windows into incident changes and applies them. */
  decide(windows: AnomalyWindow[], range: PassRange, now: number): Promise<{ changes: number }>;
}

export interface EngineLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface EngineOptions {
  pipeline: DetectionPipeline;
  /** The step passes are aligned to (the beacon interval), seconds. */
  step: number;
  /** How far back each pass looks, seconds (the longest detector history plus a margin). */
  lookback: number;
  /** Seconds after a step ends before it is judged (beacons in flight). Default: a fifth of the step, at most 10 s. */
  grace?: number;
  /** Run a pass every this many seconds, aligned after step ends; default one step. */
  every?: number;
  logger?: EngineLogger;
  /** Wall clock in epoch milliseconds (tests). */
  now?: () => number;
}

export interface PassReport {
  /** When the pass started, ISO 8601. */
  at: string;
  range: { from: string; until: string };
  series: number;
  windows: number;
  ongoing: number;
  changes: number;
  milliseconds: number;
}

export interface EngineStatus {
  running: boolean;
  step: number;
  every: number;
  lookback: number;
  passes: number;
  last: PassReport | null;
  lastError: string | null;
}

/** Groups points into dense series over the pass's range, each ending at its last complete step. */
export function seriesOf(points: readonly SignalPoint[], range: PassRange): SignalSeries[] {
  return groupSeries(points, range);
}

export class DetectionEngine {
  private readonly pipeline: DetectionPipeline;
  private readonly step: number;
  private readonly every: number;
  private readonly grace: number;
  private readonly lookback: number;
  private readonly logger?: EngineLogger;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<PassReport | null> | undefined;
  private stopped = true;
  private passes = 0;
  private last: PassReport | null = null;
  private lastError: string | null = null;

  constructor(options: EngineOptions) {
    if (!(options.step > 0)) throw new RangeError('the detection step must be positive');
    this.pipeline = options.pipeline;
    this.step = options.step;
    this.every = options.every ?? options.step;
    this.grace = options.grace ?? Math.min(10, options.step / 5);
    this.lookback = options.lookback;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
  }

  /** The range a pass at `nowSeconds` judges: complete steps only. */
  rangeAt(nowSeconds: number): PassRange {
    const until = stepStart(nowSeconds - this.grace, this.step);
    return { from: stepStart(until - this.lookback, this.step), until };
  }

  /**
   * One pass now; concurrent calls share the pass in progress. `due` (epoch seconds) is when a
   * scheduled pass was meant to run: a timer may fire a millisecond early, and the pass must still
   * judge the step that has just ended rather than leave it for the next pass.
   */
  pass(due?: number): Promise<PassReport | null> {
    this.running ??= this.runPass(due).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async runPass(due?: number): Promise<PassReport | null> {
    const started = this.now();
    const nowSeconds = Math.max(started / 1000, due ?? 0);
    const range = this.rangeAt(nowSeconds);
    try {
      const points = await this.pipeline.gather(range);
      const series = seriesOf(points, range);
      const windows = this.pipeline.detect(series);
      const { changes } = await this.pipeline.decide(windows, range, nowSeconds);
      const report: PassReport = {
        at: new Date(started).toISOString(),
        range: { from: iso(range.from), until: iso(range.until) },
        series: series.length,
        windows: windows.length,
        ongoing: windows.filter((w) => w.end === null).length,
        changes,
        milliseconds: Math.round(this.now() - started),
      };
      this.passes++;
      this.last = report;
      this.lastError = null;
      if (changes > 0) this.logger?.info({ detection: report }, 'detection pass changed incidents');
      return report;
    } catch (err) {
      this.lastError = (err as Error).message;
      this.logger?.error({ err }, 'detection pass failed; the next pass will try again');
      return null;
    }
  }

  /** Starts passes just after each step boundary (plus grace), every `every` seconds. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    const nowSeconds = this.now() / 1000;
    const next = stepStart(nowSeconds - this.grace, this.every) + this.every + this.grace;
    this.timer = setTimeout(
      () => {
        void this.pass(next).finally(() => this.schedule());
      },
      Math.max(0, (next - nowSeconds) * 1000),
    );
    this.timer.unref();
  }

  /** Stops scheduling and waits for a pass in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  status(): EngineStatus {
    return {
      running: !this.stopped,
      step: this.step,
      every: this.every,
      lookback: this.lookback,
      passes: this.passes,
      last: this.last,
      lastError: this.lastError,
    };
  }
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}
