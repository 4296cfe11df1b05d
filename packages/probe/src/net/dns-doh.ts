/**
 * DNS over HTTPS (RFC 8484): an A and an AAAA query POSTed as application/dns-message, as two
 * df-002 entries with engine `doh`. The HTTPS transport is auxiliary traffic: its bytes count,
 * its connections are not part of the experiment's observations.
 */

import { dialURL } from './dial.js';
import { type DecodedResponse, decodeResponse, encodeQuery, QUERY_TYPES, wireQuery } from './dns-message.js';
import { DEFAULT_DNS_TIMEOUT_MS, type LookupOptions, type LookupResult } from './dns-system.js';
import { httpRoundTrip } from './http.js';

export interface DoHOptions extends LookupOptions {
  extraCA?: string[];
}

/** DNS messages are at most 64 KiB. */
const MAX_DNS_MESSAGE = 65_535;

export async function lookupDoH(
  hostname: string,
  dohURL: string,
  options: DoHOptions,
): Promise<LookupResult> {
  const { trace } = options;
  const tags = [...(options.tags ?? [])];
  const transactionId = trace.nextTransactionId();
  const timeoutMs = options.timeoutMs ?? DEFAULT_DNS_TIMEOUT_MS;
  const results = await Promise.all(
    QUERY_TYPES.map(async (type) => {
      const t0 = trace.elapsed();
      // One budget for the whole query (resolve, connect, handshake, exchange), like a lookup.
      const budget = AbortSignal.timeout(timeoutMs);
      const signal = options.signal ? AbortSignal.any([options.signal, budget]) : budget;
      let outcome = await queryOnce(hostname, type, dohURL, { ...options, signal }, timeoutMs);
      if (budget.aborted && outcome.failure === 'interrupted') outcome = { failure: 'generic_timeout_error' };
      return {
        outcome,
        query: wireQuery({
          engine: 'doh',
          hostname,
          query_type: type,
          resolver_address: dohURL,
          t0,
          t: trace.elapsed(),
          transaction_id: transactionId,
          tags: [...tags],
          ...outcome,
          failure: outcome.failure ?? outcome.decoded?.failure ?? null,
        }),
      };
    }),
  ).then((done) => {
    // Recorded A then AAAA whichever answered first, so measurements read the same every time.
    for (const { query } of done) trace.queries.push(query);
    return done.map((d) => d.outcome);
  });
  const addresses = results.flatMap((r) => r.decoded?.addresses ?? []);
  if (addresses.length > 0) return { addresses, failure: null };
  const first = results[0];
  return { addresses: [], failure: first?.failure ?? first?.decoded?.failure ?? 'dns_no_answer' };
}

async function queryOnce(
  hostname: string,
  type: 'A' | 'AAAA',
  dohURL: string,
  options: DoHOptions,
  timeoutMs: number,
): Promise<{ response?: Buffer; decoded?: DecodedResponse; failure: string | null }> {
  let url: URL;
  try {
    url = new URL(dohURL);
  } catch {
    return { failure: `unknown_failure: DoH URL ${dohURL} is not a URL` };
  }
  // The DoH server's own name goes through the system resolver; that lookup is not the
  // experiment's, so it is recorded in a sidecar trace.
  const sidecar = options.trace.sidecar();
  const dialed = await dialURL(url, {
    trace: sidecar,
    signal: options.signal,
    extraCA: options.extraCA,
    timeouts: { dns: timeoutMs, connect: timeoutMs, tls: timeoutMs },
  });
  if (!dialed.connection) return { failure: dialed.failure };
  const rt = await httpRoundTrip(dialed.connection, {
    url,
    method: 'POST',
    headers: [
      ['Content-Type', 'application/dns-message'],
      ['Accept', 'application/dns-message'],
    ],
    // RFC 8484 §4.1: id 0 makes responses cacheable.
    body: encodeQuery(hostname, type, 0),
    maxBodyBytes: MAX_DNS_MESSAGE,
    timeoutMs,
    signal: options.signal,
  });
  if (rt.failure !== null) return { failure: rt.failure };
  if (rt.response?.status !== 200) return { failure: 'http_request_failed' };
  try {
    return { response: rt.response.body, decoded: decodeResponse(rt.response.body, type), failure: null };
  } catch {
    return { response: rt.response.body, failure: 'dns_server_misbehaving' };
  }
}
