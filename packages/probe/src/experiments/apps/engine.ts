/**
 * What every app and platform experiment does with an endpoint, built on the network primitives
 * (net/): resolve it, connect, handshake, make one small request, and, when it failed, ask the test
 * helper whether it works from outside. Each step is recorded in OONI's format in one trace; each
 * endpoint's outcome is summarised in an EndpointRecord the experiments decide from.
 */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { type AppEndpointResult, type ControlResponse, isBogon, isLoopback } from '@pharos/core';
import { BROWSER_HEADERS } from '../../net/browser.js';
import type { Connection } from '../../net/connection.js';
import { lookupDoH } from '../../net/dns-doh.js';
import { type LookupResult, lookupSystem } from '../../net/dns-system.js';
import { lookupUDP } from '../../net/dns-udp.js';
import { formatEndpoint, urlHostname, urlPort } from '../../net/endpoint.js';
import { httpRoundTrip } from '../../net/http.js';
import { tcpConnect } from '../../net/tcp.js';
import { tlsHandshake } from '../../net/tls.js';
import { Trace } from '../../net/trace.js';
import { askControl, controlRequest } from '../../webconnectivity/control.js';
import {
  DEFAULT_TEST_HELPERS,
  type ResolvedTimeouts,
  resolveTimeouts,
} from '../../webconnectivity/options.js';
import { type Catalog, loadCatalog } from '../catalog/index.js';
import { type AsnTable, loadAsnTable } from './asn.js';
import { BudgetGate } from './budget.js';
import { failureMechanism, isCertificateFailure, type Operation } from './mechanism.js';
import type { AppRunOptions } from './types.js';

/** Addresses tried per port before giving up on an endpoint (OONI tries each in turn too). */
const MAX_ADDRESSES = 4;
export const DEFAULT_CONCURRENCY = 16;

export interface RunContext {
  experiment: string;
  catalog: Catalog;
  trace: Trace;
  gate: BudgetGate;
  timeouts: ResolvedTimeouts;
  options: AppRunOptions;
  /** The address-ownership table, built on first use. */
  asn(): AsnTable;
  /** The helper that answered (or the last tried) and why none did, for the envelope. */
  control: { backend: { address: string; type: string } | null; failure: string | null; gaveUp: boolean };
}

export function createContext(experiment: string, options: AppRunOptions): RunContext {
  const catalog = loadCatalog(options.catalog);
  const trace = new Trace();
  let table: AsnTable | undefined;
  return {
    experiment,
    catalog,
    trace,
    gate: new BudgetGate(options.dataBudget, trace),
    timeouts: resolveTimeouts(options.timeouts),
    options,
    asn: () => {
      table ??= loadAsnTable(catalog.asn_prefixes, options.asnTable);
      return table;
    },
    control: { backend: null, failure: null, gaveUp: false },
  };
}

/** One endpoint's outcome. */
export interface EndpointRecord {
  name: string;
  kind: AppEndpointResult['kind'];
  status: 'ok' | 'failed' | 'skipped';
  operation: Operation | null;
  failure: string | null;
  mechanism: string | null;
  /** The host name (null for an address endpoint). */
  host: string | null;
  /** What the control is asked to fetch. */
  url: string;
  https: boolean;
  addresses: string[];
  publicAddresses: string[] | null;
  /** Every connect made: the endpoints the control is asked about. */
  attempts: { ip: string; port: number; failure: string | null }[];
  /** The address that answered, for a throttling check. */
  reached: { ip: string; port: number } | null;
  /** Served under a private CA (Signal's): a certificate the helper rejects still means it answered. */
  privateCA: boolean;
  control: AppEndpointResult['control'];
  controlFailure: string | null;
  /** Judges the control for failures the generic rule does not cover (Messenger's ASN check). */
  judge?: (control: ControlResponse) => 'reachable' | 'unreachable' | null;
  /** Whether this endpoint's failure counts for the verdict (the experiment's OONI rule says). */
  counted: boolean;
  /** Measured for the record only (Signal's uptime lookup): never a failed endpoint. */
  informational?: boolean;
  verdict: AppEndpointResult['verdict'];
}

