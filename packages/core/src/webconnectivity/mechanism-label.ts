import { isBogon } from '../ip.js';
import type { Mechanism } from '../mechanism.js';
import type { EndpointObservation } from './observations.js';
import { isHTTPS } from './observations.js';

/**
 * `x_mechanism` labels (mechanism.ts taxonomy) from the failure strings of the observation that
 * decided. Each label is the deepest node the evidence supports: the failure string says what the
 * network did, the stage says when it did it (before/after the ClientHello or the HTTP request).
 */

/** A resolver failure while the control resolved the name. */
export function dnsFailureMechanism(failure: string): Mechanism {
  switch (failure) {
    case 'dns_nxdomain_error':
    // Android's getaddrinfo reports every lookup error this way; NXDOMAIN is by far the usual cause.
    case 'android_dns_cache_no_data':
    // "No such record" for a name the control resolves is the same lie as "no such name".
    case 'dns_no_answer':
      return 'dns.nxdomain';
    case 'generic_timeout_error':
      return 'dns.timeout';
    default:
      // refused, servfail, misbehaving, temporary or unclassified failures: the resolver failed it.
      return 'dns.refused';
  }
}

/**
 * Inconsistent answers: a known blockpage server (fingerprint) is the most specific finding, then a
 * bogon (sinkhole, loopback), then "some other address" whose only fault is not matching the control.
 */
export function dnsAnswerMechanism(
  addresses: readonly string[],
  fingerprinted: ReadonlySet<string>,
): Mechanism {
  // A fingerprinted bogon (e.g. 127.0.0.1 is in OONI's list) is still a bogon, not a blockpage server.
  if (addresses.some((ip) => fingerprinted.has(ip) && !isBogon(ip))) return 'dns.injection.blockpage';
  if (addresses.some(isBogon)) return 'dns.injection.bogon';
  return 'dns.injection.other';
}

/** A TCP connect failure while the control connects. */
export function tcpMechanism(failure: string): Mechanism {
  switch (failure) {
    case 'generic_timeout_error':
      return 'tcp.timeout';
    case 'connection_refused':
      return 'tcp.refused';
    case 'host_unreachable':
    case 'network_unreachable':
      return 'ip.unreachable';
    default:
      // reset, aborted and unclassified connect errors: the connection was torn down.
      return 'tcp.reset';
  }
}

/** A TLS handshake failure while the control completes it. */
export function tlsMechanism(failure: string): Mechanism {
  switch (failure) {
    case 'connection_reset':
      return 'tls.reset.sni';
    case 'generic_timeout_error':
      return 'tls.timeout';
    case 'ssl_unknown_authority':
      return 'tls.mitm.self_signed';
    case 'ssl_invalid_hostname':
    case 'ssl_invalid_certificate':
      return 'tls.mitm.ca_signed';
    default:
      // eof, failed handshake (injected alert) and the rest: closed during the handshake.
      return 'tls.reset.other';
  }
}

/** An HTTP round-trip failure the control did not see. */
export function httpMechanism(failure: string, https: boolean): Mechanism {
  if (failure === 'generic_timeout_error') return 'http.timeout';
  // Over plain HTTP a teardown right after the request is triggered by its Host header; a spoofed
  // FIN (eof) is the same technique as a spoofed RST.
  if (!https && (failure === 'connection_reset' || failure === 'eof_error')) return 'http.reset.host';
  return 'http.error';
}

/** The label for a failed endpoint attempt, by the stage that failed. */
export function endpointMechanism(e: EndpointObservation): Mechanism | null {
  if (e.failure === null) return null;
  switch (e.stage) {
    case 'tcp':
      return tcpMechanism(e.failure);
    case 'tls':
      return tlsMechanism(e.failure);
    case 'http':
      return httpMechanism(e.failure, isHTTPS(e.http?.request.url ?? ''));
  }
}
