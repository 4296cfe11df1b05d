/**
 * Small builders for synthetic Web Connectivity observations, so each unit test states only what
 * differs from a healthy measurement of www.example.com (93.184.216.34, AS15133).
 */
import type {
  ControlResponse,
  DNSQuery,
  HTTPTransaction,
  TCPConnectResult,
  TLSHandshake,
  WebConnectivityObservations,
} from '../../src/index.js';

export const SITE_IP = '93.184.216.34';
export const SITE_ASN = 15133;
export const PAGE = `<html><head><title>Example Domain Homepage</title></head><body>${'x'.repeat(1400)}</body></html>`;

interface Opts {
  depth?: number;
  classic?: boolean;
  tid?: number;
}

function tags(o: Opts): string[] {
  const t = [`depth=${o.depth ?? 0}`];
  if (o.classic ?? true) t.unshift('classic');
  return t;
}

export function query(
  hostname: string,
  result: string[] | string,
  o: Opts & { engine?: string } = {},
): DNSQuery {
  const failure = typeof result === 'string' ? result : null;
  const addrs = typeof result === 'string' ? [] : result;
  return {
    answers: addrs.map((ip) => ({
      answer_type: ip.includes(':') ? 'AAAA' : 'A',
      ...(ip.includes(':') ? { ipv6: ip } : { ipv4: ip }),
      ...(ip === SITE_IP ? { asn: SITE_ASN } : {}),
      ttl: null,
    })),
    engine: o.engine ?? 'getaddrinfo',
    failure,
    hostname,
    query_type: 'ANY',
    resolver_address: '',
    t: 0,
    tags: tags(o),
    ...(o.tid !== undefined ? { transaction_id: o.tid } : {}),
  };
}

export function tcp(ip: string, port: number, failure: string | null = null, o: Opts = {}): TCPConnectResult {
  return {
    ip,
    port,
    status: { success: failure === null, failure },
    t: 0,
    tags: tags(o),
    ...(o.tid !== undefined ? { transaction_id: o.tid } : {}),
  };
}

export function tls(
  ip: string,
  serverName: string,
  failure: string | null = null,
  o: Opts & { noVerify?: boolean; port?: number } = {},
): TLSHandshake {
  return {
    network: 'tcp',
    address: `${ip.includes(':') ? `[${ip}]` : ip}:${o.port ?? 443}`,
    server_name: serverName,
    cipher_suite: '',
    failure,
    negotiated_protocol: '',
    no_tls_verify: o.noVerify ?? false,
    peer_certificates: null,
    tls_version: '',
    t: 0,
    tags: tags(o),
    ...(o.tid !== undefined ? { transaction_id: o.tid } : {}),
  };
}

export interface ResponseSpec {
  code?: number;
  body?: string;
  headers?: Record<string, string>;
  truncated?: boolean;
}

export function request(
  url: string,
  address: string,
  result: ResponseSpec | string,
  o: Opts = {},
): HTTPTransaction {
  const failure = typeof result === 'string' ? result : null;
  const spec = typeof result === 'string' ? null : result;
  return {
    address,
    failure,
    request: { url, method: 'GET', headers: {}, body: '', body_is_truncated: false },
    response: spec
      ? {
          code: spec.code ?? 200,
          headers: spec.headers ?? { 'Content-Type': 'text/html', 'X-Site': 'example' },
          body: spec.body ?? PAGE,
          body_is_truncated: spec.truncated ?? false,
        }
      : null,
    t: 0,
    tags: tags(o),
    ...(o.tid !== undefined ? { transaction_id: o.tid } : {}),
  };
}

export interface ControlSpec {
  dnsAddrs?: string[];
  dnsFailure?: string | null;
  tcp?: Record<string, string | null>;
  tls?: Record<string, [serverName: string, failure: string | null]>;
  http?: {
    failure?: string | null;
    status?: number;
    body_length?: number;
    title?: string;
    headers?: string[];
  };
  asn?: Record<string, number>;
}

const DEFAULT_TLS: NonNullable<ControlSpec['tls']> = { [`${SITE_IP}:443`]: ['www.example.com', null] };

export function control(spec: ControlSpec = {}): ControlResponse {
  const dnsAddrs = spec.dnsAddrs ?? [SITE_IP];
  const httpFailure = spec.http?.failure ?? null;
  const asn = { [SITE_IP]: SITE_ASN, ...(spec.asn ?? {}) };
  return {
    tcp_connect: Object.fromEntries(
      Object.entries(spec.tcp ?? { [`${SITE_IP}:443`]: null, [`${SITE_IP}:80`]: null }).map(([ep, f]) => [
        ep,
        { status: f === null, failure: f },
      ]),
    ),
    tls_handshake: Object.fromEntries(
      Object.entries(spec.tls ?? DEFAULT_TLS).map(([ep, [sn, f]]) => [
        ep,
        { server_name: sn, status: f === null, failure: f },
      ]),
    ),
    http_request: {
      body_length: httpFailure ? -1 : (spec.http?.body_length ?? PAGE.length),
      failure: httpFailure,
      title: httpFailure ? '' : (spec.http?.title ?? 'Example Domain Homepage'),
      headers: Object.fromEntries(
        (httpFailure ? [] : (spec.http?.headers ?? ['Content-Type', 'X-Site'])).map((h) => [h, 'v']),
      ),
      status_code: httpFailure ? -1 : (spec.http?.status ?? 200),
    },
    dns: { failure: spec.dnsFailure ?? null, addrs: spec.dnsFailure ? [] : dnsAddrs },
    ip_info: Object.fromEntries(Object.entries(asn).map(([ip, n]) => [ip, { asn: n, flags: 0 }])),
  };
}

export function observations(
  input: string,
  parts: Partial<WebConnectivityObservations>,
): WebConnectivityObservations {
  return {
    input,
    queries: [],
    tcp_connect: [],
    tls_handshakes: [],
    requests: [],
    control: control(),
    control_failure: null,
    ...parts,
  };
}

/** A healthy HTTPS fetch of www.example.com, to be varied by each test. */
export function healthyHTTPS(parts: Partial<WebConnectivityObservations> = {}): WebConnectivityObservations {
  return observations('https://www.example.com/', {
    queries: [query('www.example.com', [SITE_IP])],
    tcp_connect: [tcp(SITE_IP, 443, null, { tid: 1 })],
    tls_handshakes: [tls(SITE_IP, 'www.example.com', null, { tid: 1 })],
    requests: [request('https://www.example.com/', `${SITE_IP}:443`, {}, { tid: 1 })],
    ...parts,
  });
}

/** A healthy plain-HTTP fetch of www.example.com. */
export function healthyHTTP(parts: Partial<WebConnectivityObservations> = {}): WebConnectivityObservations {
  return observations('http://www.example.com/', {
    queries: [query('www.example.com', [SITE_IP])],
    tcp_connect: [tcp(SITE_IP, 80, null, { tid: 1 })],
    requests: [request('http://www.example.com/', `${SITE_IP}:80`, {}, { tid: 1 })],
    ...parts,
  });
}
