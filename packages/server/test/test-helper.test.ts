import { Writable } from 'node:stream';
import type { ControlResponse } from '@pharos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  makePKI,
  type PKI,
  page,
  type Running,
  refusedPort,
  startDNS,
  startHTTP,
  startHTTPS,
} from '../../probe/test/net-fixtures.js';
import { createTestHelperServer, type TestHelperOptions } from '../src/index.js';

let pki: PKI;
let dns: Awaited<ReturnType<typeof startDNS>>;
let site: Running;
let plain: Running;
const SITE_PAGE = page('Pharos test site', 3000);

beforeAll(async () => {
  pki = makePKI(['site.test']);
  dns = await startDNS({ 'site.test': { A: ['127.0.0.1'] } });
  site = await startHTTPS(pki.valid, (_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(SITE_PAGE);
  });
  plain = await startHTTP((req, res) => {
    if (req.url === '/redirect')
      return res.writeHead(302, { Location: `https://site.test:${site.port}/` }).end();
    res.end(page('Plain'));
  });
});
afterAll(async () => {
  await Promise.all([dns.close(), site.close(), plain.close()]);
});

/** A helper on loopback: loopback is a bogon, so tests tell it which addresses count as bogons. */
function helper(options: TestHelperOptions = {}) {
  return createTestHelperServer({
    resolver: dns.address,
    extraCA: [pki.ca],
    isBogon: () => false,
    timeouts: { dns: 500, connect: 1000, tls: 1000, http: 2000 },
    ...options,
  });
}

async function ask(body: unknown, options?: TestHelperOptions, url = '/') {
  const app = helper(options);
  try {
    const res = await app.inject({ method: 'POST', url, payload: body as object });
    return { status: res.statusCode, json: res.json() as ControlResponse & { error?: string } };
  } finally {
    await app.close();
  }
}

const HEADERS = { 'User-Agent': ['Mozilla/5.0 test'], Accept: ['text/html'], 'Accept-Language': ['en'] };

