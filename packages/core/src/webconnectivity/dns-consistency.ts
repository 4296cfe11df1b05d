import type { AnalysisContext } from './context.js';
import type { DNSObservation } from './observations.js';

/**
 * DNS consistency as OONI Web Connectivity v0.5's classic verdict computes it (research/ooni.md
 * §2.2): only the system resolver's lookups for the first URL are judged, and an answer is valid
 * when it shares an address or a (known, non-zero) ASN with the test helper's answer. Pharos adds
 * fix (a): an address that completed a verified TLS handshake for the host is valid too.
 */

export type DNSConsistency = 'consistent' | 'inconsistent' | null;

export interface DNSAssessment {
  dns_consistency: DNSConsistency;
  /** The first failure of a judged lookup (OONI's dns_experiment_failure). */
  dns_experiment_failure: string | null;
  /** Judged answers that share nothing with the control and were not TLS-validated. */
  invalidAddresses: string[];
  /** A judged lookup failed while the test helper resolved the name. */
  unexpectedFailure: string | null;
}

/**
 * A missing AAAA record says nothing about censorship (many sites have no IPv6), so such a
 * failure is left out of the bookkeeping, as OONI does.
 */
export function isIgnoredFailure(lookup: DNSObservation): boolean {
  return lookup.queryType === 'AAAA' && lookup.failure === 'dns_no_answer';
}

/**
 * Is this a lookup of the measured URL's own host, the only name the control resolved? A probe
 * may record other lookups at depth 0 (its test helper, say); judging those against the control
 * would turn an unrelated name into a DNS verdict.
 */
export function isFirstURLLookup(ctx: AnalysisContext, lookup: DNSObservation): boolean {
  return lookup.depth === 0 && lookup.hostname === ctx.host;
}

/** The lookups the classic verdict judges: system resolver, first URL, not an ignorable failure. */
export function judgedLookups(ctx: AnalysisContext): DNSObservation[] {
  return ctx.regrouped.dns.filter((d) => d.classic && isFirstURLLookup(ctx, d) && !isIgnoredFailure(d));
}

/** Is this probe address vouched for by the control (same IP or same ASN) or by a valid TLS handshake? */
export function isValidAddress(ctx: AnalysisContext, ip: string): boolean {
  if (ctx.tlsValidated.has(ip)) return true;
  if (ctx.controlAddrs.includes(ip)) return true;
  const asn = ctx.asnOf(ip);
  return asn !== 0 && ctx.controlAddrs.some((c) => ctx.asnOf(c) === asn);
}

export function assessDNS(ctx: AnalysisContext): DNSAssessment {
  const lookups = judgedLookups(ctx);
  const dns_experiment_failure = lookups.find((l) => l.failure !== null)?.failure ?? null;
  const none: DNSAssessment = {
    dns_consistency: null,
    dns_experiment_failure,
    invalidAddresses: [],
    unexpectedFailure: null,
  };
  // An IP-literal URL involves no lookup, so there is nothing to judge: v0.5 leaves it null (v0.4
  // said "consistent"; OONI's 0.5.28 measurement of https://8.8.4.4/ shows null).
  if (ctx.hostIsIP || ctx.control === null) return none;

  let valid = 0;
  let expectedFailures = 0;
  let resolvedWhileControlEmpty = false;
  const invalidAddresses: string[] = [];
  let unexpectedFailure: string | null = null;
  for (const lookup of lookups) {
    // A successful lookup without addresses (e.g. only a CNAME) is a "no answer" in effect.
    const failure = lookup.failure ?? (lookup.addresses.length === 0 ? 'dns_no_answer' : null);
    if (failure !== null) {
      // The site has no addresses for the control either: the failure is expected, not censorship.
      if (ctx.controlAddrs.length === 0) expectedFailures++;
      else unexpectedFailure ??= failure;
      continue;
    }
    if (ctx.controlAddrs.length === 0) {
      // The probe resolved a name the control could not: the classic ghost-domain injection.
      resolvedWhileControlEmpty = true;
      invalidAddresses.push(...lookup.addresses);
      continue;
    }
    const ok = lookup.addresses.some((ip) => isValidAddress(ctx, ip));
    if (ok) valid++;
    else invalidAddresses.push(...lookup.addresses);
  }

  let dns_consistency: DNSConsistency = null;
  if (invalidAddresses.length > 0 || unexpectedFailure !== null || resolvedWhileControlEmpty) {
    dns_consistency = 'inconsistent';
  } else if (valid > 0 || expectedFailures > 0) {
    dns_consistency = 'consistent';
  }
  return { dns_consistency, dns_experiment_failure, invalidAddresses, unexpectedFailure };
}
