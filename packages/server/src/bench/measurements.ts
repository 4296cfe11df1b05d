/**
 * Realistic, signed Web Connectivity measurements for the ingest benchmark and the collector's
 * tests: OONI 0.2.0 envelopes with DNS queries (and raw responses), TCP connects, TLS handshakes
 * with certificate chains, HTTP requests with bodies, network events and a control response,
 * 5–20 KB each, from a seeded generator so runs are comparable.
 *
 * Probes keep and send the canonical JSON they signed, so the items here carry the measurement in
 * canonical member order, as a probe's outbox would.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign } from 'node:crypto';
import { canonicalJSON } from '@pharos/core';

export interface ProbeIdentity {
  privateKey: KeyObject;
  /** Base64 of the raw 32-byte public key. */
  publicKey: string;
}

// PKCS#8 DER for an Ed25519 private key up to its 32-byte seed (RFC 8410).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** A probe key from a 32-byte seed (deterministic, for reproducible fixtures). */
export function probeIdentity(seed: Uint8Array): ProbeIdentity {
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, Buffer.from(seed)]),
    format: 'der',
    type: 'pkcs8',
  });
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  return { privateKey, publicKey: Buffer.from(jwk.x ?? '', 'base64url').toString('base64') };
}

/** The n-th benchmark probe's key. */
export function benchProbe(n: number): ProbeIdentity {
  return probeIdentity(createHash('sha256').update(`pharos bench probe ${n}`).digest());
}

export interface SignedItem {
  /** The measurement id: hex SHA-256 of its canonical JSON. */
  id: string;
  /** The canonical JSON that was signed. */
  canonical: string;
  item: { measurement: Record<string, unknown>; probe_key: string; signature: string };
}

/** A submission item for the measurement, signed over its canonical JSON. */
export function signItem(measurement: Record<string, unknown>, probe: ProbeIdentity): SignedItem {
  const canonical = canonicalJSON(measurement);
  const bytes = Buffer.from(canonical, 'utf8');
  return {
    id: createHash('sha256').update(bytes).digest('hex'),
    canonical,
    item: {
      // Parsed back from the canonical text, so members travel in canonical order.
      measurement: JSON.parse(canonical) as Record<string, unknown>,
      probe_key: probe.publicKey,
      signature: sign(null, bytes, probe.privateKey).toString('base64'),
    },
  };
}

/** The JSON body of a submission. */
export function submissionBody(items: readonly SignedItem[]): string {
  return JSON.stringify({ format: 'pharos-submission/v1', measurements: items.map((s) => s.item) });
}

const SITES = [
  'www.azadliq.org',
  'www.meydan.tv',
  'www.bbc.com',
  'www.facebook.com',
  'www.youtube.com',
  'web.whatsapp.com',
  'www.tiktok.com',
  'twitter.com',
  'www.instagram.com',
  'abzas.org',
  'www.occrp.org',
  'turan.az',
  'www.hrw.org',
  'www.amnesty.org',
  'telegram.org',
  'signal.org',
  'www.wikipedia.org',
  'www.torproject.org',
  'www.voanews.com',
  'www.rferl.org',
];
const NETWORKS: [string, string][] = [
  ['AZ', 'AS29049'],
  ['AZ', 'AS28787'],
  ['AZ', 'AS31721'],
  ['AZ', 'AS197830'],
  ['AZ', 'AS42779'],
  ['AZ', 'AS39232'],
  ['AZ', 'AS196925'],
];
const WORDS =
  'the of news report freedom media press journalist court rights protest network internet access blocked region government ministry statement election opposition civil society'.split(
    ' ',
  );

export interface MeasurementOptions {
  /** When the measurement started; default now. */
  start?: Date;
  /** Override the claimed network. */
  probeCC?: string;
  probeASN?: string;
  /** Put this text into the HTTP body and a header (to test scrubbing). */
  extraText?: string;
}

