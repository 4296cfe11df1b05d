/**
 * measureThrottling: the target's name against a neutral name on the same server address, in
 * interleaved pairs of bounded transfers, decided by core's decideThrottling and compared with the
 * probe's own baseline. See docs/experiments.md, "Throttling".
 */
import { isIP } from 'node:net';
import {
  DEFAULT_THROTTLING_THRESHOLDS,
  decideThrottling,
  type Mechanism,
  median,
  type ThrottlingDecision,
  type ThrottlingThresholds,
  type ThrottlingVerdict,
  type TransferPair,
} from '@pharos/core';
import { type Lookup, lookupSystem } from '../../net/dns-system.js';
import { urlHostname, urlPort } from '../../net/endpoint.js';
import { Trace } from '../../net/trace.js';
import {
  appendBaseline,
  type BaselineComparison,
  baselineKey,
  compareBaseline,
  readBaseline,
} from './baseline.js';
import { type ControlCertificate, measureTransfer, type TransferRecord } from './transfer.js';

export const DEFAULT_REPEATS = 3;
/** OONI's body cap (dd-007). */
export const DEFAULT_MAX_BYTES = 512 * 1024;
export const DEFAULT_MAX_SECONDS = 10;
/** Throughput samples per transfer. */
export const DEFAULT_SLICES = 10;
/**
 * The control's server name: reserved for documentation (RFC 2606), never a censor's target, and
 * free of the substrings real rules have matched too loosely (Russia's `*t.co*` in 2021).
 */
export const DEFAULT_CONTROL_SERVER_NAME = 'www.example.com';
/** A transfer needs at least this much budget left, or the measurement stops. */
export const MIN_TRANSFER_BYTES = 32 * 1024;
/** Handshake, headers and TCP/TLS overhead a transfer costs besides the body cap. */
const TRANSFER_OVERHEAD_BYTES = 16 * 1024;
/** Baseline ratios below this (10×, OONI's "extreme") are called out in the reason. */
const BASELINE_SLOWDOWN = 0.1;

export interface DataBudget {
  /** Bytes the run may still use. */
  remaining(): number;
  spend(n: number): void;
}

export interface ThrottlingTimeouts {
  /** DNS lookup. Default 4000 ms. */
  dns?: number;
  /** Per TCP connect. Default 10000 ms. */
  connect?: number;
  /** Per TLS handshake. Default 10000 ms. */
  tls?: number;
}

export interface ThrottlingOptions {
  /** PEM certificates trusted besides Node's roots (the lab's CA). */
  extraCA?: string[];
  timeouts?: ThrottlingTimeouts;
  /** Pairs of transfers (target and control). Default 3. */
  repeats?: number;
  /** Body cap per transfer. Default 512 KiB. */
  maxBytes?: number;
  /** Time bound per transfer (request to last byte). Default 10 s. */
  maxSeconds?: number;
  dataBudget?: DataBudget;
  signal?: AbortSignal;
  /** Where the baseline history lives; default none (no baseline). */
  stateDir?: string;
  /** Keys the baseline by network as well (e.g. the probe's ASN). */
  network?: string;
  /** The neutral name for the control. Default www.example.com. */
  controlServerName?: string;
  thresholds?: Partial<ThrottlingThresholds>;
  /** Stop after a pair that is plainly not throttled (ratio ≥ earlyStopRatio). Default true. */
  earlyStop?: boolean;
  /** Resolver for the target's name. Default: the system resolver. */
  lookup?: Lookup;
  /** Trace to record into (a caller's sidecar); default a new one. */
  trace?: Trace;
  /** Clock for the baseline; default now. */
  now?: () => Date;
}

export interface ThrottlingTargetSpec {
  host: string;
  /** Default 443 (https) or 80 (http). */
  port?: number;
  /** Default `/`. */
  path?: string;
  /** Default https. */
  scheme?: 'https' | 'http';
  /** Connect here instead of resolving the host (a caller that already resolved it). */
  address?: string;
}

export type ThrottlingTarget = string | URL | ThrottlingTargetSpec;

export type ThrottlingExperimentDecision = ThrottlingDecision | 'dns_failure' | 'no_budget';

export type ThrottlingVerdictValue = 'ok' | 'throttled' | 'blocked' | 'down' | null;

export interface ThrottlingSide {
  server_name: string;
  transfers: TransferRecord[];
  /** Medians over the transfers that received bytes. */
  goodput_kbit_s: number | null;
  /** Median over the compared pairs of the fastest rate over a window of bytes (core's peakRate). */
  peak_kbit_s: number | null;
  tls_handshake_ms: number | null;
  ttfb_ms: number | null;
}

