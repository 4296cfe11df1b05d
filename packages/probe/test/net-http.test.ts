import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROWSER_HEADERS } from '../src/net/browser.js';
import { DEFAULT_MAX_BODY_BYTES, dialURL, httpRoundTrip, Trace, USER_AGENT } from '../src/net/index.js';
import { makePKI, type PKI, page, type Running, startHTTP, startHTTPS, startSilent } from './net-fixtures.js';

let pki: PKI;
const servers: Running[] = [];
beforeAll(() => {
  pki = makePKI();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function get(url: string, options: { extraCA?: string[]; timeoutMs?: number } = {}) {
  const trace = new Trace();
  const dialed = await dialURL(new URL(url), { trace, extraCA: options.extraCA, tags: ['depth=0'] });
  if (!dialed.connection) throw new Error(`dial failed: ${dialed.failure}`);
  const outcome = await httpRoundTrip(dialed.connection, {
    url: new URL(url),
    headers: BROWSER_HEADERS,
    timeoutMs: options.timeoutMs,
  });
  await trace.closeAll();
  return { ...outcome, trace };
}

describe('httpRoundTrip', () => {
  it('records request and response in OONI format and counts the bytes', async () => {
    const server = await startHTTP((req, res) => {
      res.setHeader('X-Seen-UA', req.headers['user-agent'] ?? '');
      res.setHeader('Set-Cookie', ['a=1', 'b=2']);
      res.end(page('Hello'));
    });
    servers.push(server);
    const { transaction, failure, trace } = await get(`http://127.0.0.1:${server.port}/path?q=1`);
    expect(failure).toBeNull();
    expect(transaction.request).toMatchObject({
      url: `http://127.0.0.1:${server.port}/path?q=1`,
      method: 'GET',
      body: '',
      body_is_truncated: false,
      x_transport: 'tcp',
    });
    expect(transaction.request.headers_list?.[0]).toEqual(['Host', `127.0.0.1:${server.port}`]);
    expect(transaction.request.headers['User-Agent']).toBe(USER_AGENT);
    expect(USER_AGENT).toMatch(/Chrome\/\d+/);
    expect(transaction.response?.code).toBe(200);
    expect(transaction.response?.headers['X-Seen-UA']).toBe(USER_AGENT);
    // The map keeps the first value; the list keeps all.
    expect(transaction.response?.headers['Set-Cookie']).toBe('a=1');
    expect(transaction.response?.headers_list?.filter(([k]) => k === 'Set-Cookie')).toHaveLength(2);
    expect(transaction.response?.body).toContain('<title>Hello</title>');
    expect(transaction).toMatchObject({
      address: `127.0.0.1:${server.port}`,
      tags: ['depth=0'],
      transaction_id: 1,
    });
    expect(trace.requests).toEqual([transaction]);
    expect(trace.bytesSent).toBeGreaterThan(200);
    expect(trace.bytesReceived).toBeGreaterThan(200);
    const ops = trace.networkEvents.map((e) => e.operation);
    expect(ops).toEqual(
      expect.arrayContaining(['http_transaction_start', 'http_transaction_done', 'read', 'write']),
    );
  });

  it('stops reading at 512 KiB and marks the body truncated', async () => {
    const server = await startHTTP((_req, res) => {
      res.setHeader('Content-Type', 'text/html');
      res.end(page('Big', 2 * 1024 * 1024));
    });
    servers.push(server);
    const { transaction, response, failure } = await get(`http://127.0.0.1:${server.port}/`);
    expect(failure).toBeNull();
    expect(response?.body.length).toBe(DEFAULT_MAX_BODY_BYTES);
    expect(DEFAULT_MAX_BODY_BYTES).toBe(512 * 1024);
    expect(transaction.response?.body_is_truncated).toBe(true);
    expect(transaction.response?.body).toHaveLength(512 * 1024);
  });

  it('keeps a body of exactly the cap whole', async () => {
    const server = await startHTTP((_req, res) => res.end('y'.repeat(DEFAULT_MAX_BODY_BYTES)));
    servers.push(server);
    const { transaction } = await get(`http://127.0.0.1:${server.port}/`);
    expect(transaction.response?.body_is_truncated).toBe(false);
  });

  it('records a body that is not UTF-8 as base64', async () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
    const server = await startHTTP((_req, res) => res.end(bytes));
    servers.push(server);
    const { transaction } = await get(`http://127.0.0.1:${server.port}/`);
    expect(transaction.response?.body).toEqual({ format: 'base64', data: bytes.toString('base64') });
  });

  it('speaks HTTP over TLS and records the ALPN', async () => {
    const server = await startHTTPS(pki.valid, (_req, res) => res.end(page('Secure')));
    servers.push(server);
    const { transaction, trace } = await get(`https://localhost:${server.port}/`, { extraCA: [pki.ca] });
    expect(transaction.failure).toBeNull();
    expect(transaction.alpn).toBe('http/1.1');
    expect(transaction.response?.body).toContain('Secure');
    // TLS records cost more than the plaintext.
    expect(trace.bytesReceived).toBeGreaterThan(Buffer.byteLength(page('Secure')) + 500);
  });

  it('keeps what arrived when the body stalls (evidence of throttling)', async () => {
    const server = await startHTTP((_req, res) => {
      res.writeHead(200, { 'Content-Length': '10000' });
      res.write('z'.repeat(1000));
    });
    servers.push(server);
    const { transaction, response, failure } = await get(`http://127.0.0.1:${server.port}/`, {
      timeoutMs: 300,
    });
    expect(failure).toBe('generic_timeout_error');
    expect(response?.body.length).toBe(1000);
    expect(transaction.response).toMatchObject({
      code: 200,
      body: 'z'.repeat(1000),
      body_is_truncated: false,
    });
  });

  it('maps a server that never answers to generic_timeout_error, with a response of code 0', async () => {
    const silent = await startSilent();
    servers.push(silent);
    const { transaction, failure } = await get(`http://127.0.0.1:${silent.port}/`, { timeoutMs: 300 });
    expect(failure).toBe('generic_timeout_error');
    expect(transaction.response).toMatchObject({ code: 0, body: '', headers: {} });
  });
});
