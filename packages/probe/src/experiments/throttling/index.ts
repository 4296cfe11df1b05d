import type {
  DNSQuery,
  Envelope,
  HTTPTransaction,
  Mechanism,
  NetworkEvent,
  TCPConnectResult,
  TLSHandshake,
} from '@pharos/core';
import { probeEnvelope } from '../../measurement/envelope.js';
import {
  type DataBudget,
  measureThrottling,
  type ThrottlingKeys,
  type ThrottlingOptions,
  type ThrottlingVerdictValue,
  targetURL,
} from './measure.js';

// The statistics and the decision rule live in core (pure, reusable server-side).
export {
  DEFAULT_THROTTLING_THRESHOLDS,
  decideThrottling,
  ksTwoSample,
  mannWhitneyLess,
  median,
  quantile,
  sliceRates,
  type ThrottlingDecision,
  type ThrottlingThresholds,
  type ThrottlingVerdict,
  type TransferObservation,
  type TransferPair,
  weheArea,
} from '@pharos/core';
export {
  BASELINE_FILE,
  type BaselineComparison,
  type BaselineEntry,
  baselineKey,
  compareBaseline,
  readBaseline,
} from './baseline.js';
export {
  type DataBudget,
  DEFAULT_CONTROL_SERVER_NAME,
  DEFAULT_MAX_BYTES,
  DEFAULT_MAX_SECONDS,
  DEFAULT_REPEATS,
  DEFAULT_SLICES,
  MIN_TRANSFER_BYTES,
  measureThrottling,
  type ThrottlingExperimentDecision,
  type ThrottlingKeys,
  type ThrottlingOptions,
  type ThrottlingResult,
  type ThrottlingSide,
  type ThrottlingTarget,
  type ThrottlingTargetSpec,
  type ThrottlingTimeouts,
  type ThrottlingVerdictValue,
  targetURL,
} from './measure.js';
export { type ControlCertificate, measureTransfer, type TransferRecord, thinProgress } from './transfer.js';

export const THROTTLING_TEST_NAME = 'throttling';

/** What an app or platform experiment hands a throttling check (structurally apps' ThrottlingTarget). */
export interface ThrottlingCheckTarget {
  /** The URL that was fetched. */
  url: string;
  /** The address that answered; null: resolve the URL's host. */
  address: string | null;
}

export interface ThrottlingCheckOutcome {
  /** null: could not tell (no control, blocked meanwhile, inconclusive). */
  throttled: boolean | null;
  mechanism: Mechanism | null;
  /** x_throttling of the check. */
  testKeys: Record<string, unknown>;
  bytesSent: number;
  bytesReceived: number;
}

/**
 * A throttling check for the app and platform experiments (their `throttling` option): measures the
 * endpoint's URL on the address that answered, with DEFAULTS plus the run's signal, data budget and
 * CA. Throttled when the verdict is `throttled`, not when `ok`, null otherwise.
 */
export function throttlingCheck(
  defaults: Omit<ThrottlingOptions, 'signal' | 'dataBudget' | 'trace'> = {},
): (
  target: ThrottlingCheckTarget,
  context: { signal?: AbortSignal; dataBudget?: DataBudget; extraCA?: string[] },
) => Promise<ThrottlingCheckOutcome> {
  return async (target, context) => {
    const url = targetURL(target.url);
    const result = await measureThrottling(
      {
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port === '' ? undefined : Number(url.port),
        path: `${url.pathname}${url.search}`,
        scheme: url.protocol === 'http:' ? 'http' : 'https',
        ...(target.address ? { address: target.address } : {}),
      },
      {
        ...defaults,
        signal: context.signal,
        dataBudget: context.dataBudget,
        extraCA: context.extraCA ?? defaults.extraCA,
      },
    );
    return {
      throttled: result.verdict === 'throttled' ? true : result.verdict === 'ok' ? false : null,
      mechanism: result.mechanism,
      testKeys: result.keys as unknown as Record<string, unknown>,
      bytesSent: result.bytesSent,
      bytesReceived: result.bytesReceived,
    };
  };
}
export const THROTTLING_TEST_VERSION = '0.1.0';

export interface ThrottlingTestKeys {
  queries: DNSQuery[] | null;
  tcp_connect: TCPConnectResult[] | null;
  tls_handshakes: TLSHandshake[] | null;
  /** Newest first, as OONI writes them; response bodies left out (up to 512 KiB each of padding). */
  requests: HTTPTransaction[] | null;
  network_events: NetworkEvent[] | null;
  x_throttling: ThrottlingKeys;
  x_verdict: ThrottlingVerdictValue;
  x_mechanism: Mechanism | null;
  x_bytes_sent: number;
  x_bytes_received: number;
}

export type ThrottlingMeasurement = Envelope<ThrottlingTestKeys>;

export interface RunThrottlingOptions extends Omit<ThrottlingOptions, 'trace'> {
  /** The URL measured (http or https). */
  input: string;
  /** ISO country code; default `ZZ` (withheld). */
  probeCC?: string;
  /** `AS1234`; default `AS0` (withheld). Also keys the baseline unless `network` is given. */
  probeASN?: string;
  /** When the run of which this measurement is part started; default: this measurement's start. */
  testStartTime?: Date;
  reportId?: string;
  /** Added to the envelope's annotations (e.g. `x_region`). */
  annotations?: Record<string, string>;
}

/** A transaction without its response body: the experiment counts bytes, it does not keep them. */
function withoutBody(t: HTTPTransaction): HTTPTransaction {
  return t.response ? { ...t, response: { ...t.response, body: null } } : t;
}

/** Measures one URL and returns the measurement in OONI's envelope (test_name `throttling`). */
export async function runThrottling(options: RunThrottlingOptions): Promise<ThrottlingMeasurement> {
  const started = new Date();
  const t0 = performance.now();
  const probeCC = options.probeCC ?? 'ZZ';
  const probeASN = options.probeASN ?? 'AS0';
  const result = await measureThrottling(options.input, {
    ...options,
    network: options.network ?? (probeASN === 'AS0' ? undefined : probeASN),
  });
  const { trace } = result;
  const testKeys: ThrottlingTestKeys = {
    queries: trace.queries.length > 0 ? trace.queries : null,
    tcp_connect: trace.tcpConnect.length > 0 ? trace.tcpConnect : null,
    tls_handshakes: trace.tlsHandshakes.length > 0 ? trace.tlsHandshakes : null,
    requests: trace.requests.length > 0 ? [...trace.requests].reverse().map(withoutBody) : null,
    network_events: trace.networkEvents.length > 0 ? trace.networkEvents : null,
    x_throttling: result.keys,
    x_verdict: result.verdict,
    x_mechanism: result.mechanism,
    x_bytes_sent: result.bytesSent,
    x_bytes_received: result.bytesReceived,
  };
  return probeEnvelope({
    testName: THROTTLING_TEST_NAME,
    testVersion: THROTTLING_TEST_VERSION,
    input: options.input,
    started,
    testStartTime: options.testStartTime,
    runtimeSeconds: Math.round(performance.now() - t0) / 1000,
    probeCC,
    probeASN,
    reportId: options.reportId,
    annotations: options.annotations,
    backend: null,
    testKeys,
  });
}