export function newRecord(
  name: string,
  kind: EndpointRecord['kind'],
  url: string,
  host: string | null,
): EndpointRecord {
  return {
    name,
    kind,
    status: 'ok',
    operation: null,
    failure: null,
    mechanism: null,
    host,
    url,
    https: url.startsWith('https:'),
    addresses: [],
    publicAddresses: null,
    attempts: [],
    reached: null,
    privateCA: false,
    control: null,
    controlFailure: null,
    counted: true,
    verdict: null,
  };
}

export function fail(record: EndpointRecord, operation: Operation, failure: string): EndpointRecord {
  record.status = 'failed';
  record.operation = operation;
  record.failure = failure;
  record.mechanism = failureMechanism(operation, failure, record.https);
  return record;
}

function skip(record: EndpointRecord): EndpointRecord {
  record.status = 'skipped';
  return record;
}

/** Whether a new fetch may start: not aborted, and the data budget allows it. */
export function mayStart(ctx: RunContext): boolean {
  if (ctx.options.signal?.aborted) return false;
  return ctx.gate.mayStart();
}

function tags(record: EndpointRecord): string[] {
  return [`endpoint=${record.name}`];
}

/** Loopback answers are never connected to, except for names that mean loopback (as Web Connectivity). */
function dialable(host: string, addresses: string[]): string[] {
  if (/(^|\.)localhost\.?$/i.test(host)) return addresses;
  return addresses.filter((ip) => !isLoopback(ip));
}

/**
 * The system resolver's answer (the one used to connect), and a public resolver's alongside when
 * asked for (UDP if configured, else DoH): evidence the control step reads.
 */
export async function resolve(
  ctx: RunContext,
  record: EndpointRecord,
  host: string,
  withPublic: boolean,
): Promise<LookupResult> {
  const { trace, options, timeouts } = ctx;
  const base = { trace, signal: options.signal, timeoutMs: timeouts.dns, tags: tags(record) };
  let publicLookup: Promise<LookupResult> | undefined;
  if (withPublic && options.publicResolver) publicLookup = lookupUDP(host, options.publicResolver, base);
  else if (withPublic && options.dohURL)
    publicLookup = lookupDoH(host, options.dohURL, { ...base, extraCA: options.extraCA });
  const [system, other] = await Promise.all([lookupSystem(host, base), publicLookup]);
  record.addresses = system.addresses;
  if (other) record.publicAddresses = other.failure === null ? other.addresses : null;
  return system;
}

/** Connects to each address in turn (at most MAX_ADDRESSES) until one answers. */
async function connectAny(
  ctx: RunContext,
  record: EndpointRecord,
  addresses: string[],
  port: number,
): Promise<{ connection: Connection | null; failure: string | null }> {
  let first: string | null = null;
  for (const ip of addresses.slice(0, MAX_ADDRESSES)) {
    const tcp = await tcpConnect(ip, port, {
      trace: ctx.trace,
      tags: tags(record),
      timeoutMs: ctx.timeouts.connect,
      signal: ctx.options.signal,
    });
    record.attempts.push({ ip, port, failure: tcp.failure });
    if (tcp.connection) {
      record.reached = { ip, port };
      return { connection: tcp.connection, failure: null };
    }
    first ??= tcp.failure ?? 'unknown_failure: no connection';
    if (ctx.options.signal?.aborted) break;
  }
  return { connection: null, failure: first ?? 'dns_no_answer' };
}

export interface FetchSpec {
  name: string;
  url: string;
  method?: 'GET' | 'POST';
  maxBodyBytes: number;
  /** Ask a public resolver too (the platforms). */
  publicDNS?: boolean;
  /** The chain must lead to one of these (Signal's own CAs); they are trusted for the handshake. */
  pinnedCA?: string[];
}

