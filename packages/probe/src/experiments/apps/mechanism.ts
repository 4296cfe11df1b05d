/**
 * Mechanism labels (core's taxonomy, mechanism.ts) for a failed endpoint, from the operation that
 * failed and its failure string: the same reading Web Connectivity gives its failures
 * (core/src/webconnectivity/mechanism-label.ts), for endpoints that are not web pages.
 */
import type { Mechanism } from '@pharos/core';

/** OONI's names for the operation that failed. */
export type Operation = 'resolve' | 'connect' | 'tls_handshake' | 'http_round_trip';

const CERT_FAILURES = new Set(['ssl_unknown_authority', 'ssl_invalid_hostname', 'ssl_invalid_certificate']);

/** A certificate the client rejected: the server did answer the handshake. */
export function isCertificateFailure(failure: string | null | undefined): boolean {
  return failure !== null && failure !== undefined && CERT_FAILURES.has(failure);
}

export function failureMechanism(operation: Operation, failure: string, https: boolean): Mechanism {
  switch (operation) {
    case 'resolve':
      if (failure === 'dns_bogon_error') return 'dns.injection.bogon';
      if (failure.startsWith('unknown_failure: answer outside')) return 'dns.injection.other';
      if (
        failure === 'dns_nxdomain_error' ||
        failure === 'android_dns_cache_no_data' ||
        failure === 'dns_no_answer'
      )
        return 'dns.nxdomain';
      return failure === 'generic_timeout_error' ? 'dns.timeout' : 'dns.refused';
    case 'connect':
      if (failure === 'generic_timeout_error') return 'tcp.timeout';
      if (failure === 'connection_refused') return 'tcp.refused';
      if (failure === 'host_unreachable' || failure === 'network_unreachable') return 'ip.unreachable';
      return 'tcp.reset';
    case 'tls_handshake':
      if (failure === 'connection_reset') return 'tls.reset.sni';
      if (failure === 'generic_timeout_error') return 'tls.timeout';
      if (failure === 'ssl_unknown_authority') return 'tls.mitm.self_signed';
      if (failure === 'ssl_invalid_hostname' || failure === 'ssl_invalid_certificate')
        return 'tls.mitm.ca_signed';
      return 'tls.reset.other';
    case 'http_round_trip':
      if (failure === 'generic_timeout_error') return 'http.timeout';
      if (!https && (failure === 'connection_reset' || failure === 'eof_error')) return 'http.reset.host';
      return 'http.error';
  }
}
