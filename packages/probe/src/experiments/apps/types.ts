/** What a caller (the CLI, the lab, a test) can set for one app or platform measurement. */
import type { AppMeasurement, AppTestKeysBase } from '@pharos/core';
import type { WebConnectivityTimeouts } from '../../webconnectivity/options.js';

/** A cap on the bytes a run may cost (`--data-budget`), shared by every experiment of the run. */
export interface DataBudget {
  /** Bytes left; at or below zero no new endpoint fetch starts. */
  remaining(): number;
  spend(bytes: number): void;
}

/** An endpoint that was reached, handed to the throttling check. */
export interface ThrottlingTarget {
  /** The experiment (whatsapp, tiktok, …). */
  experiment: string;
  /** The endpoint's name as in `x_endpoints`. */
  endpoint: string;
  /** The URL that was fetched. */
  url: string;
  /** The server name (SNI). */
  serverName: string;
  /** The address that answered. */
  address: string | null;
}

/** What the throttling check reports for one target. */
export interface ThrottlingOutcome {
  /** null: the check could not tell. */
  throttled: boolean | null;
  /** A mechanism label, e.g. tls.throttle.sni. */
  mechanism?: string | null;
  /** Samples, ratios, statistics: recorded under x_throttling. */
  testKeys?: Record<string, unknown>;
  /** What the check cost, if it measured itself; added to x_bytes_*. */
  bytesSent?: number;
  bytesReceived?: number;
}

/**
 * The hook the throttling module plugs in: called for the catalog's `throttle` endpoint of an app
 * or platform that was reachable. Nothing in this module guesses throttling on its own.
 */
export type ThrottlingCheck = (
  target: ThrottlingTarget,
  context: { signal?: AbortSignal; dataBudget?: DataBudget; extraCA?: string[] },
) => Promise<ThrottlingOutcome>;

export interface AppRunOptions {
  /** Path of a catalog file replacing the default (platforms.json). */
  catalog?: string;
  /** `ip:port` of a public resolver queried over UDP besides the system resolver (platforms). */
  publicResolver?: string;
  /** A DNS-over-HTTPS URL, used by the platforms when no publicResolver is given. */
  dohURL?: string;
  /** Test helper URLs (OONI's protocol) for the control of failed endpoints. Default: OONI's. */
  testHelpers?: string[];
  /** PEM certificates trusted besides Node's roots (the lab's CA). */
  extraCA?: string[];
  /** Path of an IP→ASN CSV (start,end,asn per line) for address-ownership checks (Messenger's). */
  asnTable?: string;
  timeouts?: WebConnectivityTimeouts;
  /** ISO country code; default `ZZ` (withheld). */
  probeCC?: string;
  /** `AS1234`; default `AS0` (withheld). */
  probeASN?: string;
  /** When the run of which this measurement is part started. */
  testStartTime?: Date;
  /** The run's report id; default: a new one in OONI's format. */
  reportId?: string;
  /** Stops the measurement early; what was observed until then is still returned. */
  signal?: AbortSignal;
  /** Spent as bytes go by; once it is exhausted no new endpoint fetch starts. */
  dataBudget?: DataBudget;
  /** Endpoints measured at once. Default 16. */
  concurrency?: number;
  /** The throttling module's check, for reachable endpoints the catalog marks `throttle`. */
  throttling?: ThrottlingCheck;
  /** Added to the envelope's annotations (e.g. `x_region`). */
  annotations?: Record<string, string>;
}

export interface AppExperiment<K extends AppTestKeysBase = AppTestKeysBase> {
  /** The test_name, and what `--experiment NAME` takes. */
  name: string;
  description: string;
  /** Never throws for the network: what fails is in the measurement. */
  run(options?: AppRunOptions): Promise<AppMeasurement<K>>;
}