/**
 * DNS, TCP, TLS (for https) and one small request. Any HTTP status is a success: the endpoint
 * answered. The body is cut at maxBodyBytes and the connection closed there.
 */
export async function measureFetch(ctx: RunContext, spec: FetchSpec): Promise<EndpointRecord> {
  const url = new URL(spec.url);
  const host = urlHostname(url);
  const record = newRecord(spec.name, url.protocol === 'https:' ? 'https' : 'http', url.href, host);
  record.privateCA = spec.pinnedCA !== undefined;
  if (!mayStart(ctx)) return skip(record);
  const { options, timeouts } = ctx;

  let addresses = [host];
  if (isIP(host) === 0) {
    const found = await resolve(ctx, record, host, spec.publicDNS ?? false);
    if (found.failure !== null) return fail(record, 'resolve', found.failure);
    addresses = dialable(host, found.addresses);
    if (addresses.length === 0) return fail(record, 'resolve', 'dns_bogon_error');
  } else {
    record.addresses = [host];
  }

  const tcp = await connectAny(ctx, record, addresses, urlPort(url));
  if (!tcp.connection) return fail(record, 'connect', tcp.failure ?? 'unknown_failure');
  let connection = tcp.connection;
  if (record.https) {
    const trusted = [...(options.extraCA ?? []), ...(spec.pinnedCA ?? [])];
    const tls = await tlsHandshake(connection, {
      serverName: host,
      extraCA: trusted.length > 0 ? trusted : undefined,
      timeoutMs: timeouts.tls,
      signal: options.signal,
    });
    if (!tls.connection) return fail(record, 'tls_handshake', tls.failure ?? 'unknown_failure');
    connection = tls.connection;
    if (spec.pinnedCA && !pinnedChain(ctx.trace, connection, spec.pinnedCA)) {
      await connection.close();
      return fail(record, 'tls_handshake', 'ssl_unknown_authority');
    }
  }
  const rt = await httpRoundTrip(connection, {
    url,
    method: spec.method ?? 'GET',
    headers: BROWSER_HEADERS,
    // A POST with an empty body, as OONI's Telegram check sends.
    body: spec.method === 'POST' ? new Uint8Array(0) : undefined,
    maxBodyBytes: spec.maxBodyBytes,
    timeoutMs: timeouts.http,
    signal: options.signal,
  });
  if (rt.failure !== null) return fail(record, 'http_round_trip', rt.failure);
  return record;
}

/**
 * Whether the handshake just recorded for CONNECTION presented a chain leading to one of the
 * pinned CAs. When it does not, the recorded handshake (and its done event) get the failure a
 * client trusting only those CAs would have seen: ssl_unknown_authority.
 */
function pinnedChain(trace: Trace, connection: Connection, pinnedPEM: string[]): boolean {
  const handshake = [...trace.tlsHandshakes]
    .reverse()
    .find((h) => h.transaction_id === connection.transactionId);
  const pinned = pinnedPEM.flatMap((pem) => {
    try {
      return [new X509Certificate(pem)];
    } catch {
      return [];
    }
  });
  const chain = (handshake?.peer_certificates ?? []).flatMap((c) => {
    try {
      return [new X509Certificate(Buffer.from(c.data, 'base64'))];
    } catch {
      return [];
    }
  });
  const ok = chain.some((cert) =>
    pinned.some((ca) => cert.raw.equals(ca.raw) || (cert.checkIssued(ca) && safeVerify(cert, ca.publicKey))),
  );
  if (!ok && handshake) {
    handshake.failure = 'ssl_unknown_authority';
    const done = [...trace.networkEvents]
      .reverse()
      .find((e) => e.transaction_id === connection.transactionId && e.operation === 'tls_handshake_done');
    if (done) done.failure = 'ssl_unknown_authority';
  }
  return ok;
}

