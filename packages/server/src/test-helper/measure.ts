/**
 * What the helper does for one control request (OONI's oohelperd protocol): resolve the host,
 * connect (and handshake on :443) to every address the probe or the helper found, fetch the
 * page, and describe it all in the shape probes expect.
 */

import { isIP } from 'node:net';
import { type ControlResponse, extractTitle } from '@pharos/core';
import {
  dialURL,
  fetchFollowingRedirects,
  formatEndpoint,
  parseEndpoint,
  Trace,
  tcpConnect,
  tlsHandshake,
  urlHostname,
  urlPort,
} from '@pharos/probe';
import { dnsFailure, httpFailure, tcpFailure } from './failures.js';
import { cachedLookup, helperLookup } from './lookup.js';
import type { ResolvedHelperTimeouts } from './options.js';
import type { ParsedControlRequest } from './schema.js';

/** Enough to compare with the probe's 512 KiB snapshot without holding whole videos in memory. */
const MAX_BODY_BYTES = 8 << 20;
/** Only these request headers are forwarded, as OONI's helper does. */
const FORWARDED_HEADERS = new Set(['user-agent', 'accept', 'accept-language']);

const FLAG_RESOLVED_BY_PROBE = 1;
const FLAG_RESOLVED_BY_HELPER = 2;
const FLAG_BOGON = 4;
const FLAG_VALID_FOR_DOMAIN = 8;

export interface HelperContext {
  resolver?: string;
  extraCA?: string[];
  timeouts: ResolvedHelperTimeouts;
  isBogon: (ip: string) => boolean;
}

export async function measureControl(
  request: ParsedControlRequest,
  ctx: HelperContext,
): Promise<ControlResponse> {
  const url = new URL(request.http_request);
  const hostname = urlHostname(url);
  // Observations are not kept: only the answer is. The trace gives the primitives their clock.
  const trace = new Trace();
  const lookup = cachedLookup(helperLookup(ctx.resolver));
  try {
    // 1. DNS, before anything else: its addresses join the probe's.
    let dns: ControlResponse['dns'] = { failure: null, addrs: [] };
    if (isIP(hostname) === 0) {
      const found = await lookup(hostname, { trace, timeoutMs: ctx.timeouts.dns });
      dns = { failure: dnsFailure(found.failure), addrs: found.addresses };
    }

    // 2. Who found which address.
    const ipInfo: NonNullable<ControlResponse['ip_info']> = {};
    const flag = (ip: string, bit: number) => {
      const info = ipInfo[ip] ?? { asn: 0, flags: ctx.isBogon(ip) ? FLAG_BOGON : 0 };
      info.flags |= bit;
      ipInfo[ip] = info;
    };
    for (const endpoint of request.tcp_connect ?? []) {
      const parsed = parseEndpoint(endpoint);
      if (parsed) flag(parsed.ip, FLAG_RESOLVED_BY_PROBE);
    }
    for (const ip of dns.addrs) if (isIP(ip) !== 0) flag(ip, FLAG_RESOLVED_BY_HELPER);

    // 3. Endpoints and the page, concurrently.
    const ports = endpointPorts(url);
    const endpoints = Object.keys(ipInfo)
      .filter((ip) => (ipInfo[ip]!.flags & FLAG_BOGON) === 0)
      .flatMap((ip) =>
        ports.map((port) => ({
          ip,
          port,
          tls: port === 443 || (url.protocol === 'https:' && port === urlPort(url)),
        })),
      )
      .sort((a, b) => formatEndpoint(a.ip, a.port).localeCompare(formatEndpoint(b.ip, b.port)));

    const [results, page] = await Promise.all([
      Promise.all(endpoints.map((e) => measureEndpoint(e, hostname, trace, ctx))),
      fetchPage(url, request, trace, lookup, ctx),
    ]);

    const tcp_connect: ControlResponse['tcp_connect'] = {};
    const tls_handshake: NonNullable<ControlResponse['tls_handshake']> = {};
    for (const r of results) {
      tcp_connect[r.endpoint] = r.tcp;
      if (r.tls) {
        tls_handshake[r.endpoint] = r.tls;
        if (r.tls.status) flag(r.ip, FLAG_VALID_FOR_DOMAIN);
      }
    }
    return {
      tcp_connect,
      tls_handshake,
      quic_handshake: {},
      http_request: page,
      http3_request: null,
      dns,
      ip_info: ipInfo,
    };
  } finally {
    await trace.closeAll();
  }
}

