/**
 * The measurement model: OONI data format 0.2.0 (ooni/spec data-formats df-000 … df-008).
 *
 * Field names are OONI's on purpose: measurements we write can be read by OONI's tools and
 * OONI's can be read by ours. Our own additions use the `x_` prefix, OONI's convention for
 * experimental keys. Consumers must tolerate null or missing fields, so most are nullable.
 */

/** One of OONI's failure strings (df-007-errors), or `unknown_failure: <details>`. */
export type Failure = string;

export interface Envelope<TestKeys> {
  annotations: Record<string, string>;
  data_format_version: '0.2.0';
  extensions: Record<string, number>;
  input: string | null;
  /** "YYYY-MM-DD hh:mm:ss" in UTC, when this input's measurement started. */
  measurement_start_time: string;
  options: string[];
  /** "AS1234"; "AS0" when withheld. */
  probe_asn: string;
  /** ISO 3166-1 alpha-2; "ZZ" when withheld. */
  probe_cc: string;
  /** Always "127.0.0.1" in anything that leaves the probe: never a volunteer's address. */
  probe_ip: '127.0.0.1';
  probe_network_name: string | null;
  report_id: string;
  resolver_asn: string;
  resolver_ip: string;
  resolver_network_name: string | null;
  software_name: string;
  software_version: string;
  test_helpers: { backend?: { address: string; type: string } } | null;
  test_keys: TestKeys;
  test_name: string;
  /** Seconds this input took. */
  test_runtime: number;
  /** "YYYY-MM-DD hh:mm:ss" in UTC, when the run (all inputs) started. */
  test_start_time: string;
  test_version: string;
}

/** df-002-dnst: one answer record. */
export interface DNSAnswer {
  answer_type: 'A' | 'AAAA' | 'CNAME';
  ipv4?: string;
  ipv6?: string;
  hostname?: string;
  asn?: number;
  as_org_name?: string;
  ttl: number | null;
}

/** df-002-dnst: one lookup. `engine` is getaddrinfo (system), udp, doh … */
export interface DNSQuery {
  answers: DNSAnswer[] | null;
  engine: 'getaddrinfo' | 'udp' | 'tcp' | 'doh' | 'dot' | 'system' | string;
  failure: Failure | null;
  hostname: string;
  query_type: 'A' | 'AAAA' | 'ANY' | string;
  resolver_address: string;
  resolver_hostname?: string | null;
  resolver_port?: string | null;
  t0?: number;
  t: number;
  tags?: string[] | null;
  transaction_id?: number;
  /** Response bytes, base64, for udp and doh lookups. */
  raw_response?: string;
  rcode?: number;
}

/** df-005-tcpconnect. */
export interface TCPConnectResult {
  ip: string;
  port: number;
  status: { success: boolean; failure: Failure | null; blocked?: boolean | null };
  t0?: number;
  t: number;
  tags?: string[] | null;
  transaction_id?: number;
}

/** df-006-tlshandshake. */
export interface TLSHandshake {
  network: string;
  address: string;
  server_name: string;
  cipher_suite: string;
  failure: Failure | null;
  negotiated_protocol: string;
  no_tls_verify: boolean;
  /** base64 DER, leaf first. */
  peer_certificates: { format: 'base64'; data: string }[] | null;
  tls_version: string;
  t0?: number;
  t: number;
  tags?: string[] | null;
  transaction_id?: number;
}

/** Bodies and header values that are not valid UTF-8 are carried as base64. */
export type MaybeBinary = string | { format: 'base64'; data: string };

export interface HTTPRequest {
  url: string;
  method: string;
  headers: Record<string, MaybeBinary>;
  headers_list?: [string, MaybeBinary][];
  body: MaybeBinary;
  body_is_truncated: boolean;
  x_transport?: string;
}

export interface HTTPResponse {
  code: number;
  headers: Record<string, MaybeBinary>;
  headers_list?: [string, MaybeBinary][];
  body: MaybeBinary | null;
  body_is_truncated: boolean;
}

/** df-001-httpt: one HTTP round trip. In `requests`, index 0 is the final (newest) one. */
export interface HTTPTransaction {
  network?: string;
  address?: string;
  alpn?: string;
  failure: Failure | null;
  request: HTTPRequest;
  response: HTTPResponse | null;
  t0?: number;
  t: number;
  tags?: string[] | null;
  transaction_id?: number;
}

/** df-008-netevents. */
export interface NetworkEvent {
  address?: string;
  failure: Failure | null;
  num_bytes?: number;
  operation: string;
  proto?: string;
  t0?: number;
  t: number;
  tags?: string[] | null;
  transaction_id?: number;
}

/** OONI's test-helper request (oohelperd). */
export interface ControlRequest {
  http_request: string;
  http_request_headers: Record<string, string[]>;
  tcp_connect: string[];
  x_quic_enabled?: boolean;
}

/** OONI's test-helper response (oohelperd). Missing parts are tolerated by readers. */
export interface ControlResponse {
  tcp_connect: Record<string, { status: boolean; failure: Failure | null }>;
  tls_handshake?: Record<string, { server_name: string; status: boolean; failure: Failure | null }>;
  quic_handshake?: Record<string, unknown>;
  http_request: {
    body_length: number;
    discovered_h3_endpoint?: string;
    failure: Failure | null;
    title: string;
    headers: Record<string, string>;
    status_code: number;
  };
  http3_request?: unknown;
  dns: { failure: Failure | null; addrs: string[] };
  ip_info?: Record<string, { asn: number; flags: number }>;
}

/** Values of Web Connectivity's `blocking` key. */
export type Blocking = false | 'dns' | 'tcp_ip' | 'http-failure' | 'http-diff' | null;

export interface WebConnectivityTestKeys {
  agent: 'redirect';
  client_resolver: string | null;
  retries: null;
  socksproxy: null;
  network_events: NetworkEvent[] | null;
  queries: DNSQuery[] | null;
  requests: HTTPTransaction[] | null;
  tcp_connect: TCPConnectResult[] | null;
  tls_handshakes: TLSHandshake[] | null;
  x_control_request: ControlRequest | null;
  control: ControlResponse | null;
  control_failure: Failure | null;
  dns_experiment_failure: Failure | null;
  dns_consistency: 'consistent' | 'inconsistent' | null;
  http_experiment_failure: Failure | null;
  body_length_match: boolean | null;
  body_proportion: number;
  headers_match: boolean | null;
  status_code_match: boolean | null;
  title_match: boolean | null;
  blocking: Blocking;
  accessible: boolean | null;
  /** Our addition: the mechanism label (see mechanism.ts), null when nothing was interfered with. */
  x_mechanism: string | null;
  /** Our addition: the blockpage fingerprints that matched; a match makes the result confirmed. */
  x_blocking_fingerprints: string[];
  /** Our addition: true when a known blockpage fingerprint matched (OONI's `confirmed`). */
  x_confirmed: boolean;
  /** Our addition: bytes this input cost the volunteer (sent, received), all operations. */
  x_bytes_sent: number;
  x_bytes_received: number;
}

export type WebConnectivityMeasurement = Envelope<WebConnectivityTestKeys>;

/** OONI's timestamp format: "YYYY-MM-DD hh:mm:ss" in UTC. */
export function ooniTimestamp(date: Date): string {
  return date.toISOString().slice(0, 19).replace('T', ' ');
}
