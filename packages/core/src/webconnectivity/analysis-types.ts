import type {
  ControlResponse,
  DNSQuery,
  HTTPTransaction,
  TCPConnectResult,
  TLSHandshake,
  WebConnectivityTestKeys,
} from '../measurement.js';

/**
 * What the Web Connectivity analysis reads: the raw observations of one measurement, exactly as
 * they appear in OONI-format test keys. Works on our own measurements and on OONI's alike.
 */
export interface WebConnectivityObservations {
  /** The measured URL. */
  input: string;
  queries: DNSQuery[] | null;
  tcp_connect: TCPConnectResult[] | null;
  tls_handshakes: TLSHandshake[] | null;
  /** Newest first (index 0 is the final request), as in OONI's format. */
  requests: HTTPTransaction[] | null;
  control: ControlResponse | null;
  control_failure: string | null;
}

/** The verdict keys the analysis produces; they go into the measurement's test keys as is. */
export type WebConnectivityAnalysis = Pick<
  WebConnectivityTestKeys,
  | 'dns_experiment_failure'
  | 'dns_consistency'
  | 'http_experiment_failure'
  | 'body_length_match'
  | 'body_proportion'
  | 'headers_match'
  | 'status_code_match'
  | 'title_match'
  | 'blocking'
  | 'accessible'
  | 'x_mechanism'
  | 'x_blocking_fingerprints'
  | 'x_confirmed'
>;
