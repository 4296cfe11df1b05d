import { isIP } from '../ip.js';
import type { DNSQuery, HTTPTransaction, TCPConnectResult, TLSHandshake } from '../measurement.js';
import type { WebConnectivityObservations } from './analysis-types.js';

/**
 * The raw test keys regrouped into the two kinds of facts the v0.5 analysis reasons about (after
 * OONI's minipipeline, research/ooni.md §2.2–2.4): one DNS lookup, or one endpoint attempt that
 * merges the TCP connect, the TLS handshake and the HTTP round trip made over the same connection.
 */

export interface DNSObservation {
  kind: 'dns';
  depth: number;
  /** From the system resolver: the only lookups OONI's classic verdict judges. */
  classic: boolean;
  transactionId: number | null;
  /** Position in the measurement, the last tie-breaker so results never depend on sort stability. */
  order: number;
  hostname: string;
  queryType: string;
  failure: string | null;
  addresses: string[];
  query: DNSQuery;
}

export type EndpointStage = 'tcp' | 'tls' | 'http';

export interface EndpointObservation {
  kind: 'endpoint';
  depth: number;
  classic: boolean;
  transactionId: number | null;
  order: number;
  ip: string | null;
  port: number | null;
  /** "ip:port" or "[ipv6]:port", the key the test helper uses. */
  endpoint: string | null;
  tcp: TCPConnectResult | null;
  tls: TLSHandshake | null;
  http: HTTPTransaction | null;
  /** The stage that failed, or the deepest stage reached when nothing failed. */
  stage: EndpointStage;
  failure: string | null;
}

export type Observation = DNSObservation | EndpointObservation;

/** Redirect depth from a `depth=N` tag; absent means the first URL. */
export function depthOf(tags: readonly string[] | null | undefined): number {
  for (const tag of tags ?? []) {
    const match = /^depth=(\d+)$/.exec(tag);
    if (match) return Number(match[1]);
  }
  return 0;
}

export function hasTag(tags: readonly string[] | null | undefined, tag: string): boolean {
  return (tags ?? []).includes(tag);
}