function safeVerify(cert: X509Certificate, key: X509Certificate['publicKey']): boolean {
  try {
    return cert.verify(key);
  } catch {
    return false;
  }
}

/** DNS then a TCP connect on each port: ok when any port connects (OONI's endpoint rule). */
export async function measureConnect(
  ctx: RunContext,
  spec: { name: string; host: string; ports: number[]; addresses?: string[] },
): Promise<EndpointRecord> {
  const record = newRecord(spec.name, 'tcp', `https://${spec.host}/`, spec.host);
  if (!spec.addresses && !mayStart(ctx)) return skip(record);
  let addresses = spec.addresses;
  if (!addresses) {
    const found = await resolve(ctx, record, spec.host, false);
    if (found.failure !== null) return fail(record, 'resolve', found.failure);
    addresses = found.addresses;
  }
  addresses = dialable(spec.host, addresses);
  if (addresses.length === 0) return fail(record, 'resolve', 'dns_bogon_error');
  const targets = addresses;
  // The ports at once: a blocked host costs one connect timeout, not one per port.
  const outcomes = await Promise.all(
    spec.ports.map(async (port) => {
      const tcp = await connectAny(ctx, record, targets, port);
      await tcp.connection?.close();
      return tcp;
    }),
  );
  if (outcomes.some((o) => o.connection !== null)) return record;
  return fail(record, 'connect', outcomes.find((o) => o.failure)?.failure ?? 'unknown_failure');
}

/** A lookup only (Messenger's stun, Signal's uptime). */
export async function measureLookup(
  ctx: RunContext,
  spec: { name: string; host: string },
): Promise<EndpointRecord> {
  const record = newRecord(spec.name, 'dns', `https://${spec.host}/`, spec.host);
  if (!mayStart(ctx)) return skip(record);
  const found = await resolve(ctx, record, spec.host, false);
  return found.failure === null ? record : fail(record, 'resolve', found.failure);
}

/** Runs FN over ITEMS, LIMIT at a time, keeping their order. */
export async function inPool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

export function concurrency(ctx: RunContext): number {
  return Math.max(1, Math.floor(ctx.options.concurrency ?? DEFAULT_CONCURRENCY));
}

/** Failures the network did not cause: a stopped run, an endpoint the probe cannot measure. */
function uncontrollable(record: EndpointRecord): boolean {
  return record.failure === 'interrupted';
}

/**
 * Asks the test helper about a failed endpoint and judges from its answer whether the endpoint
 * works from outside (`reachable`: the failure here is interference) or not (`unreachable`: it is
 * down for everyone). The helper's answer also sharpens the mechanism: answers that share nothing
 * with the helper's are a DNS lie.
 */
export async function controlFailed(ctx: RunContext, record: EndpointRecord): Promise<void> {
  if (record.status !== 'failed' || uncontrollable(record)) return;
  if (ctx.control.gaveUp) {
    record.controlFailure = ctx.control.failure;
    return;
  }
  if (!mayStart(ctx)) {
    record.controlFailure = 'unknown_failure: data budget exhausted';
    return;
  }
  const endpoints = [
    ...new Set(record.attempts.map((a) => formatEndpoint(a.ip, a.port))),
    ...(record.attempts.length === 0 && record.operation !== 'resolve'
      ? record.addresses.map((ip) => formatEndpoint(ip, urlPort(new URL(record.url))))
      : []),
  ];
  const outcome = await askControl(
    ctx.options.testHelpers ?? DEFAULT_TEST_HELPERS,
    controlRequest(new URL(record.url), endpoints),
    {
      trace: ctx.trace.sidecar(),
      timeoutMs: ctx.timeouts.control,
      extraCA: ctx.options.extraCA,
      signal: ctx.options.signal,
    },
  );
  if (outcome.backend) ctx.control.backend = outcome.backend;
  if (!outcome.control) {
    record.controlFailure = outcome.failure;
    ctx.control.failure = outcome.failure;
    // A helper that cannot be reached now will not be reached for the next endpoint either.
    if (outcome.failure !== 'json_parse_error' && outcome.failure !== 'http_request_failed')
      ctx.control.gaveUp = true;
    return;
  }
  judgeControl(record, outcome.control);
}

