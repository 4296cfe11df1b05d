import type { FingerprintSet } from '../fingerprints.js';
import { isBogon } from '../ip.js';
import type { Blocking } from '../measurement.js';
import type { Mechanism } from '../mechanism.js';
import type { WebConnectivityAnalysis, WebConnectivityObservations } from './analysis-types.js';
import { classicWalk, type WalkResult } from './classic-walk.js';
import { type AnalysisContext, buildContext } from './context.js';
import { assessDNS, type DNSAssessment } from './dns-consistency.js';
import { type FingerprintEvidence, findFingerprints, NO_FINGERPRINTS } from './fingerprint-match.js';
import { dnsAnswerMechanism, dnsFailureMechanism, endpointMechanism } from './mechanism-label.js';

/**
 * The Web Connectivity verdict: OONI v0.5's classic engine (so `blocking`/`accessible` compare with
 * OONI's), plus Pharos's rules: (a) TLS-validated answers are consistent (dns-consistency.ts),
 * (b) a failure the control shares on the site itself is "website down" even with inconsistent
 * DNS, and a full outage is `network.down` rather than a site verdict.
 */

/** Pharos: the probe got nothing at all, from any resolver or server. */
function nothingSucceeded(obs: WebConnectivityObservations): boolean {
  const dns = (obs.queries ?? []).some((q) => q.failure === null);
  const tcp = (obs.tcp_connect ?? []).some((t) => t.status.success);
  const tls = (obs.tls_handshakes ?? []).some((t) => t.failure === null);
  const http = (obs.requests ?? []).some((r) => r.response !== null && r.response.code > 0);
  return !(dns || tcp || tls || http);
}

interface Verdict {
  blocking: Blocking;
  accessible: boolean | null;
  /** The verdict is `dns` because the DNS answers were inconsistent, whatever the walk found. */
  dnsRelabelled: boolean;
}

function decide(walk: WalkResult, dns: DNSAssessment): Verdict {
  const inconsistent = dns.dns_consistency === 'inconsistent';
  const outcome = walk.outcome;
  switch (outcome.kind) {
    case 'accessible':
      // Fetched and looks right: an odd DNS answer (e.g. a faithful transparent proxy) did not block it.
      return { blocking: false, accessible: true, dnsRelabelled: false };
    case 'blocked':
      // With inconsistent DNS, OONI attributes any downstream failure or diff to the DNS answer.
      if (inconsistent)
        return { blocking: 'dns', accessible: false, dnsRelabelled: outcome.blocking !== 'dns' };
      return { blocking: outcome.blocking, accessible: false, dnsRelabelled: false };
    case 'down':
      // Fix (b): when the control failed on the site itself (its own fetch, its own lookup, an
      // address it vouches for), the site is down for everyone, whatever the probe's resolver said.
      // Only a failure on an address nothing vouches for keeps OONI's relabelling to `dns`.
      if (inconsistent && !outcome.siteLevel)
        return { blocking: 'dns', accessible: false, dnsRelabelled: true };
      return { blocking: false, accessible: false, dnsRelabelled: false };
    case 'unknown':
      if (inconsistent) return { blocking: 'dns', accessible: false, dnsRelabelled: true };
      return { blocking: null, accessible: null, dnsRelabelled: false };
  }
}

function dnsMechanism(dns: DNSAssessment, fp: FingerprintEvidence): Mechanism {
  if (dns.unexpectedFailure !== null) return dnsFailureMechanism(dns.unexpectedFailure);
  return dnsAnswerMechanism(dns.invalidAddresses, fp.dnsAddresses);
}

function mechanismFor(verdict: Verdict, walk: WalkResult, dns: DNSAssessment, fp: FingerprintEvidence) {
  const { blocking } = verdict;
  if (blocking === false || blocking === null) return null;
  if (blocking === 'http-diff') return 'http.blockpage';
  const by = walk.decidedBy;
  if (blocking === 'dns') {
    if (verdict.dnsRelabelled || dns.dns_consistency === 'inconsistent' || by === null)
      return dnsMechanism(dns, fp);
    // DNS decided on its own, e.g. NXDOMAIN for a redirect target the control never resolved.
    if (by.kind === 'dns') {
      return by.failure !== null
        ? dnsFailureMechanism(by.failure)
        : dnsAnswerMechanism(by.addresses, fp.dnsAddresses);
    }
    return dnsMechanism(dns, fp);
  }
  // tcp_ip and http-failure come from a failed endpoint attempt.
  return by?.kind === 'endpoint' ? endpointMechanism(by) : 'http.error';
}

function analyze(ctx: AnalysisContext, fingerprints: FingerprintSet | undefined): WebConnectivityAnalysis {
  const dns = assessDNS(ctx);
  const walk = classicWalk(ctx);
  const fp = fingerprints ? findFingerprints(ctx, fingerprints) : NO_FINGERPRINTS;
  const diff = walk.diff;
  const base = {
    dns_experiment_failure: dns.dns_experiment_failure,
    dns_consistency: dns.dns_consistency,
    http_experiment_failure: walk.failure,
    body_length_match: diff?.body_length_match ?? null,
    body_proportion: diff?.body_proportion ?? 0,
    headers_match: diff?.headers_match ?? null,
    status_code_match: diff?.status_code_match ?? null,
    title_match: diff?.title_match ?? null,
    x_blocking_fingerprints: fp.names,
    x_confirmed: fp.names.length > 0,
  };

  // Pharos: the control failed and the probe got nothing from anywhere: the network is down.
  // Blaming the site (or calling it down) would turn a shutdown into thousands of site verdicts.
  if (ctx.obs.control_failure !== null && nothingSucceeded(ctx.obs)) {
    return { ...base, blocking: null, accessible: null, x_mechanism: 'network.down' };
  }

  const verdict = decide(walk, dns);
  let mechanism: string | null = mechanismFor(verdict, walk, dns, fp);
  // A known blockpage server in any resolver's answer (say, a spoofed UDP reply) identifies the
  // injection even when the system resolver's own odd answer is not in the fingerprint list.
  if (mechanism === 'dns.injection.other' && [...fp.dnsAddresses].some((ip) => !isBogon(ip))) {
    mechanism = 'dns.injection.blockpage';
  }
  return { ...base, blocking: verdict.blocking, accessible: verdict.accessible, x_mechanism: mechanism };
}

/**
 * Analyse one Web Connectivity measurement. `fingerprints` (optional) adds blockpage matching:
 * matched names go to `x_blocking_fingerprints` and set `x_confirmed`.
 */
export function analyzeWebConnectivity(
  obs: WebConnectivityObservations,
  fingerprints?: FingerprintSet,
): WebConnectivityAnalysis {
  return analyze(buildContext(obs), fingerprints);
}