/** The test helper's endpoint key; IPv6 literals are bracketed. */
export function endpointKey(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Split "ip:port" / "[ipv6]:port" into its parts, or null. */
export function splitEndpoint(address: string): { ip: string; port: number } | null {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
  if (!match) return null;
  return { ip: match[1]!, port: Number(match[2]) };
}

/** Lower-case, punycode host of a URL without IPv6 brackets; empty when the URL does not parse. */
export function hostOf(url: string): string {
  try {
    return new URL(url).hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  } catch {
    return '';
  }
}

/**
 * A DNS name as the URL parser spells it (lower-case punycode, no trailing dot), so a lookup can be
 * matched to the URL's host however the probe recorded it.
 */
export function normalizeHostname(name: string): string {
  const bare = name.replace(/\.$/, '');
  return hostOf(`http://${bare.includes(':') ? `[${bare}]` : bare}/`) || bare.toLowerCase();
}

export function isHTTPS(url: string): boolean {
  return url.toLowerCase().startsWith('https:');
}

/** Addresses in a lookup's answers (CNAME records carry none). */
export function answerAddresses(query: DNSQuery): string[] {
  const out: string[] = [];
  for (const answer of query.answers ?? []) {
    const ip = answer.ipv4 ?? answer.ipv6;
    if (ip) out.push(ip);
  }
  return out;
}

/** The system resolver: OONI's getaddrinfo engine, our `system`, or anything tagged `classic`. */
export function isClassicQuery(query: DNSQuery): boolean {
  return query.engine === 'getaddrinfo' || query.engine === 'system' || hasTag(query.tags, 'classic');
}

function stageOf(o: Pick<EndpointObservation, 'tcp' | 'tls' | 'http'>): {
  stage: EndpointStage;
  failure: string | null;
} {
  // The first failing stage explains the attempt; later stages cannot have run properly after it.
  if (o.tcp && !o.tcp.status.success)
    return { stage: 'tcp', failure: o.tcp.status.failure ?? 'unknown_failure' };
  if (o.tls?.failure) return { stage: 'tls', failure: o.tls.failure };
  if (o.http?.failure) return { stage: 'http', failure: o.http.failure };
  if (o.http) return { stage: 'http', failure: null };
  if (o.tls) return { stage: 'tls', failure: null };
  return { stage: 'tcp', failure: null };
}

/** Everything measured, regrouped; `classic` marks what OONI's classic verdict looks at. */
export interface Regrouped {
  dns: DNSObservation[];
  endpoints: EndpointObservation[];
}

export function regroup(obs: WebConnectivityObservations): Regrouped {
  let order = 0;
  const dns: DNSObservation[] = (obs.queries ?? []).map((query) => ({
    kind: 'dns',
    depth: depthOf(query.tags),
    classic: isClassicQuery(query),
    transactionId: query.transaction_id ?? null,
    order: order++,
    hostname: normalizeHostname(query.hostname),
    queryType: query.query_type,
    failure: query.failure,
    addresses: query.failure ? [] : answerAddresses(query),
    query,
  }));

  type Draft = Omit<EndpointObservation, 'stage' | 'failure' | 'classic'>;
  const drafts: Draft[] = [];
  const byTransaction = new Map<number, Draft>();

  // Attach a TLS handshake or HTTP round trip to the connection it ran over: by transaction id
  // when the probe recorded one, otherwise to the latest attempt on the same endpoint and depth
  // that does not have that stage yet.
  const attach = (
    transactionId: number | undefined,
    endpoint: string | null,
    depth: number,
    free: (d: Draft) => boolean,
  ): Draft | undefined => {
    if (transactionId !== undefined) return byTransaction.get(transactionId);
    if (endpoint === null) return undefined;
    for (let i = drafts.length - 1; i >= 0; i--) {
      const d = drafts[i]!;
      if (d.transactionId === null && d.endpoint === endpoint && d.depth === depth && free(d)) return d;
    }
    return undefined;
  };
  const create = (
    transactionId: number | undefined,
    ip: string | null,
    port: number | null,
    depth: number,
  ) => {
    const draft: Draft = {
      kind: 'endpoint',
      depth,
      transactionId: transactionId ?? null,
      order: order++,
      ip,
      port,
      endpoint: ip !== null && port !== null ? endpointKey(ip, port) : null,
      tcp: null,
      tls: null,
      http: null,
    };
    drafts.push(draft);
    if (transactionId !== undefined) byTransaction.set(transactionId, draft);
    return draft;
  };

  for (const tcp of obs.tcp_connect ?? []) {
    const depth = depthOf(tcp.tags);
    const draft =
      attach(tcp.transaction_id, null, depth, () => false) ??
      create(tcp.transaction_id, tcp.ip, tcp.port, depth);
    draft.tcp = tcp;
  }
  for (const tls of obs.tls_handshakes ?? []) {
    const depth = depthOf(tls.tags);
    const parts = splitEndpoint(tls.address);
    const endpoint = parts ? endpointKey(parts.ip, parts.port) : null;
    const draft =
      attach(tls.transaction_id, endpoint, depth, (d) => d.tls === null) ??
      create(tls.transaction_id, parts?.ip ?? null, parts?.port ?? null, depth);
    draft.tls = tls;
  }
  // Oldest first, so that redirect hops attach in the order they happened.
  for (const http of [...(obs.requests ?? [])].reverse()) {
    const depth = depthOf(http.tags);
    const parts = http.address ? splitEndpoint(http.address) : null;
    const endpoint = parts ? endpointKey(parts.ip, parts.port) : null;
    const draft =
      attach(http.transaction_id, endpoint, depth, (d) => d.http === null) ??
      create(http.transaction_id, parts?.ip ?? null, parts?.port ?? null, depth);
    draft.http = http;
  }

  // Which endpoints are "classic": OONI tags them; a probe that does not tag them gets the same
  // meaning from the addresses its system resolver returned (or from an IP-literal URL).
  const tagged = drafts.some((d) =>
    [d.tcp?.tags, d.tls?.tags, d.http?.tags].some((t) => hasTag(t, 'classic')),
  );
  const systemAddresses = new Set(dns.filter((d) => d.classic).flatMap((d) => d.addresses));
  const literalHost = isIP(hostOf(obs.input));
  const endpoints = drafts.map((d): EndpointObservation => {
    const classic = tagged
      ? [d.tcp?.tags, d.tls?.tags, d.http?.tags].some((t) => hasTag(t, 'classic'))
      : d.ip === null || literalHost || systemAddresses.has(d.ip);
    return { ...d, classic, ...stageOf(d) };
  });
  return { dns, endpoints };
}

const STAGE_RANK: Record<EndpointStage, number> = { http: 3, tls: 2, tcp: 1 };

function rank(o: Observation): number {
  return o.kind === 'dns' ? 0 : STAGE_RANK[o.stage];
}

/**
 * The classic walk order: deepest redirect first, then HTTP before TLS before TCP before DNS,
 * successes before failures. The first observation that explains the outcome decides it.
 */
export function classicLinear(regrouped: Regrouped): Observation[] {
  const list: Observation[] = [
    ...regrouped.endpoints.filter((e) => e.classic),
    ...regrouped.dns.filter((d) => d.classic),
  ];
  return list.sort(
    (a, b) =>
      b.depth - a.depth ||
      rank(b) - rank(a) ||
      Number(a.failure !== null) - Number(b.failure !== null) ||
      (a.transactionId ?? Number.MAX_SAFE_INTEGER) - (b.transactionId ?? Number.MAX_SAFE_INTEGER) ||
      a.order - b.order,
  );
}
