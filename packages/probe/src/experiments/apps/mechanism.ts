/**
 * Mechanism labels (core's taxonomy, mechanism.ts) for a failed endpoint, from the operation that
 * failed and its failure string: the same reading Web Connectivity gives its failures
 * (core/src/webconnectivity/mechanism-label.ts), for endpoints that are not web pages.
 */
import { dnsFailureMechanism, httpMechanism, type Mechanism, tcpMechanism, tlsMechanism } from '@pharos/core';

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
      // Two findings only endpoint checks make: a bogon answer, and one outside the owner's ASN.
      if (failure === 'dns_bogon_error') return 'dns.injection.bogon';
      if (failure.startsWith('unknown_failure: answer outside')) return 'dns.injection.other';
      return dnsFailureMechanism(failure);
    case 'connect':
      return tcpMechanism(failure);
    case 'tls_handshake':
      return tlsMechanism(failure);
    case 'http_round_trip':
      return httpMechanism(failure, https);
  }
}
