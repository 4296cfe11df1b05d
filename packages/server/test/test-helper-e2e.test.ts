/** The probe against our own helper, both on loopback: the two halves of the protocol agree. */
import { measureWebConnectivity } from '@pharos/probe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePKI, type PKI, page, type Running, startHTTPS } from '../../probe/test/net-fixtures.js';
import { createTestHelperServer } from '../src/index.js';

let pki: PKI;
let site: Running;
let helperURL: string;
let helper: ReturnType<typeof createTestHelperServer>;

beforeAll(async () => {
  pki = makePKI();
  site = await startHTTPS(pki.valid, (req, res) => {
    if (req.url === '/') return res.writeHead(301, { Location: '/welcome' }).end();
    res.setHeader('Content-Type', 'text/html');
    res.end(page('Welcome to the site', 6000));
  });
  helper = createTestHelperServer({ extraCA: [pki.ca], isBogon: () => false, timeouts: { http: 3000 } });
  await helper.listen({ port: 0, host: '127.0.0.1' });
  helperURL = `http://127.0.0.1:${(helper.server.address() as { port: number }).port}/`;
});
afterAll(async () => {
  await Promise.all([site.close(), helper.close()]);
});

describe('measureWebConnectivity with the Pharos test helper', () => {
  it('measures a local site as accessible, in valid OONI format', async () => {
    const input = `https://localhost:${site.port}/`;
    const m = await measureWebConnectivity(input, {
      testHelpers: [helperURL],
      extraCA: [pki.ca],
      timeouts: { dns: 1000, connect: 1000, tls: 1000, http: 2000, control: 5000 },
    });
    const tk = m.test_keys;
    expect(m.probe_ip).toBe('127.0.0.1');
    expect(m.test_helpers).toEqual({ backend: { address: helperURL, type: 'http' } });
    expect(tk.control_failure).toBeNull();
    const ep = `127.0.0.1:${site.port}`;
    expect(tk.control).toMatchObject({
      dns: { failure: null, addrs: ['127.0.0.1'] },
      tcp_connect: { [ep]: { status: true, failure: null } },
      tls_handshake: { [ep]: { server_name: 'localhost', status: true, failure: null } },
      http_request: { status_code: 200, title: 'Welcome to the site', failure: null },
      ip_info: { '127.0.0.1': { asn: 0, flags: 11 } },
    });
    expect(tk.requests?.map((r) => r.response?.code)).toEqual([200, 301]);
    expect(tk.requests?.[0]?.request.url).toBe(`https://localhost:${site.port}/welcome`);
    expect(tk).toMatchObject({
      dns_consistency: 'consistent',
      blocking: false,
      accessible: true,
      status_code_match: true,
      title_match: true,
      body_length_match: true,
    });
    expect(tk.x_bytes_sent).toBeGreaterThan(0);
    expect(tk.x_bytes_received).toBeGreaterThan(6000);
    // A measurement is JSON: it survives a round trip unchanged.
    expect(JSON.parse(JSON.stringify(m))).toEqual(m);
  });
});
