import { type FingerprintSet, matchDNSFingerprints, matchHTTPFingerprints } from '../fingerprints.js';
import type { HTTPResponse } from '../measurement.js';
import { asText } from './bytes.js';
import type { AnalysisContext } from './context.js';
import { answerAddresses, isHTTPS } from './observations.js';

/** Which fingerprints one measurement matched, and where. */
export interface FingerprintEvidence {
  /** Names of all matched fingerprints, DNS first, without duplicates. */
  names: string[];
  /** Probe DNS answers that are known blockpage/sinkhole addresses. */
  dnsAddresses: Set<string>;
  /** A plain-HTTP response matched a blockpage body or header. */
  http: boolean;
}

export const NO_FINGERPRINTS: FingerprintEvidence = { names: [], dnsAddresses: new Set(), http: false };

function headerPairs(response: HTTPResponse): [string, string][] {
  if (response.headers_list && response.headers_list.length > 0) {
    return response.headers_list.map(([name, value]) => [name, asText(value)]);
  }
  return Object.entries(response.headers ?? {}).map(([name, value]) => [name, asText(value)]);
}

export function findFingerprints(ctx: AnalysisContext, set: FingerprintSet): FingerprintEvidence {
  const names = new Set<string>();
  const dnsAddresses = new Set<string>();

  // Every resolver's answers count (an injected reply may reach UDP lookups too), but not an
  // address the control also resolved: then it is the site's real record (a site may really
  // publish 127.0.0.1, which OONI lists as a "vague" sinkhole address).
  const addresses = new Set((ctx.obs.queries ?? []).flatMap(answerAddresses));
  for (const ip of addresses) {
    if (ctx.control !== null && ctx.controlAddrs.includes(ip)) continue;
    const matched = matchDNSFingerprints(set, [ip]);
    if (matched.length > 0) dnsAddresses.add(ip);
    for (const fp of matched) names.add(fp.name);
  }

  // The final response and the redirect hops before it: `header.location` fingerprints describe a
  // redirect to a blockpage, which only a hop can show. Only plain HTTP counts: a response that
  // came over verified TLS was served by the site itself (a server-side block is not censorship).
  let http = false;
  for (const transaction of ctx.obs.requests ?? []) {
    const response = transaction.response;
    if (!response || response.code <= 0 || isHTTPS(transaction.request.url)) continue;
    const matched = matchHTTPFingerprints(set, {
      body: asText(response.body),
      headers: headerPairs(response),
    });
    if (matched.length > 0) http = true;
    for (const fp of matched) names.add(fp.name);
  }
  return { names: [...names], dnsAddresses, http };
}