/** `x_throttling`. */
export interface ThrottlingKeys {
  url: string;
  address: string | null;
  /** paired-sni: the same address with a neutral SNI; paired-host: the same with a neutral Host. */
  method: 'paired-sni' | 'paired-host';
  repeats: number;
  pairs_measured: number;
  early_stop: boolean;
  max_bytes: number;
  max_seconds: number;
  slices: number;
  target: ThrottlingSide;
  control: ThrottlingSide & { certificate: ControlCertificate | null };
  ratio: number | null;
  pair_ratios: number[];
  /** target.peak_kbit_s / control.peak_kbit_s: below the threshold, the target has a rate ceiling. */
  peak_ratio: number | null;
  /** Median target handshake time / median control handshake time (https). */
  handshake_ratio: number | null;
  test: 'mann-whitney-u';
  statistic: number | null;
  z: number | null;
  p_value: number | null;
  ks: { statistic: number; p_value: number } | null;
  area: number | null;
  timeouts_after_progress: number;
  thresholds: ThrottlingThresholds;
  baseline: BaselineComparison | null;
  decision: ThrottlingExperimentDecision;
  reason: string;
}

export interface ThrottlingResult {
  verdict: ThrottlingVerdictValue;
  mechanism: Mechanism | null;
  keys: ThrottlingKeys;
  /** This measurement's bytes on the wire (the system resolver's are not countable). */
  bytesSent: number;
  bytesReceived: number;
  trace: Trace;
}

/** The URL a target stands for. */
export function targetURL(target: ThrottlingTarget): URL {
  if (typeof target === 'string' || target instanceof URL) {
    const url = new URL(target.toString());
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new TypeError(`throttling measures http(s) URLs, not ${url.protocol}`);
    return url;
  }
  const scheme = target.scheme ?? 'https';
  const port = target.port ?? (scheme === 'https' ? 443 : 80);
  const host = isIP(target.host) === 6 ? `[${target.host}]` : target.host;
  const pathPart = target.path ?? '/';
  return new URL(`${scheme}://${host}:${port}${pathPart.startsWith('/') ? '' : '/'}${pathPart}`);
}

const medianOrNull = (xs: (number | null)[]): number | null => {
  const v = xs.filter((x): x is number => x !== null);
  return v.length === 0 ? null : Number(median(v).toPrecision(4));
};

function side(serverName: string, transfers: TransferRecord[]): ThrottlingSide {
  const answered = transfers.filter((t) => t.bytes > 0);
  return {
    server_name: serverName,
    transfers,
    goodput_kbit_s: medianOrNull(answered.map((t) => t.goodput_kbit_s)),
    peak_kbit_s: null,
    tls_handshake_ms: medianOrNull(
      transfers.filter((t) => t.failed_operation !== 'tls_handshake').map((t) => t.tls_handshake_ms),
    ),
    ttfb_ms: medianOrNull(answered.map((t) => t.ttfb_ms)),
  };
}

/** The mechanism a blocked target's failure points to. */
function blockedMechanism(scheme: 'https' | 'http', records: TransferRecord[]): Mechanism | null {
  const failed = records.find((r) => r.failed_operation !== null && r.failed_operation !== 'connect');
  if (!failed) return null;
  const timeout = failed.failure === 'generic_timeout_error';
  const reset = failed.failure === 'connection_reset';
  if (failed.failed_operation === 'tls_handshake')
    return timeout ? 'tls.timeout' : reset ? 'tls.reset.sni' : 'tls.reset.other';
  if (scheme === 'http') return timeout ? 'http.timeout' : reset ? 'http.reset.host' : 'http.error';
  return 'http.error';
}

/**
 * Measures whether TARGET is throttled: `repeats` interleaved pairs of bounded transfers (the
 * target's name, then a neutral name on the same address, alternating which goes first), stopped
 * early once a pair is plainly not throttled, and decided by core's decideThrottling.
 */