/** The URL's port; an http URL without one also gets 443, to learn which addresses serve the name. */
function endpointPorts(url: URL): number[] {
  if (url.port !== '') return [Number(url.port)];
  return url.protocol === 'https:' ? [443] : [80, 443];
}

async function measureEndpoint(
  e: { ip: string; port: number; tls: boolean },
  hostname: string,
  trace: Trace,
  ctx: HelperContext,
) {
  const endpoint = formatEndpoint(e.ip, e.port);
  // One budget for connect and handshake together, as OONI's helper has.
  const signal = AbortSignal.timeout(ctx.timeouts.connect);
  const tcp = await tcpConnect(e.ip, e.port, { trace, signal, timeoutMs: ctx.timeouts.connect });
  const tcpResult = { status: tcp.connection !== null, failure: tcpFailure(budgeted(tcp.failure, signal)) };
  if (!tcp.connection || !e.tls) {
    await tcp.connection?.close();
    return { ip: e.ip, endpoint, tcp: tcpResult, tls: null };
  }
  const tls = await tlsHandshake(tcp.connection, {
    serverName: hostname,
    extraCA: ctx.extraCA,
    timeoutMs: ctx.timeouts.tls,
    signal,
  });
  await tls.connection?.close();
  return {
    ip: e.ip,
    endpoint,
    tcp: tcpResult,
    tls: { server_name: hostname, status: tls.connection !== null, failure: budgeted(tls.failure, signal) },
  };
}

async function fetchPage(
  url: URL,
  request: ParsedControlRequest,
  trace: Trace,
  lookup: ReturnType<typeof helperLookup>,
  ctx: HelperContext,
): Promise<ControlResponse['http_request']> {
  const headers: [string, string][] = [];
  for (const [name, values] of Object.entries(request.http_request_headers ?? {})) {
    if (FORWARDED_HEADERS.has(name.toLowerCase())) for (const v of values) headers.push([name, v]);
  }
  const signal = AbortSignal.timeout(ctx.timeouts.http);
  const fetched = await fetchFollowingRedirects(url, {
    headers,
    maxBodyBytes: MAX_BODY_BYTES,
    timeoutMs: ctx.timeouts.http,
    signal,
    open: (hopURL) =>
      dialURL(hopURL, {
        trace,
        signal,
        lookup,
        extraCA: ctx.extraCA,
        timeouts: { dns: ctx.timeouts.dns, connect: ctx.timeouts.connect, tls: ctx.timeouts.tls },
        refuse: { test: ctx.isBogon, failure: 'dns_bogon_error' },
      }),
  });
  const failure = httpFailure(budgeted(fetched.failure, signal), fetched.failedStep);
  const response = fetched.response;
  if (!response || (failure !== null && fetched.failedStep !== 'http')) {
    return { body_length: -1, discovered_h3_endpoint: '', failure, title: '', headers: {}, status_code: -1 };
  }
  return {
    body_length: response.body.length,
    discovered_h3_endpoint: '',
    failure,
    title: extractTitle(response.body.toString('utf8')),
    headers: firstValues(response.headers),
    status_code: response.status,
  };
}

/** A step cut short by the overall budget timed out; it was not interrupted by anyone. */
function budgeted(failure: string | null, signal: AbortSignal): string | null {
  return failure === 'interrupted' && signal.aborted ? 'generic_timeout_error' : failure;
}

/** One value per header, names in the canonical form OONI's helper (Go) reports them in. */
function firstValues(list: [string, string][]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of list) {
    const key = name
      .toLowerCase()
      .replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
    if (!Object.hasOwn(out, key)) out[key] = value;
  }
  return out;
}
