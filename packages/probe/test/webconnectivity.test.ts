import type { ControlRequest, ControlResponse } from '@pharos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureWebConnectivity, SOFTWARE_VERSION, type WebConnectivityOptions } from '../src/index.js';
import {
  makePKI,
  type PKI,
  page,
  type Running,
  refusedPort,
  startDNS,
  startHTTP,
  startHTTPS,
  startSilent,
} from './net-fixtures.js';

const HOME = page('Pharos home', 4000);
let pki: PKI;
let site: Running;
let helper: Running;
const controlRequests: ControlRequest[] = [];

/** What a helper on an open network would see for the site. */
function controlFor(request: ControlRequest): ControlResponse {
  const port = new URL(request.http_request).port;
  const ep = `127.0.0.1:${port}`;
  return {
    tcp_connect: { [ep]: { status: true, failure: null } },
    tls_handshake: { [ep]: { server_name: 'localhost', status: true, failure: null } },
    quic_handshake: {},
    http_request: {
      body_length: Buffer.byteLength(HOME),
      discovered_h3_endpoint: '',
      failure: null,
      title: 'Pharos home',
      headers: { 'Content-Type': 'text/html' },
      status_code: 200,
    },
    http3_request: null,
    dns: { failure: null, addrs: ['127.0.0.1'] },
    ip_info: { '127.0.0.1': { asn: 0, flags: 11 } },
  };
}

beforeAll(async () => {
  pki = makePKI();
  site = await startHTTPS(pki.valid, (req, res) => {
    if (req.url === '/') return res.writeHead(302, { Location: '/home' }).end();
    res.setHeader('Content-Type', 'text/html');
    res.end(HOME);
  });
  helper = await startHTTP((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request = JSON.parse(Buffer.concat(chunks).toString()) as ControlRequest;
      controlRequests.push(request);
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(controlFor(request)));
    });
  });
});
afterAll(async () => {
  await Promise.all([site.close(), helper.close()]);
});

function options(extra: WebConnectivityOptions = {}): WebConnectivityOptions {
  return {
    testHelpers: [`http://127.0.0.1:${helper.port}/`],
    extraCA: [pki.ca],
    timeouts: { dns: 1000, connect: 1000, tls: 500, http: 2000, control: 2000 },
    ...extra,
  };
}

