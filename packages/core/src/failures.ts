/**
 * OONI's failure strings (ooni/spec data-formats/df-007-errors.md) and their mapping from the
 * errors Node.js raises. The mapping is data only (error codes are strings), so it runs anywhere.
 */
export const FAILURES = [
  'android_dns_cache_no_data',
  'connection_aborted',
  'connection_already_closed',
  'connection_refused',
  'connection_reset',
  'dns_bogon_error',
  'dns_no_answer',
  'dns_non_recoverable_failure',
  'dns_nxdomain_error',
  'dns_reply_with_wrong_query_id',
  'dns_refused_error',
  'dns_server_misbehaving',
  'dns_servfail_error',
  'dns_temporary_failure',
  'eof_error',
  'generic_timeout_error',
  'host_unreachable',
  'http_invalid_redirect_location_host',
  'http_request_failed',
  'http_unexpected_redirect_url',
  'http_unexpected_status_code',
  'interrupted',
  'json_parse_error',
  'network_down',
  'network_reset',
  'network_unreachable',
  'quic_incompatible_version',
  'ssl_failed_handshake',
  'ssl_invalid_certificate',
  'ssl_invalid_hostname',
  'ssl_unknown_authority',
] as const;

export type KnownFailure = (typeof FAILURES)[number];

/** Node's `err.code` → OONI failure string. */
const BY_CODE: Record<string, KnownFailure> = {
  ECONNREFUSED: 'connection_refused',
  ECONNRESET: 'connection_reset',
  ECONNABORTED: 'connection_aborted',
  EPIPE: 'connection_reset',
  ETIMEDOUT: 'generic_timeout_error',
  ESOCKETTIMEDOUT: 'generic_timeout_error',
  ABORT_ERR: 'generic_timeout_error',
  UND_ERR_CONNECT_TIMEOUT: 'generic_timeout_error',
  UND_ERR_HEADERS_TIMEOUT: 'generic_timeout_error',
  UND_ERR_BODY_TIMEOUT: 'generic_timeout_error',
  UND_ERR_SOCKET: 'connection_reset',
  EHOSTUNREACH: 'host_unreachable',
  EHOSTDOWN: 'host_unreachable',
  ENETUNREACH: 'network_unreachable',
  ENETDOWN: 'network_down',
  ENETRESET: 'network_reset',
  EINTR: 'interrupted',
  // DNS (node:dns codes from c-ares and getaddrinfo)
  ENOTFOUND: 'dns_nxdomain_error',
  ENODATA: 'dns_no_answer',
  ESERVFAIL: 'dns_servfail_error',
  EREFUSED: 'dns_refused_error',
  EAI_AGAIN: 'dns_temporary_failure',
  EAI_FAIL: 'dns_non_recoverable_failure',
  EAI_NONAME: 'dns_nxdomain_error',
  EAI_NODATA: 'dns_no_answer',
  EBADRESP: 'dns_server_misbehaving',
  EFORMERR: 'dns_server_misbehaving',
  ECONNREFUSED_DNS: 'dns_refused_error',
  // TLS certificate validation (OpenSSL verify codes as Node reports them)
  CERT_HAS_EXPIRED: 'ssl_invalid_certificate',
  CERT_NOT_YET_VALID: 'ssl_invalid_certificate',
  CERT_REVOKED: 'ssl_invalid_certificate',
  CERT_SIGNATURE_FAILURE: 'ssl_invalid_certificate',
  CERT_UNTRUSTED: 'ssl_invalid_certificate',
  CERT_REJECTED: 'ssl_invalid_certificate',
  INVALID_CA: 'ssl_invalid_certificate',
  INVALID_PURPOSE: 'ssl_invalid_certificate',
  ERR_TLS_CERT_ALTNAME_INVALID: 'ssl_invalid_hostname',
  HOSTNAME_MISMATCH: 'ssl_invalid_hostname',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'ssl_unknown_authority',
  SELF_SIGNED_CERT_IN_CHAIN: 'ssl_unknown_authority',
  UNABLE_TO_GET_ISSUER_CERT: 'ssl_unknown_authority',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'ssl_unknown_authority',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'ssl_unknown_authority',
  ERR_SSL_WRONG_VERSION_NUMBER: 'ssl_failed_handshake',
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: 'ssl_failed_handshake',
  ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: 'ssl_failed_handshake',
  ERR_SSL_UNSUPPORTED_PROTOCOL: 'ssl_failed_handshake',
  ERR_SSL_PACKET_LENGTH_TOO_LONG: 'ssl_failed_handshake',
  ERR_SSL_TLSV1_UNRECOGNIZED_NAME: 'ssl_failed_handshake',
};

/** The shape of errors Node raises; anything else is mapped by message. */
interface ErrorLike {
  code?: unknown;
  name?: unknown;
  message?: unknown;
}

/**
 * Map an error raised while measuring to OONI's failure string. Unknown errors become
 * `unknown_failure: <message>` so nothing is lost and nothing is guessed.
 */
export function failureFromError(err: unknown): string {
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as ErrorLike;
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code && BY_CODE[code]) return BY_CODE[code];
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'generic_timeout_error';
  const message = typeof e.message === 'string' ? e.message : String(err);
  // A peer that closes the connection mid-handshake or mid-response: OONI's eof_error.
  if (
    /socket disconnected before secure TLS connection|socket hang up|premature close|other side closed/i.test(
      message,
    )
  ) {
    return 'eof_error';
  }
  if (/timed? ?out/i.test(message)) return 'generic_timeout_error';
  return `unknown_failure: ${message}`;
}

/** DNS failures that mean "this name does not exist" (OONI treats them alike). */
export function isNXDomain(failure: string | null | undefined): boolean {
  return failure === 'dns_nxdomain_error' || failure === 'android_dns_cache_no_data';
}
