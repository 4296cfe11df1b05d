/**
 * Throttling statistics and the decision rule of the `throttling` experiment (docs/experiments.md,
 * "Throttling"). Pure: the probe decides with it, and the server can re-decide or aggregate from
 * the samples a measurement carries.
 *
 * The unit of evidence is a pair of bounded transfers over the same path, one carrying the target's
 * name and one a neutral name. A target is throttled when it is much slower than the control
 * (effect size), in every pair (replication), and the throughput samples say so with significance
 * (a one-sided Mann-Whitney U test). Kolmogorov-Smirnov and Wehe's area statistic are computed
 * too, for comparison with Wehe's results.
 */

/** NaN for an empty list. */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Linear interpolation between closest ranks (R's type 7); NaN for an empty list. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const i = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (i - lo);
}

/** The standard normal distribution function, via erfc (Numerical Recipes' erfcc, relative error < 1.2e-7). */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

const ERFC_COEFFICIENTS = [
  -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587,
  -0.82215223, 0.17087277,
];

function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  let poly = 0;
  for (let i = ERFC_COEFFICIENTS.length - 1; i >= 0; i--) poly = ERFC_COEFFICIENTS[i]! + t * poly;
  const r = t * Math.exp(-z * z + poly);
  return x >= 0 ? r : 2 - r;
}

export interface RankTest {
  /** U of the first sample: pairs (x, y) with x > y, plus half the ties. */
  statistic: number;
  /** The normal approximation's z (null when the exact distribution was used). */
  z: number | null;
  /** One-sided: P(U ≤ observed) when the two samples come from one distribution. */
  p_value: number;
  exact: boolean;
}

/** Samples up to this size (and without ties) get the exact distribution of U. */
const EXACT_LIMIT = 50;

/**
 * One-sided Mann-Whitney U test of "X tends to be smaller than Y". Exact for small samples without
 * ties; otherwise the normal approximation with the tie correction and a continuity correction.
 * An empty sample gives p = 1 (no evidence).
 */
export function mannWhitneyLess(x: readonly number[], y: readonly number[]): RankTest {
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) return { statistic: 0, z: null, p_value: 1, exact: true };
  // Midranks over the pooled sample.
  const pooled = [...x.map((v) => ({ v, first: true })), ...y.map((v) => ({ v, first: false }))].sort(
    (a, b) => a.v - b.v,
  );
  const n = n1 + n2;
  let rankSumX = 0;
  let tieTerm = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && pooled[j + 1]!.v === pooled[i]!.v) j++;
    const rank = (i + j) / 2 + 1;
    const t = j - i + 1;
    if (t > 1) tieTerm += t * t * t - t;
    for (let k = i; k <= j; k++) if (pooled[k]!.first) rankSumX += rank;
    i = j + 1;
  }
  const u = rankSumX - (n1 * (n1 + 1)) / 2;
  if (tieTerm === 0 && n1 <= EXACT_LIMIT && n2 <= EXACT_LIMIT) {
    return { statistic: u, z: null, p_value: Math.min(1, exactUCdf(n1, n2, u)), exact: true };
  }
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (variance <= 0) return { statistic: u, z: 0, p_value: 1, exact: false };
  const z = (u - mean + 0.5) / Math.sqrt(variance);
  return { statistic: u, z, p_value: Math.min(1, normalCdf(z)), exact: false };
}

/**
 * P(U ≤ u) for samples of n1 and n2 without ties: counts of the arrangements with each U, by the
 * recurrence c(m, n, u) = c(m-1, n, u-n) + c(m, n-1, u) (the largest value is an X or a Y).
 */
function exactUCdf(n1: number, n2: number, u: number): number {
  const max = n1 * n2;
  // counts[m][k]: the distribution for (m, current n) as we grow n from 0 to n2.
  let prev: Float64Array[] = Array.from({ length: n1 + 1 }, () => new Float64Array(max + 1));
  for (let m = 0; m <= n1; m++) prev[m]![0] = 1; // n = 0: U = 0 only
  for (let nn = 1; nn <= n2; nn++) {
    const cur: Float64Array[] = Array.from({ length: n1 + 1 }, () => new Float64Array(max + 1));
    cur[0]![0] = 1;
    for (let m = 1; m <= n1; m++) {
      const row = cur[m]!;
      const fromX = cur[m - 1]!;
      const fromY = prev[m]!;
      for (let k = 0; k <= m * nn; k++) row[k] = (k >= nn ? fromX[k - nn]! : 0) + fromY[k]!;
    }
    prev = cur;
  }
  const dist = prev[n1]!;
  let total = 0;
  let below = 0;
  for (let k = 0; k <= max; k++) {
    total += dist[k]!;
    if (k <= u + 1e-9) below += dist[k]!;
  }
  return below / total;
}