describe('test helper (OONI oohelperd protocol)', () => {
  it('measures a reachable https URL and answers in OONI shape', async () => {
    const endpoint = `127.0.0.1:${site.port}`;
    const { status, json } = await ask({
      http_request: `https://site.test:${site.port}/`,
      http_request_headers: HEADERS,
      tcp_connect: [endpoint],
      x_quic_enabled: false,
    });
    expect(status).toBe(200);
    expect(json).toEqual({
      tcp_connect: { [endpoint]: { status: true, failure: null } },
      tls_handshake: { [endpoint]: { server_name: 'site.test', status: true, failure: null } },
      quic_handshake: {},
      http_request: {
        body_length: Buffer.byteLength(SITE_PAGE),
        discovered_h3_endpoint: '',
        failure: null,
        title: 'Pharos test site',
        headers: expect.objectContaining({ 'Content-Type': 'text/html' }),
        status_code: 200,
      },
      http3_request: null,
      dns: { failure: null, addrs: ['127.0.0.1'] },
      // resolved by probe (1) and helper (2), and valid for the domain (8).
      ip_info: { '127.0.0.1': { asn: 0, flags: 11 } },
    });
  });

  it('answers at /api/v1/websiteconnectivity too, and follows redirects', async () => {
    const { status, json } = await ask(
      {
        http_request: `http://site.test:${plain.port}/redirect`,
        http_request_headers: HEADERS,
        tcp_connect: null,
      },
      undefined,
      '/api/v1/websiteconnectivity',
    );
    expect(status).toBe(200);
    expect(json.http_request).toMatchObject({ status_code: 200, title: 'Pharos test site', failure: null });
    // Only the URL's port is measured when the URL has one; the probe sent no endpoint.
    expect(Object.keys(json.tcp_connect)).toEqual([`127.0.0.1:${plain.port}`]);
    expect(json.ip_info).toEqual({ '127.0.0.1': { asn: 0, flags: 2 } });
  });

  it('reports NXDOMAIN as dns_name_error, as OONI does', async () => {
    const { status, json } = await ask({
      http_request: 'http://gone.test/',
      http_request_headers: HEADERS,
      tcp_connect: [],
    });
    expect(status).toBe(200);
    expect(json.dns).toEqual({ failure: 'dns_name_error', addrs: [] });
    expect(json.tcp_connect).toEqual({});
    expect(json.http_request).toEqual({
      body_length: -1,
      discovered_h3_endpoint: '',
      failure: 'dns_lookup_error',
      title: '',
      headers: {},
      status_code: -1,
    });
  });

  it('uses the legacy failure strings for refused connections', async () => {
    const port = await refusedPort();
    const { json } = await ask({
      http_request: `http://site.test:${port}/`,
      tcp_connect: [`127.0.0.1:${port}`],
    });
    expect(json.tcp_connect[`127.0.0.1:${port}`]).toEqual({
      status: false,
      failure: 'connection_refused_error',
    });
    expect(json.http_request.failure).toBe('connection_refused_error');
  });

  it('reports a certificate for another name in tls_handshake', async () => {
    const wrong = await startHTTPS(pki.wrongName, (_req, res) => res.end('x'));
    try {
      const { json } = await ask({ http_request: `https://site.test:${wrong.port}/`, tcp_connect: [] });
      expect(json.tls_handshake?.[`127.0.0.1:${wrong.port}`]).toEqual({
        server_name: 'site.test',
        status: false,
        failure: 'ssl_invalid_hostname',
      });
      expect(json.http_request).toMatchObject({ failure: 'unknown_error', status_code: -1 });
      expect(json.ip_info?.['127.0.0.1']?.flags).toBe(2);
    } finally {
      await wrong.close();
    }
  });

  it('never connects to bogons: flags them and leaves them out', async () => {
    const { json } = await ask(
      { http_request: `https://site.test:${site.port}/`, tcp_connect: [`10.0.0.1:${site.port}`] },
      { isBogon: undefined },
    );
    expect(json.ip_info).toEqual({ '10.0.0.1': { asn: 0, flags: 5 }, '127.0.0.1': { asn: 0, flags: 6 } });
    expect(json.tcp_connect).toEqual({});
    expect(json.http_request.failure).toBe('unknown_error');
  });

  it.each([
    ['a body that is not JSON', '{not json', /JSON/],
    ['a missing http_request', { tcp_connect: [] }, /http_request/],
    [
      'a URL that is not http(s)',
      { http_request: 'ftp://example.org/' },
      /http_request: must be an absolute http/,
    ],
    ['endpoints of the wrong type', { http_request: 'http://example.org/', tcp_connect: 'x' }, /tcp_connect/],
  ])('answers 400 to %s, naming the problem', async (_what, payload, message) => {
    const app = helper();
    try {
      const res = await app.inject({
        method: 'POST',
        url: '/',
        headers: { 'content-type': 'application/json' },
        payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatch(message);
    } finally {
      await app.close();
    }
  });

  it('limits the request body size', async () => {
    const app = helper({ bodyLimit: 1024 });
    try {
      const res = await app.inject({
        method: 'POST',
        url: '/',
        payload: { http_request: 'http://example.org/', tcp_connect: Array(200).fill('192.0.2.1:80') },
      });
      expect(res.statusCode).toBe(413);
    } finally {
      await app.close();
    }
  });

  it('logs requests without the client address', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const app = helper({ logger: { level: 'info', stream } });
    try {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.server.address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.7' },
        body: JSON.stringify({ http_request: `http://site.test:${plain.port}/`, tcp_connect: [] }),
      });
      expect(res.status).toBe(200);
    } finally {
      await app.close();
    }
    // The server's own listening address is logged at start; request lines must carry no address.
    const log = lines.filter((line) => line.includes('reqId')).join('');
    expect(log).toContain('incoming request');
    expect(log).not.toMatch(/remoteAddress|remotePort|127\.0\.0\.1|198\.51\.100\.7/);
  });
});