/** The judgement itself, on a control response (exported for the tests). */
export function judgeControl(record: EndpointRecord, control: ControlResponse): void {
  record.control = record.judge ? record.judge(control) : reach(record, control);
  const helperAddresses = control.dns.addrs ?? [];
  if (
    record.control === 'reachable' &&
    record.operation !== 'resolve' &&
    record.host !== null &&
    isIP(record.host) === 0 &&
    helperAddresses.length > 0 &&
    record.attempts.length > 0 &&
    record.attempts.every((a) => !helperAddresses.includes(a.ip))
  ) {
    // We connected to addresses the helper never saw for this name.
    if (record.attempts.some((a) => isBogon(a.ip) && !nearAny(a.ip, helperAddresses)))
      record.mechanism = 'dns.injection.bogon';
    else if (record.operation === 'tls_handshake' && isCertificateFailure(record.failure))
      record.mechanism = 'dns.injection.other';
  }
}

/**
 * Whether IP is in the same /16 as one of ADDRESSES. In a world of private addresses (the lab's)
 * a private answer near the real ones is a server of that world, not a sinkhole.
 */
function nearAny(ip: string, addresses: string[]): boolean {
  const prefix = (a: string) => a.split('.').slice(0, 2).join('.');
  return isIP(ip) === 4 && addresses.some((a) => isIP(a) === 4 && prefix(a) === prefix(ip));
}

function reach(record: EndpointRecord, control: ControlResponse): 'reachable' | 'unreachable' {
  const pageOK =
    control.http_request.failure === null ||
    (record.privateCA && isCertificateFailure(control.http_request.failure));
  const verdict = (ok: boolean) => (ok ? 'reachable' : 'unreachable');
  switch (record.operation) {
    case 'resolve': {
      const theirs = control.dns.addrs ?? [];
      if (control.dns.failure !== null || theirs.length === 0) return 'unreachable';
      // Our resolver answered (bogon answers) but with nothing the helper found: a lie.
      if (record.failure === 'dns_bogon_error')
        return verdict(theirs.every((ip) => !record.addresses.includes(ip)));
      return 'reachable';
    }
    case 'connect': {
      const seen = record.attempts
        .map((a) => control.tcp_connect[formatEndpoint(a.ip, a.port)])
        .filter((s) => s !== undefined);
      if (seen.length > 0) return verdict(seen.some((s) => s.status));
      return verdict(pageOK);
    }
    case 'tls_handshake': {
      const last = record.attempts.at(-1);
      const key = last ? formatEndpoint(last.ip, last.port) : '';
      const tls = control.tls_handshake?.[key];
      if (tls) return verdict(tls.status || isCertificateFailure(tls.failure));
      const tcp = control.tcp_connect[key];
      if (tcp && !tcp.status) return 'unreachable';
      return verdict(pageOK);
    }
    default:
      return verdict(pageOK);
  }
}

/** The per-endpoint entry of `x_endpoints`. */
export function endpointResult(record: EndpointRecord): AppEndpointResult {
  return {
    name: record.name,
    kind: record.kind,
    status: record.status,
    failed_operation: record.operation,
    failure: record.failure,
    mechanism: record.mechanism,
    addresses: record.addresses,
    ...(record.publicAddresses !== null ? { public_addresses: record.publicAddresses } : {}),
    control: record.control,
    ...(record.controlFailure !== null ? { control_failure: record.controlFailure } : {}),
    verdict: record.verdict,
  };
}
