import type {
  Blocking,
  ControlResponse,
  DNSQuery,
  HTTPTransaction,
  TCPConnectResult,
  TLSHandshake,
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
export interface WebConnectivityAnalysis {
  dns_experiment_failure: string | null;
  dns_consistency: 'consistent' | 'inconsistent' | null;
  http_experiment_failure: string | null;
  body_length_match: boolean | null;
  body_proportion: number;
  headers_match: boolean | null;
  status_code_match: boolean | null;
  title_match: boolean | null;
  blocking: Blocking;
  accessible: boolean | null;
  x_mechanism: string | null;
  x_blocking_fingerprints: string[];
  x_confirmed: boolean;
}
