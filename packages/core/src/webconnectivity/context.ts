import { isIP } from '../ip.js';
import type { ControlResponse } from '../measurement.js';
import type { WebConnectivityObservations } from './analysis-types.js';
import {
  classicLinear,
  hostOf,
  type Observation,
  type Regrouped,
  regroup,
  splitEndpoint,
} from './observations.js';

/** What every rule needs, computed once per measurement. */
export interface AnalysisContext {
  obs: WebConnectivityObservations;
  /** Lower-case punycode host of the measured URL. */
  host: string;
  hostIsIP: boolean;
  /** The control, or null when it is missing or failed (then nothing can be compared). */
  control: ControlResponse | null;
  /** Addresses the test helper resolved for the host. */
  controlAddrs: string[];
  /** The TH fetched the page itself: failures elsewhere are then not the site's fault. */
  controlFetched: boolean;
  regrouped: Regrouped;
  /** The classic observations in walk order. */
  linear: Observation[];
  /** Probe addresses that completed a certificate-verified TLS handshake for the host (fix a). */
  tlsValidated: Set<string>;
  /** ASN of an address (0 when unknown). */
  asnOf: (ip: string) => number;
}

export function buildContext(obs: WebConnectivityObservations): AnalysisContext {
  const host = hostOf(obs.input);
  // A control that came with a failure is not trusted, whatever partial data it carries.
  const control = obs.control_failure === null ? obs.control : null;
  const regrouped = regroup(obs);

  // The ASN of an answer: the probe's own annotation first, then what the test helper looked up.
  const asns = new Map<string, number>();
  for (const [ip, info] of Object.entries(control?.ip_info ?? {})) if (info.asn > 0) asns.set(ip, info.asn);
  for (const query of obs.queries ?? []) {
    for (const answer of query.answers ?? []) {
      const ip = answer.ipv4 ?? answer.ipv6;
      if (ip && answer.asn && answer.asn > 0) asns.set(ip, answer.asn);
    }
  }

  // Pharos fix (a): an address that proved, with a verified certificate, that it serves the host
  // is a valid answer whatever the control resolved (CDNs answer differently per vantage point;
  // the 2022 TikTok/Akamai false "DNS blocking" in Azerbaijan was exactly this).
  const tlsValidated = new Set<string>();
  for (const tls of obs.tls_handshakes ?? []) {
    const parts = splitEndpoint(tls.address);
    if (parts && tls.failure === null && !tls.no_tls_verify && tls.server_name.toLowerCase() === host) {
      tlsValidated.add(parts.ip);
    }
  }

  return {
    obs,
    host,
    hostIsIP: isIP(host),
    control,
    controlAddrs: control?.dns?.addrs ?? [],
    controlFetched: control?.http_request != null && control.http_request.failure === null,
    regrouped,
    linear: classicLinear(regrouped),
    tlsValidated,
    asnOf: (ip) => asns.get(ip) ?? 0,
  };
}
