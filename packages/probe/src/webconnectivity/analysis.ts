/**
 * The verdict comes from core's analysis, which works on OONI-format observations alone. If it
 * fails (a bug), the measurement still carries its observations and the failures we saw.
 */
import {
  analyzeWebConnectivity,
  type FingerprintSet,
  type WebConnectivityAnalysis,
  type WebConnectivityObservations,
} from '@pharos/core';

export function analyze(
  observations: WebConnectivityObservations,
  seen: { dnsFailure: string | null; httpFailure: string | null },
  fingerprints?: FingerprintSet,
): WebConnectivityAnalysis {
  try {
    return analyzeWebConnectivity(observations, fingerprints);
  } catch {
    return {
      dns_experiment_failure: seen.dnsFailure,
      dns_consistency: null,
      http_experiment_failure: seen.httpFailure,
      body_length_match: null,
      body_proportion: 0,
      headers_match: null,
      status_code_match: null,
      title_match: null,
      blocking: null,
      accessible: null,
      x_mechanism: null,
      x_blocking_fingerprints: [],
      x_confirmed: false,
    };
  }
}
