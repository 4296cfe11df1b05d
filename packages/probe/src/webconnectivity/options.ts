/** What a caller (the CLI, the lab, a test) can set for one Web Connectivity measurement. */
import type { FingerprintSet } from '@pharos/core';

export interface WebConnectivityTimeouts {
  /** Per DNS lookup (system, UDP, DoH). Default 4000 ms. */
  dns?: number;
  /** Per TCP connect. Default 10000 ms. */
  connect?: number;
  /** Per TLS handshake. Default 10000 ms. */
  tls?: number;
  /** Per HTTP round trip, body included. Default 10000 ms. */
  http?: number;
  /** Per test helper tried, everything included. Default 30000 ms. */
  control?: number;
}

export interface WebConnectivityOptions {
  /** Test helper URLs (OONI's protocol), tried in order until one answers. Default: OONI's. */
  testHelpers?: string[];
  /** `ip:port` of a public resolver queried over plain UDP besides the system resolver. */
  publicResolver?: string;
  /** A DNS-over-HTTPS URL queried besides the system resolver. */
  dohURL?: string;
  /** PEM certificates trusted besides Node's roots (the lab's CA). */
  extraCA?: string[];
  /** Blockpage fingerprints for the analysis. */
  fingerprints?: FingerprintSet;
  timeouts?: WebConnectivityTimeouts;
  /** ISO country code; default `ZZ` (withheld). */
  probeCC?: string;
  /** `AS1234`; default `AS0` (withheld). */
  probeASN?: string;
  /** When the run of which this measurement is part started; default: this measurement's start. */
  testStartTime?: Date;
  /** The run's report id; default: a new one in OONI's format. */
  reportId?: string;
  /** Stops the measurement early; what was observed until then is still returned. */
  signal?: AbortSignal;
  /** Added to the envelope's annotations (e.g. `x_region`, `x_category_code`). */
  annotations?: Record<string, string>;
}

export const DEFAULT_TEST_HELPERS = ['https://0.th.ooni.org/'];

export interface ResolvedTimeouts {
  dns: number;
  connect: number;
  tls: number;
  http: number;
  control: number;
}

export function resolveTimeouts(timeouts: WebConnectivityTimeouts = {}): ResolvedTimeouts {
  return {
    dns: timeouts.dns ?? 4_000,
    connect: timeouts.connect ?? 10_000,
    tls: timeouts.tls ?? 10_000,
    http: timeouts.http ?? 10_000,
    control: timeouts.control ?? 30_000,
  };
}
