/** Network failures in words a volunteer can act on, instead of errno names. */

const BY_CODE: Record<string, string> = {
  ECONNREFUSED: 'connection refused (nothing listens there, or a firewall refuses)',
  ECONNRESET: 'the connection was dropped',
  EPIPE: 'the connection was dropped',
  ETIMEDOUT: 'timed out (the network may be down or blocked)',
  EHOSTUNREACH: 'host unreachable (the network may be down or blocked)',
  ENETUNREACH: 'network unreachable (no route: the network may be down)',
  ENETDOWN: 'the network is down',
  ENOTFOUND: 'the name does not resolve (DNS)',
  EAI_AGAIN: 'the name could not be resolved now (DNS unavailable)',
  ABORT_ERR: 'stopped (out of time)',
  UND_ERR_SOCKET: 'the connection was dropped',
  DEPTH_ZERO_SELF_SIGNED_CERT:
    'TLS: the collector presents a self-signed certificate (trust it with --ca FILE)',
  SELF_SIGNED_CERT_IN_CHAIN:
    "TLS: the collector's certificate chain is not trusted (give its CA with --ca FILE)",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    "TLS: the collector's certificate is not trusted here (give its CA with --ca FILE)",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    "TLS: the collector's certificate is not trusted here (give its CA with --ca FILE)",
  CERT_HAS_EXPIRED: "TLS: the collector's certificate has expired (or this machine's clock is wrong)",
  ERR_TLS_CERT_ALTNAME_INVALID: "TLS: the collector's certificate is for another name",
};

export function describeNetworkError(err: unknown): string {
  const e = err as { code?: string; message?: string; name?: string } | null;
  const code = e?.code ?? (e?.name === 'AbortError' ? 'ABORT_ERR' : undefined);
  const known = code ? BY_CODE[code] : undefined;
  if (known) return known;
  if (e?.message === 'socket hang up') return 'the connection was dropped before the answer came';
  return e?.message ?? String(err);
}