/** One Web Connectivity measurement of 5–20 KB, as a probe would produce it. */
export function webConnectivityMeasurement(
  random: () => number,
  options: MeasurementOptions = {},
): Record<string, unknown> {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const hex = (n: number) => {
    let s = '';
    for (let i = 0; i < n; i++) s += '0123456789abcdef'[int(0, 15)];
    return s;
  };
  const b64 = (bytes: number) => {
    const buf = Buffer.alloc(bytes);
    for (let i = 0; i < bytes; i++) buf[i] = int(0, 255);
    return buf.toString('base64');
  };
  const ip = () => `${int(2, 223)}.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}`;
  const ip6 = () => `2a0${int(0, 9)}:${hex(4)}:${hex(4)}::${hex(2)}`;
  const text = (words: number) => Array.from({ length: words }, () => pick(WORDS)).join(' ');

  const host = pick(SITES);
  const path = random() < 0.5 ? '/' : `/${pick(WORDS)}/${int(1000, 99999)}`;
  const input = `https://${host}${path}`;
  const [cc, asn] = pick(NETWORKS);
  const start = options.start ?? new Date();
  const ooni = (d: Date) => d.toISOString().slice(0, 19).replace('T', ' ');
  const addrs = [ip(), ip(), ...(random() < 0.5 ? [ip6()] : [])];
  const blocked = random() < 0.3;
  let t = random() * 0.01;
  const tick = () => {
    t += random() * 0.05;
    return Math.round(t * 1e6) / 1e6;
  };

  const queries = [
    {
      answers: addrs.map((a) => ({
        answer_type: a.includes(':') ? 'AAAA' : 'A',
        ...(a.includes(':') ? { ipv6: a } : { ipv4: a }),
        asn: int(1000, 60000),
        as_org_name: `${pick(WORDS)} networks`,
        ttl: null,
      })),
      engine: 'getaddrinfo',
      failure: null,
      hostname: host,
      query_type: 'ANY',
      resolver_address: '',
      t0: tick(),
      t: tick(),
      tags: ['depth=0'],
      transaction_id: 1,
    },
    ...['A', 'AAAA'].map((type, i) => ({
      answers: addrs
        .filter((a) => a.includes(':') === (type === 'AAAA'))
        .map((a) => ({
          answer_type: type,
          ...(type === 'A' ? { ipv4: a } : { ipv6: a }),
          ttl: int(30, 3600),
        })),
      engine: 'udp',
      failure: null,
      hostname: host,
      query_type: type,
      raw_response: b64(int(60, 220)),
      rcode: 0,
      resolver_address: '8.8.8.8:53',
      t0: tick(),
      t: tick(),
      tags: ['depth=0'],
      transaction_id: 2 + i,
    })),
  ];
  const endpoints = addrs.map((a) => (a.includes(':') ? `[${a}]:443` : `${a}:443`));
  const tcpConnect = addrs.map((a, i) => ({
    ip: a,
    port: 443,
    status: { blocked: false, failure: null, success: true },
    t0: tick(),
    t: tick(),
    tags: ['depth=0'],
    transaction_id: 10 + i,
  }));
  const tlsHandshakes = endpoints.map((address, i) => ({
    address,
    cipher_suite: blocked ? '' : 'TLS_AES_128_GCM_SHA256',
    failure: blocked && i === 0 ? 'generic_timeout_error' : null,
    negotiated_protocol: blocked ? '' : 'h2',
    network: 'tcp',
    no_tls_verify: false,
    peer_certificates:
      blocked && i === 0
        ? null
        : Array.from({ length: int(1, 2) }, () => ({ data: b64(int(300, 700)), format: 'base64' })),
    server_name: host,
    t0: tick(),
    t: tick(),
    tags: ['depth=0'],
    tls_version: blocked ? '' : 'TLSv1.3',
    transaction_id: 20 + i,
  }));
  const bodyWords = int(60, 900);
  const body = `<!doctype html><html><head><title>${text(6)}</title></head><body><h1>${text(8)}</h1><p>${text(bodyWords)}</p>${options.extraText ?? ''}</body></html>`;
  const responseHeaders: [string, string][] = [
    ['Content-Type', 'text/html; charset=utf-8'],
    ['Server', pick(['nginx', 'cloudflare', 'Apache', 'gws'])],
    ['Date', start.toUTCString()],
    ['Cache-Control', 'max-age=0, private'],
    ...(options.extraText ? ([['X-Forwarded-For', options.extraText]] as [string, string][]) : []),
  ];
  // The probe sends the same request whether or not an answer comes back.
  const request = {
    body: '',
    body_is_truncated: false,
    headers: { Accept: 'text/html', 'User-Agent': 'Mozilla/5.0' },
    headers_list: [
      ['Accept', 'text/html'],
      ['User-Agent', 'Mozilla/5.0'],
    ],
    method: 'GET',
    tor: { exit_ip: null, exit_name: null, is_tor: false },
    url: input,
    x_transport: 'tcp',
  };
  const requests = blocked
    ? [
        {
          failure: 'generic_timeout_error',
          network: 'tcp',
          address: endpoints[0],
          request,
          response: null,
          t0: tick(),
          t: tick(),
          tags: ['depth=0'],
          transaction_id: 30,
        },
      ]
    : [
        {
          failure: null,
          network: 'tcp',
          address: endpoints[0],
          request,
          response: {
            body,
            body_is_truncated: false,
            code: 200,
            headers: Object.fromEntries(responseHeaders),
            headers_list: responseHeaders,
          },
          t0: tick(),
          t: tick(),
          tags: ['depth=0'],
          transaction_id: 30,
        },
      ];
  const networkEvents = Array.from({ length: int(6, 20) }, (_, i) => ({
    address: pick(endpoints),
    failure: null,
    num_bytes: int(20, 16384),
    operation: pick(['read', 'write', 'connect', 'tls_handshake_start', 'tls_handshake_done']),
    proto: 'tcp',
    t0: tick(),
    t: tick(),
    tags: ['depth=0'],
    transaction_id: 40 + i,
  }));
  const runtime = Math.round(t * 1e6) / 1e6 + random();
  return {
    annotations: {
      architecture: 'amd64',
      engine_name: 'pharos-probe',
      engine_version: '0.1.0',
      platform: 'linux',
    },
    data_format_version: '0.2.0',
    extensions: { dnst: 0, httpt: 0, netevents: 0, tcpconnect: 0, tlshandshake: 0 },
    input,
    measurement_start_time: ooni(start),
    options: [],
    probe_asn: options.probeASN ?? asn,
    probe_cc: options.probeCC ?? cc,
    probe_ip: '127.0.0.1',
    probe_network_name: null,
    report_id: `${ooni(start).replace(/[-: ]/g, '').slice(0, 8)}T${ooni(start).replace(/[-: ]/g, '').slice(8)}Z_webconnectivity_${cc}_${asn.slice(2)}_n1_${b64(12).replace(/[+/=]/g, 'x')}`,
    resolver_asn: 'AS15169',
    resolver_ip: '8.8.8.8',
    resolver_network_name: 'Google LLC',
    software_name: 'pharos-probe',
    software_version: '0.1.0',
    test_helpers: { backend: { address: 'https://th.pharos.example/', type: 'https' } },
    test_keys: {
      accessible: !blocked,
      agent: 'redirect',
      blocking: blocked ? 'tcp_ip' : false,
      body_length_match: blocked ? null : true,
      body_proportion: blocked ? 0 : 1,
      client_resolver: '8.8.8.8',
      control: {
        dns: { addrs, failure: null },
        http_request: {
          body_length: body.length,
          failure: null,
          headers: Object.fromEntries(responseHeaders),
          status_code: 200,
          title: text(6),
        },
        tcp_connect: Object.fromEntries(endpoints.map((e) => [e, { failure: null, status: true }])),
        tls_handshake: Object.fromEntries(
          endpoints.map((e) => [e, { failure: null, server_name: host, status: true }]),
        ),
      },
      control_failure: null,
      dns_consistency: 'consistent',
      dns_experiment_failure: null,
      headers_match: blocked ? null : true,
      http_experiment_failure: blocked ? 'generic_timeout_error' : null,
      network_events: networkEvents,
      queries,
      requests,
      retries: null,
      socksproxy: null,
      status_code_match: blocked ? null : true,
      tcp_connect: tcpConnect,
      title_match: blocked ? null : true,
      tls_handshakes: tlsHandshakes,
      x_blocking_fingerprints: [],
      x_bytes_received: int(5000, 60000),
      x_bytes_sent: int(1000, 4000),
      x_confirmed: false,
      x_control_request: {
        http_request: input,
        http_request_headers: { Accept: ['text/html'], 'User-Agent': ['Mozilla/5.0'] },
        tcp_connect: endpoints,
      },
      x_mechanism: blocked ? 'tls.timeout' : null,
    },
    test_name: 'web_connectivity',
    test_runtime: Math.round(runtime * 1e6) / 1e6,
    test_start_time: ooni(start),
    test_version: '0.5.0',
  };
}