export interface KSTest {
  /** D: the largest distance between the two empirical distribution functions. */
  statistic: number;
  /** Two-sided, asymptotic (Kolmogorov distribution with Stephens' small-sample correction). */
  p_value: number;
}

/** Two-sample Kolmogorov-Smirnov test; an empty sample gives D = 0, p = 1. */
export function ksTwoSample(x: readonly number[], y: readonly number[]): KSTest {
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) return { statistic: 0, p_value: 1 };
  const a = [...x].sort((p, q) => p - q);
  const b = [...y].sort((p, q) => p - q);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n1 && j < n2) {
    const v = Math.min(a[i]!, b[j]!);
    while (i < n1 && a[i]! <= v) i++;
    while (j < n2 && b[j]! <= v) j++;
    d = Math.max(d, Math.abs(i / n1 - j / n2));
  }
  const ne = Math.sqrt((n1 * n2) / (n1 + n2));
  return { statistic: d, p_value: kolmogorovQ((ne + 0.12 + 0.11 / ne) * d) };
}

/** Q(λ) = 2 Σ (-1)^(k-1) exp(-2 k² λ²), the Kolmogorov distribution's tail. */
function kolmogorovQ(lambda: number): number {
  if (lambda < 0.2) return 1;
  let sum = 0;
  let sign = 1;
  for (let k = 1; k <= 100; k++) {
    const term = sign * Math.exp(-2 * k * k * lambda * lambda);
    sum += term;
    if (Math.abs(term) < 1e-12) break;
    sign = -sign;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

/**
 * Wehe's area test statistic: the integral over quantiles 0.001..1 of control minus target
 * throughput (inverse distribution functions), divided by the smaller of the two maxima. Positive:
 * the target is slower. 0 when either sample is empty or both are all zero.
 */
export function weheArea(target: readonly number[], control: readonly number[]): number {
  if (target.length === 0 || control.length === 0) return 0;
  const t = [...target].sort((p, q) => p - q);
  const c = [...control].sort((p, q) => p - q);
  const inverse = (sorted: number[], q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
  let area = 0;
  for (let k = 1; k <= 1000; k++) {
    const q = k / 1000;
    area += (inverse(c, q) - inverse(t, q)) / 1000;
  }
  const norm = Math.min(t.at(-1)!, c.at(-1)!) || Math.max(t.at(-1)!, c.at(-1)!);
  return norm > 0 ? area / norm : 0;
}

/**
 * A transfer's cumulative byte count POINTS ([ms, bytes], ascending) as a curve through its
 * distinct instants: bytes reported together (one read, one TLS record) are spread back to the
 * previous instant, since they arrived at some time in between. Flat before the first point.
 */
function curveOf(points: readonly (readonly [number, number])[]): [number, number][] {
  const curve: [number, number][] = [];
  for (const [t, b] of points) {
    const last = curve.at(-1);
    if (last && t <= last[0]) last[1] = Math.max(last[1], b);
    else curve.push([t, b]);
  }
  return curve;
}

/** The curve's byte count at time T. */
function bytesAt(curve: [number, number][], t: number): number {
  if (curve.length === 0 || t <= curve[0]![0]) return curve[0]?.[1] ?? 0;
  for (let j = 1; j < curve.length; j++) {
    const [t1, b1] = curve[j]!;
    if (t <= t1) {
      const [t0, b0] = curve[j - 1]!;
      return b0 + ((t - t0) / (t1 - t0)) * (b1 - b0);
    }
  }
  return curve.at(-1)![1];
}

/**
 * Throughput samples of one transfer: [start, end] (ms) cut into SLICES equal slices, each slice's
 * rate in kbit/s read off the curve of POINTS (see curveOf). Empty when the duration is not
 * positive.
 */
export function sliceRates(
  points: readonly (readonly [number, number])[],
  start: number,
  end: number,
  slices: number,
): number[] {
  if (!(end > start) || slices < 1) return [];
  const curve = curveOf(points);
  const width = (end - start) / slices;
  const out: number[] = [];
  let before = bytesAt(curve, start);
  for (let s = 1; s <= slices; s++) {
    const after = bytesAt(curve, s === slices ? end : start + s * width);
    out.push(((after - before) * 8) / width);
    before = after;
  }
  return out;
}

/**
 * The fastest rate (kbit/s) at which WINDOW bytes arrived, anywhere in the transfer: its cumulative
 * byte count POINTS ([ms, bytes], ascending) read as a curve through the distinct instants (bytes
 * delivered together are spread back to the previous instant). A rate limiter (shaper or policer)
 * caps it; a transfer slowed by stalls (loss, a retransmission timeout) still shows its speed
 * between them. Null when less than WINDOW bytes arrived after the first point.
 */
export function peakRate(points: readonly (readonly [number, number])[], windowBytes: number): number | null {
  if (!(windowBytes > 0)) return null;
  const curve = curveOf(points);
  if (curve.length < 2) return null;
  /** The time at which the curve reaches BYTES (first crossing), or null past its end. */
  const timeAt = (bytes: number, from: number): [number, number] | null => {
    for (let j = Math.max(1, from); j < curve.length; j++) {
      const [t1, b1] = curve[j]!;
      if (b1 >= bytes) {
        const [t0, b0] = curve[j - 1]!;
        return [b1 === b0 ? t1 : t0 + ((bytes - b0) / (b1 - b0)) * (t1 - t0), j];
      }
    }
    return null;
  };
  /** The last time at which the curve is still at BYTES, or before its start. */
  const lastTimeAt = (bytes: number): number | null => {
    if (bytes < curve[0]![1]) return null;
    for (let j = curve.length - 1; j >= 1; j--) {
      const [t0, b0] = curve[j - 1]!;
      const [t1, b1] = curve[j]!;
      if (b0 <= bytes && bytes <= b1) return b1 === b0 ? t1 : t0 + ((bytes - b0) / (b1 - b0)) * (t1 - t0);
    }
    return null;
  };
  let best: number | null = null;
  const consider = (start: number, end: number) => {
    if (end > start) {
      const rate = (windowBytes * 8) / (end - start);
      if (best === null || rate > best) best = rate;
    }
  };
  // On a piecewise-linear curve the fastest window starts or ends at a vertex.
  let from = 1;
  for (const [t, b] of curve) {
    const reach = timeAt(b + windowBytes, from);
    if (!reach) break;
    from = reach[1];
    consider(t, reach[0]);
  }
  for (const [t, b] of curve) {
    const start = lastTimeAt(b - windowBytes);
    if (start !== null) consider(start, t);
  }
  return best;
}

/** The window peakRate is judged over: a quarter of the bytes, between 4 KiB and 128 KiB. */
export function peakWindow(bytes: number): number {
  return Math.min(128 * 1024, Math.max(4 * 1024, Math.floor(bytes / 4)));
}

export interface ThrottlingThresholds {
  /** Median target goodput / median control goodput must be below this. Default 0.3. */
  ratio: number;
  /** In every pair, target goodput / control goodput must be below this. Default 0.5. */
  pairRatio: number;
  /** Median target peak rate / median control peak rate must be below this (a ceiling). Default 0.3. */
  peakRatio: number;
  /** The one-sided Mann-Whitney p-value must be below this. Default 0.01. */
  alpha: number;
  /** After the first pair, a pair at or above this ratio ends the measurement: not throttled. Default 0.7. */
  earlyStopRatio: number;
}

export const DEFAULT_THROTTLING_THRESHOLDS: ThrottlingThresholds = {
  ratio: 0.3,
  pairRatio: 0.5,
  peakRatio: 0.3,
  alpha: 0.01,
  earlyStopRatio: 0.7,
};

/** What the decision needs from one transfer (target or control). */
export interface TransferObservation {
  /** Where it failed; null when it ran to the end of the body, the byte cap or the time bound. */
  failed_operation: 'connect' | 'tls_handshake' | 'http' | null;
  /** The OONI failure string; a transfer cut by the time bound carries `generic_timeout_error`. */
  failure: string | null;
  /** Bytes the server sent during a failed TLS handshake (> 0: it stalled after progress). */
  handshake_bytes_received: number;
  /** Response bytes (head and body) received. */
  bytes: number;
  /** Response bytes × 8 / (last byte − request sent), kbit/s; null when the request was never sent. */
  goodput_kbit_s: number | null;
  /** Throughput samples (kbit/s), see sliceRates. */
  slices_kbit_s: number[];
  /** Cumulative response bytes over time: [ms since the request, bytes], for peakRate. */
  progress: [number, number][];
  /** Stopped by the time bound before the end of the body and before the byte cap. */
  timed_out: boolean;
  /** Ended at the end of the body or at the byte cap (absent: unknown). */
  complete?: boolean;
  /** The HTTP status (absent or null: none). */
  status?: number | null;
}

export type ThrottlingDecision =
  /** Much slower than the control, in every pair, significantly. */
  | 'throttled'
  /** The TLS handshake (or the request) stalled after the server had started answering; the control did not. */
  | 'stalled_after_progress'
  /** As fast as the control (within the thresholds), or slow only between bursts at the control's speed. */
  | 'not_throttled'
  /** Much slower than the control overall, but not in every pair or not significantly. */
  | 'inconclusive'
  /** The target name fails before any byte of answer while the control works: blocking, not throttling. */
  | 'blocked'
  /** The target's certificate does not verify: not a speed question (Web Connectivity judges interception). */
  | 'certificate_error'
  /** The control failed (or served something else): nothing to compare with. */
  | 'no_control'
  /** Nothing worked, the control included. */
  | 'unreachable';

export interface ThrottlingVerdict {
  decision: ThrottlingDecision;
  verdict: 'ok' | 'throttled' | 'blocked' | null;
  /** Target/control medians of goodput (kbit/s) and their ratio; null when not computable. */
  target_goodput_kbit_s: number | null;
  control_goodput_kbit_s: number | null;
  ratio: number | null;
  /** target/control per pair (pairs where both ran). */
  pair_ratios: number[];
  /** Medians of the peak rates (kbit/s, see peakRate) and their ratio. */
  target_peak_kbit_s: number | null;
  control_peak_kbit_s: number | null;
  peak_ratio: number | null;
  /** One-sided Mann-Whitney U over the throughput samples (target smaller). */
  test: 'mann-whitney-u';
  statistic: number | null;
  z: number | null;
  p_value: number | null;
  ks: KSTest | null;
  area: number | null;
  /** Target transfers cut by the time bound after making progress, while the control's were not. */
  timeouts_after_progress: number;
  reason: string;
}

/** A pair of transfers: the target's and the control's of the same repeat (either may be missing). */
export interface TransferPair {
  target: TransferObservation | null;
  control: TransferObservation | null;
}

/** Whether a target transfer tells us anything about its speed: the connection was opened. */
function reachedServer(t: TransferObservation): boolean {
  return t.failed_operation !== 'connect';
}

/** A control counts only when it really measured the path: it received response bytes. */
function usableControl(c: TransferObservation | null): c is TransferObservation {
  return c !== null && c.bytes > 0 && c.goodput_kbit_s !== null && c.goodput_kbit_s > 0;
}

/**
 * Why a pair's control cannot stand in for its target, or null when it can: the server answered the
 * neutral name with another status (a 421 Misdirected Request, a default site), or with a body of
 * another size while both transfers ran to their end (a default virtual host).
 */
function differs(p: { target: TransferObservation; control: TransferObservation }): string | null {
  const { target: t, control: c } = p;
  if (t.status != null && c.status != null && t.status !== c.status)
    return `status ${t.status} vs ${c.status}`;
  if (t.complete && c.complete && t.bytes > 0 && (c.bytes > 2 * t.bytes || t.bytes > 2 * c.bytes))
    return `${t.bytes} vs ${c.bytes} bytes`;
  return null;
}

/**
 * Target goodput for the comparison: what it measured, or 0 when it reached the server but got no
 * answer through (a stall is the limit of slowness).
 */
function targetGoodput(t: TransferObservation): number {
  return t.goodput_kbit_s ?? 0;
}

function targetSlices(t: TransferObservation, slices: number): number[] {
  return t.slices_kbit_s.length > 0 ? t.slices_kbit_s : new Array<number>(slices).fill(0);
}

const round = (x: number, digits = 4) => Number(x.toPrecision(digits));

/**
 * The decision rule. See docs/experiments.md, "Throttling", for why each part is there.
 *
 * 1. No usable control (no pair whose control received bytes): `no_control`, or `unreachable` when
 *    the target did not get through either. Verdict null: nothing to compare with.
 * 2. No target transfer received any answer byte: `blocked` when none even started the handshake
 *    reply (the server's first bytes never came: blocking), `stalled_after_progress` (throttled)
 *    when the handshakes or requests stalled after the server had started answering.
 * 3. Otherwise, over the pairs with a usable control: ratio = median target goodput / median
 *    control goodput; throttled iff ratio < T.ratio (a large effect), every pair's ratio <
 *    T.pairRatio (replicated), the median peak rate ratio < T.peakRatio (a ceiling: even its
 *    fastest stretch is slow), and the one-sided Mann-Whitney p over the throughput samples <
 *    T.alpha (significant). Slow overall without a ceiling is loss or congestion: `not_throttled`.
 *    Slow with a ceiling but not replicated or not significant is `inconclusive` (verdict null).
 *    Uniform slowness of target and control (congestion, loss, a slow site) gives ratios near 1.
 */
export function decideThrottling(
  pairs: readonly TransferPair[],
  thresholds: Partial<ThrottlingThresholds> = {},
): ThrottlingVerdict {
  const T = { ...DEFAULT_THROTTLING_THRESHOLDS, ...thresholds };
  const base: ThrottlingVerdict = {
    decision: 'unreachable',
    verdict: null,
    target_goodput_kbit_s: null,
    control_goodput_kbit_s: null,
    ratio: null,
    pair_ratios: [],
    target_peak_kbit_s: null,
    control_peak_kbit_s: null,
    peak_ratio: null,
    test: 'mann-whitney-u',
    statistic: null,
    z: null,
    p_value: null,
    ks: null,
    area: null,
    timeouts_after_progress: 0,
    reason: '',
  };
  const targets = pairs.map((p) => p.target).filter((t): t is TransferObservation => t !== null);
  const reached = pairs.filter(
    (p): p is { target: TransferObservation; control: TransferObservation } =>
      p.target !== null && reachedServer(p.target) && usableControl(p.control),
  );
  const usable = reached.filter((p) => differs(p) === null);
  const anyControl = pairs.some((p) => usableControl(p.control));
  const targetGotBytes = targets.some((t) => t.bytes > 0);

  if (!anyControl) {
    return {
      ...base,
      decision: targetGotBytes ? 'no_control' : 'unreachable',
      reason: targetGotBytes
        ? 'the control (same address, neutral name) received nothing: no comparison is possible'
        : 'neither the target nor the control received anything from the server',
    };
  }
  if (usable.length === 0) {
    const why = reached.length > 0 ? differs(reached[0]!) : null;
    return {
      ...base,
      decision: 'no_control',
      reason: why
        ? `the control got a different answer than the target (${why}): speeds of different content do not compare`
        : 'no target transfer reached the server while the control worked (connects failed)',
    };
  }

  const slices = Math.max(1, ...usable.map((p) => p.control.slices_kbit_s.length));
  const tGood = usable.map((p) => targetGoodput(p.target));
  const cGood = usable.map((p) => p.control.goodput_kbit_s!);
  const tSamples = usable.flatMap((p) => targetSlices(p.target, slices));
  const cSamples = usable.flatMap((p) => p.control.slices_kbit_s);
  const mw = mannWhitneyLess(tSamples, cSamples);
  const tMedian = median(tGood);
  const cMedian = median(cGood);
  const ratio = cMedian > 0 ? tMedian / cMedian : null;
  const pairRatios = usable.map((p, i) => tGood[i]! / p.control.goodput_kbit_s!);
  // Peaks over the same window for both sides of a pair; a side too short for it counts its goodput.
  const peaks = usable.map((p) => {
    const window = peakWindow(Math.min(p.target.bytes, p.control.bytes));
    const tp = p.target.bytes > 0 ? (peakRate(p.target.progress, window) ?? targetGoodput(p.target)) : 0;
    const cp = peakRate(p.control.progress, window) ?? p.control.goodput_kbit_s!;
    return { tp: Math.max(tp, targetGoodput(p.target)), cp: Math.max(cp, p.control.goodput_kbit_s!) };
  });
  const tPeak = median(peaks.map((x) => x.tp));
  const cPeak = median(peaks.map((x) => x.cp));
  const peakRatio = cPeak > 0 ? tPeak / cPeak : null;
  const timeoutsAfterProgress = usable.filter(
    (p) => p.target.timed_out && p.target.bytes > 0 && !p.control.timed_out,
  ).length;
  const stats: ThrottlingVerdict = {
    ...base,
    target_goodput_kbit_s: round(tMedian),
    control_goodput_kbit_s: round(cMedian),
    ratio: ratio === null ? null : round(ratio),
    pair_ratios: pairRatios.map((r) => round(r)),
    target_peak_kbit_s: round(tPeak),
    control_peak_kbit_s: round(cPeak),
    peak_ratio: peakRatio === null ? null : round(peakRatio),
    statistic: mw.statistic,
    z: mw.z === null ? null : round(mw.z),
    p_value: Number(mw.p_value.toPrecision(3)),
    ks: (() => {
      const ks = ksTwoSample(tSamples, cSamples);
      return { statistic: round(ks.statistic), p_value: Number(ks.p_value.toPrecision(3)) };
    })(),
    area: round(weheArea(tSamples, cSamples)),
    timeouts_after_progress: timeoutsAfterProgress,
  };

  const answered = usable.filter((p) => p.target.bytes > 0);
  if (answered.length === 0) {
    if (usable.every((p) => p.target.failure?.startsWith('ssl_'))) {
      return {
        ...stats,
        decision: 'certificate_error',
        reason: `the target's certificate does not verify (${usable[0]!.target.failure}): not a question of speed`,
      };
    }
    const stalled = usable.filter(
      (p) => p.target.failure === 'generic_timeout_error' && p.target.handshake_bytes_received > 0,
    );
    if (stalled.length === usable.length) {
      return {
        ...stats,
        decision: 'stalled_after_progress',
        verdict: 'throttled',
        reason: `every target handshake stalled after the server had started answering (${usable.length}/${usable.length}) while the control on the same address completed`,
      };
    }
    return {
      ...stats,
      decision: 'blocked',
      verdict: 'blocked',
      reason: `the target name never got an answer through (${usable[0]!.target.failure ?? 'no bytes'}) while the control on the same address did: blocking, not throttling`,
    };
  }

  const fmt = (x: number) => x.toPrecision(2);
  const slow = ratio !== null && ratio < T.ratio;
  const everyPair = pairRatios.every((r) => r < T.pairRatio);
  const ceiling = peakRatio !== null && peakRatio < T.peakRatio;
  const significant = mw.p_value < T.alpha;
  const summary = `target ${fmt(tMedian)} kbit/s vs control ${fmt(cMedian)} kbit/s (ratio ${ratio === null ? 'n/a' : fmt(ratio)}, peak ratio ${peakRatio === null ? 'n/a' : fmt(peakRatio)}, ${usable.length} pair(s), Mann-Whitney p ${mw.p_value.toPrecision(2)})`;
  const timeouts =
    timeoutsAfterProgress > 0
      ? `; ${timeoutsAfterProgress} target transfer(s) timed out after progress while the control completed`
      : '';
  if (slow && ceiling && everyPair && significant) {
    return { ...stats, decision: 'throttled', verdict: 'throttled', reason: `${summary}${timeouts}` };
  }
  if (slow && !ceiling) {
    return {
      ...stats,
      decision: 'not_throttled',
      verdict: 'ok',
      reason: `${summary}: slower overall but as fast as the control between stalls (no rate ceiling): loss or congestion, not throttling`,
    };
  }
  if (slow) {
    const why = !everyPair
      ? `not slower in every pair (pair ratios ${pairRatios.map(fmt).join(', ')})`
      : `not significant at ${T.alpha}`;
    return { ...stats, decision: 'inconclusive', verdict: null, reason: `${summary}: ${why}${timeouts}` };
  }
  return { ...stats, decision: 'not_throttled', verdict: 'ok', reason: summary };
}
