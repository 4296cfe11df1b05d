/** What the test helper can be configured with. */
import type { LoggerSetting } from '../log-options.js';

export interface TestHelperTimeouts {
  /** The helper's own lookup of the URL's host. Default 4000 ms (OONI's). */
  dns?: number;
  /** Each endpoint's TCP connect plus TLS handshake. Default 15000 ms (OONI's). */
  connect?: number;
  /** Each TLS handshake on its own; bounded by `connect` as a whole. Default 15000 ms. */
  tls?: number;
  /** The whole page fetch, redirects included. Default 15000 ms (OONI's). */
  http?: number;
}

export interface TestHelperOptions {
  /** `ip:port` of the DNS resolver the helper uses (plain UDP); default: the system resolver. */
  resolver?: string;
  /** PEM certificates trusted besides Node's roots (the lab's CA). */
  extraCA?: string[];
  /** Serve HTTPS with this key and certificate (PEM); default plain HTTP. */
  https?: { key: string; cert: string };
  timeouts?: TestHelperTimeouts;
  /**
   * `true` for info-level JSON logs, or pino options. Requests are logged without the client's
   * address whatever is given here.
   */
  logger?: LoggerSetting;
  /**
   * Which addresses are bogons: never connected to or fetched from (a public helper must not be
   * a way into private networks) and flagged 4 in `ip_info`. Default: core's `isBogon`. The lab,
   * whose whole internet is 10.0.0.0/8, and tests on loopback pass their own.
   */
  isBogon?: (ip: string) => boolean;
  /** Largest request body accepted, in bytes. Default 64 KiB (a control request is < 2 KiB). */
  bodyLimit?: number;
}

export interface ResolvedHelperTimeouts {
  dns: number;
  connect: number;
  tls: number;
  http: number;
}

export function resolveHelperTimeouts(t: TestHelperTimeouts = {}): ResolvedHelperTimeouts {
  return { dns: t.dns ?? 4_000, connect: t.connect ?? 15_000, tls: t.tls ?? 15_000, http: t.http ?? 15_000 };
}