describe('measureWebConnectivity', () => {
  it('produces an OONI 0.2.0 web_connectivity measurement', async () => {
    const input = `https://localhost:${site.port}/`;
    const before = site.connections;
    const m = await measureWebConnectivity(
      input,
      options({ probeCC: 'AZ', probeASN: 'AS29049', reportId: 'r1' }),
    );
    expect(m).toMatchObject({
      data_format_version: '0.2.0',
      test_name: 'web_connectivity',
      test_version: '0.5.0',
      software_name: 'pharos-probe',
      software_version: SOFTWARE_VERSION,
      probe_ip: '127.0.0.1',
      probe_cc: 'AZ',
      probe_asn: 'AS29049',
      report_id: 'r1',
      input,
      test_helpers: { backend: { address: `http://127.0.0.1:${helper.port}/`, type: 'http' } },
    });
    expect(SOFTWARE_VERSION).toBe('0.1.0');
    expect(m.measurement_start_time).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(m.test_start_time).toBe(m.measurement_start_time);
    expect(m.test_runtime).toBeGreaterThan(0);

    const tk = m.test_keys;
    expect(tk.queries).toEqual([
      expect.objectContaining({ engine: 'getaddrinfo', hostname: 'localhost', tags: ['classic', 'depth=0'] }),
      expect.objectContaining({ engine: 'getaddrinfo', hostname: 'localhost', tags: ['classic', 'depth=1'] }),
    ]);
    const first = tk.tcp_connect?.find((t) => t.ip === '127.0.0.1' && t.tags?.includes('depth=0'));
    expect(first).toMatchObject({
      port: site.port,
      status: { success: true, failure: null },
      tags: ['classic', 'tcptls_experiment', 'depth=0', 'fetch_body=true'],
    });
    expect(tk.tls_handshakes?.[0]).toMatchObject({ server_name: 'localhost', failure: null });

    // Newest first: the page, then the redirect that led to it.
    expect(tk.requests?.map((r) => [r.request.url, r.response?.code])).toEqual([
      [`https://localhost:${site.port}/home`, 200],
      [input, 302],
    ]);
    expect(tk.requests?.[1]?.tags).toEqual(['classic', 'tcptls_experiment', 'depth=0', 'fetch_body=true']);
    expect(tk.requests?.[0]?.tags).toEqual(['classic', 'depth=1', 'fetch_body=true']);
    // The first request went over the connection the connectivity step opened.
    expect(tk.requests?.[1]?.transaction_id).toBe(first?.transaction_id);
    const succeeded = tk.tcp_connect?.filter((t) => t.port === site.port && t.status.success).length;
    expect(site.connections - before).toBe(succeeded);

    expect(tk.x_control_request).toEqual({
      http_request: input,
      http_request_headers: {
        'User-Agent': [expect.stringMatching(/Chrome/)],
        Accept: [expect.any(String)],
        'Accept-Language': [expect.any(String)],
      },
      tcp_connect: [`127.0.0.1:${site.port}`],
      x_quic_enabled: false,
    });
    expect(tk.control?.http_request.title).toBe('Pharos home');
    expect(tk.control_failure).toBeNull();
    expect(tk.accessible).toBe(true);
    expect(tk.blocking).toBe(false);
    // Control traffic and TLS records included.
    expect(tk.x_bytes_sent).toBeGreaterThan(1000);
    expect(tk.x_bytes_received).toBeGreaterThan(Buffer.byteLength(HOME) + 2000);
    const reads = tk.network_events?.filter((e) => e.operation === 'read') ?? [];
    expect(reads.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(m)).not.toContain('remoteAddress');
  });

  it('never throws, even for an input that is not a URL', async () => {
    const m = await measureWebConnectivity('not a url', options());
    expect(m.test_keys.http_experiment_failure).toMatch(/^unknown_failure: /);
    expect(m.probe_ip).toBe('127.0.0.1');
  });

  it('spends one timeout, not two, when the TLS handshake is dropped', async () => {
    const silent = await startSilent();
    try {
      const started = Date.now();
      const m = await measureWebConnectivity(`https://localhost:${silent.port}/`, options());
      const tk = m.test_keys;
      expect(tk.tcp_connect).toHaveLength(1);
      expect(tk.tls_handshakes?.map((h) => h.failure)).toEqual(['generic_timeout_error']);
      // No second connection for the HTTP step: the page could not be fetched over that one.
      expect(tk.requests).toEqual([]);
      expect(silent.connections).toBe(1);
      expect(tk.http_experiment_failure).toBe('generic_timeout_error');
      expect(tk.blocking).toBe('http-failure');
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      await silent.close();
    }
  });

  it('validates an http URL’s addresses with a handshake on :443', async () => {
    const plain = await startHTTP((_req, res) => res.end(HOME));
    try {
      const m = await measureWebConnectivity(`http://localhost:${plain.port}/`, options());
      const tk = m.test_keys;
      expect(tk.x_control_request?.tcp_connect).toEqual([`127.0.0.1:${plain.port}`, '127.0.0.1:443']);
      expect(tk.tcp_connect?.find((t) => t.port === 443)?.tags).toEqual([
        'classic',
        'tcptls_experiment',
        'depth=0',
        'fetch_body=false',
      ]);
      expect(tk.requests?.[0]?.response?.code).toBe(200);
    } finally {
      await plain.close();
    }
  });

  it('goes on without control when no helper answers, trying helpers in order', async () => {
    const dead = `http://127.0.0.1:${await refusedPort()}/`;
    const alone = await measureWebConnectivity(
      `https://localhost:${site.port}/home`,
      options({ testHelpers: [dead] }),
    );
    expect(alone.test_keys.control).toBeNull();
    expect(alone.test_keys.control_failure).toBe('connection_refused');
    expect(alone.test_keys.requests?.[0]?.response?.code).toBe(200);

    const good = `http://127.0.0.1:${helper.port}/`;
    const second = await measureWebConnectivity(
      `https://localhost:${site.port}/home`,
      options({ testHelpers: [dead, good] }),
    );
    expect(second.test_keys.control_failure).toBeNull();
    expect(second.test_helpers?.backend?.address).toBe(good);
  });

  it('asks a public resolver over UDP besides the system resolver, without the classic tag', async () => {
    const dns = await startDNS({ localhost: { A: ['127.0.0.1'] } });
    try {
      const m = await measureWebConnectivity(
        `https://localhost:${site.port}/home`,
        options({ publicResolver: dns.address }),
      );
      const udp = m.test_keys.queries?.filter((q) => q.engine === 'udp') ?? [];
      expect(udp.map((q) => [q.query_type, q.tags])).toEqual([
        ['A', ['depth=0']],
        ['AAAA', ['depth=0']],
      ]);
      expect(dns.queries).toBe(2);
    } finally {
      await dns.close();
    }
  });

  it('stops early when aborted and still returns a measurement', async () => {
    const silent = await startSilent();
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      const started = Date.now();
      const m = await measureWebConnectivity(
        `https://localhost:${silent.port}/`,
        options({ signal: controller.signal, timeouts: { tls: 10_000, control: 10_000 } }),
      );
      expect(Date.now() - started).toBeLessThan(2000);
      expect(m.test_keys.tls_handshakes?.[0]?.failure).toBe('interrupted');
    } finally {
      await silent.close();
    }
  });
});