export async function measureThrottling(
  target: ThrottlingTarget,
  options: ThrottlingOptions = {},
): Promise<ThrottlingResult> {
  const url = targetURL(target);
  const host = urlHostname(url);
  const port = urlPort(url);
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  const trace = options.trace ?? new Trace();
  const repeats = Math.max(1, Math.floor(options.repeats ?? DEFAULT_REPEATS));
  const maxBytes = Math.max(1, Math.floor(options.maxBytes ?? DEFAULT_MAX_BYTES));
  const maxSeconds = Math.max(0.1, options.maxSeconds ?? DEFAULT_MAX_SECONDS);
  const thresholds = { ...DEFAULT_THROTTLING_THRESHOLDS, ...options.thresholds };
  const controlName = options.controlServerName ?? DEFAULT_CONTROL_SERVER_NAME;
  const earlyStop = options.earlyStop ?? true;
  const now = options.now ?? (() => new Date());
  const budget = options.dataBudget;
  const timeouts = {
    dns: options.timeouts?.dns ?? 4_000,
    connect: options.timeouts?.connect ?? 10_000,
    tls: options.timeouts?.tls ?? 10_000,
  };
  // The control asks for the same thing: over TLS the Host header (encrypted) stays the target's;
  // over plain HTTP the Host header is what the censor reads, so it is the neutral name.
  const controlURL = new URL(url.href);
  if (scheme === 'http') controlURL.hostname = controlName;

  const targets: TransferRecord[] = [];
  const controls: TransferRecord[] = [];
  const pairs: TransferPair[] = [];
  let address: string | null = null;
  let stoppedEarly = false;
  let noBudget = false;
  let decisionOverride: { decision: ThrottlingExperimentDecision; reason: string } | null = null;

  // Where to connect.
  let addresses: string[] = [];
  const given = typeof target === 'object' && !(target instanceof URL) ? target.address : undefined;
  if (given) addresses = [given];
  else if (isIP(host) !== 0) addresses = [host];
  else {
    const lookup = options.lookup ?? lookupSystem;
    const found = await lookup(host, {
      trace,
      tags: ['throttling'],
      signal: options.signal,
      timeoutMs: timeouts.dns,
    });
    if (found.failure !== null) {
      decisionOverride = {
        decision: 'dns_failure',
        reason: `the target's name does not resolve (${found.failure}): nothing to measure`,
      };
    }
    // IPv4 first: the paths are the same, and v4 is what most censors' rules are written for.
    addresses = [
      ...found.addresses.filter((a) => isIP(a) === 4),
      ...found.addresses.filter((a) => isIP(a) === 6),
    ];
  }

  const bytesOf = (r: TransferRecord) => r.bytes_sent + r.bytes_received;
  for (let i = 0; i < repeats && decisionOverride === null && addresses.length > 0; i++) {
    if (options.signal?.aborted) break;
    let cap = maxBytes;
    if (budget) {
      const perTransfer = Math.floor(budget.remaining() / 2) - TRANSFER_OVERHEAD_BYTES;
      if (perTransfer < MIN_TRANSFER_BYTES) {
        noBudget = true;
        break;
      }
      cap = Math.min(cap, perTransfer);
    }
    // The first pair looks for an address that answers; later pairs keep to it (the same path).
    const candidates: string[] = address === null ? addresses.slice(0, 3) : [address];
    let pair: { target: TransferRecord; control: TransferRecord } | null = null;
    for (const ip of candidates) {
      const run = (role: 'target' | 'control') =>
        measureTransfer({
          role,
          repeat: i,
          ip,
          port,
          scheme,
          serverName: role === 'target' ? host : controlName,
          url: role === 'target' ? url : controlURL,
          targetHost: host,
          verify: role === 'target',
          maxBytes: cap,
          maxSeconds,
          connectTimeoutMs: timeouts.connect,
          tlsTimeoutMs: timeouts.tls,
          slices: DEFAULT_SLICES,
          extraCA: options.extraCA,
          signal: options.signal,
          trace,
        }).then((r) => {
          budget?.spend(bytesOf(r));
          return r;
        });
      // Alternate which goes first, so a trend over time (a download elsewhere, a shaper's bucket)
      // does not always favour the same side.
      let t: TransferRecord;
      let c: TransferRecord;
      if (i % 2 === 0) {
        t = await run('target');
        c = await run('control');
      } else {
        c = await run('control');
        t = await run('target');
      }
      targets.push(t);
      controls.push(c);
      pair = { target: t, control: c };
      if (t.failed_operation !== 'connect' || c.failed_operation !== 'connect') {
        address = ip;
        break;
      }
    }
    if (!pair) break;
    pairs.push(pair);
    if (address === null) break; // no address answered at all
    const tg = pair.target.goodput_kbit_s;
    const cg = pair.control.goodput_kbit_s;
    if (
      earlyStop &&
      i + 1 < repeats &&
      pair.target.bytes > 0 &&
      pair.control.bytes > 0 &&
      tg !== null &&
      cg !== null &&
      cg > 0 &&
      tg / cg >= thresholds.earlyStopRatio
    ) {
      stoppedEarly = true;
      break;
    }
  }

  if (decisionOverride === null && pairs.length === 0 && noBudget) {
    decisionOverride = {
      decision: 'no_budget',
      reason: `the data budget left (${budget?.remaining()} bytes) is below two transfers of ${MIN_TRANSFER_BYTES} bytes`,
    };
  }
  const verdict: ThrottlingVerdict = decideThrottling(decisionOverride === null ? pairs : [], thresholds);
  const decision: ThrottlingExperimentDecision = decisionOverride?.decision ?? verdict.decision;

  const targetSide = { ...side(host, targets), peak_kbit_s: verdict.target_peak_kbit_s };
  const controlSide = { ...side(controlName, controls), peak_kbit_s: verdict.control_peak_kbit_s };
  const handshakeRatio =
    targetSide.tls_handshake_ms !== null && controlSide.tls_handshake_ms
      ? Number((targetSide.tls_handshake_ms / controlSide.tls_handshake_ms).toPrecision(4))
      : null;

  // The baseline: compared with, then extended.
  let baseline: BaselineComparison | null = null;
  let reason = decisionOverride?.reason ?? verdict.reason;
  if (noBudget && pairs.length > 0) reason += `; stopped after ${pairs.length} pair(s): data budget`;
  if (options.stateDir && decisionOverride === null) {
    const key = baselineKey(options.network, url);
    const at = now();
    try {
      const entries = await readBaseline(options.stateDir, key, at);
      baseline = compareBaseline(entries, verdict.target_goodput_kbit_s, verdict.control_goodput_kbit_s);
      const tr = baseline.target_ratio;
      const cr = baseline.control_ratio;
      if (verdict.decision === 'not_throttled' && tr !== null && tr < BASELINE_SLOWDOWN) {
        reason +=
          cr !== null && cr < BASELINE_SLOWDOWN
            ? `; target and control are both over 10× slower than this probe's baseline: the whole path is slower (congestion or general dimming), not throttling of this name`
            : `; the target is over 10× slower than this probe's baseline`;
      } else if (verdict.decision === 'no_control' && tr !== null && tr < BASELINE_SLOWDOWN) {
        reason += `; the target is over 10× slower than this probe's baseline, but without a control that cannot be told from the whole network being slower`;
      } else if (verdict.decision === 'throttled' && tr !== null) {
        reason += `; ${tr.toPrecision(2)}× this probe's baseline for the target`;
      }
      if (verdict.target_goodput_kbit_s !== null && verdict.verdict !== 'blocked')
        await appendBaseline(options.stateDir, key, {
          time: at.toISOString(),
          target_kbit_s: verdict.target_goodput_kbit_s,
          control_kbit_s: verdict.control_goodput_kbit_s,
          verdict: verdict.verdict,
        });
    } catch (error) {
      reason += `; baseline unavailable (${error instanceof Error ? error.message : String(error)})`;
    }
  }

  const mechanism: Mechanism | null =
    verdict.verdict === 'throttled'
      ? scheme === 'https'
        ? 'tls.throttle.sni'
        : 'http.throttle.host'
      : verdict.verdict === 'blocked'
        ? blockedMechanism(scheme, targets)
        : null;

  const keys: ThrottlingKeys = {
    url: url.href,
    address,
    method: scheme === 'https' ? 'paired-sni' : 'paired-host',
    repeats,
    pairs_measured: pairs.length,
    early_stop: stoppedEarly,
    max_bytes: maxBytes,
    max_seconds: maxSeconds,
    slices: DEFAULT_SLICES,
    target: targetSide,
    control: { ...controlSide, certificate: controls.find((c) => c.certificate)?.certificate ?? null },
    ratio: verdict.ratio,
    pair_ratios: verdict.pair_ratios,
    peak_ratio: verdict.peak_ratio,
    handshake_ratio: handshakeRatio,
    test: verdict.test,
    statistic: verdict.statistic,
    z: verdict.z,
    p_value: verdict.p_value,
    ks: verdict.ks,
    area: verdict.area,
    timeouts_after_progress: verdict.timeouts_after_progress,
    thresholds,
    baseline,
    decision,
    reason,
  };
  const all = [...targets, ...controls];
  return {
    verdict: verdict.verdict,
    mechanism,
    keys,
    bytesSent: all.reduce((s, r) => s + r.bytes_sent, 0),
    bytesReceived: all.reduce((s, r) => s + r.bytes_received, 0),
    trace,
  };
}
