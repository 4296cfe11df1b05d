/**
 * The test helper protocol's failure strings. OONI's helper reports some failures with the
 * words of its legacy predecessor, and probes (ours included) compare against those exact
 * strings, so we report them the same way.
 */

/** The helper's own DNS lookup. */
export function dnsFailure(failure: string | null): string | null {
  switch (failure) {
    case null:
      return null;
    case 'dns_nxdomain_error':
      return 'dns_name_error';
    case 'dns_no_answer':
      // The legacy helper answered "no addresses, no error" here.
      return null;
    case 'dns_non_recoverable_failure':
    case 'dns_refused_error':
    case 'dns_servfail_error':
    case 'dns_server_misbehaving':
    case 'dns_temporary_failure':
      return 'dns_server_failure';
    default:
      return 'unknown_error';
  }
}

/** A TCP connect to one endpoint. */
export function tcpFailure(failure: string | null): string | null {
  switch (failure) {
    case null:
      return null;
    case 'generic_timeout_error':
      return failure;
    case 'connection_refused':
      return 'connection_refused_error';
    default:
      return 'connect_error';
  }
}

/** The page fetch; `step` says which part of it failed. */
export function httpFailure(failure: string | null, step: string | null): string | null {
  if (failure === null) return null;
  if (step === 'resolve' && (failure === 'generic_timeout_error' || isDNSFailure(failure)))
    return 'dns_lookup_error';
  if (failure === 'generic_timeout_error') return failure;
  if (failure === 'connection_refused') return 'connection_refused_error';
  return 'unknown_error';
}

function isDNSFailure(failure: string): boolean {
  return failure.startsWith('dns_') && failure !== 'dns_bogon_error';
}
