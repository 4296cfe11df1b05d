import { createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Trace, tcpConnect, tlsHandshake } from '../src/net/index.js';
import {
  hangingPort,
  makePKI,
  type PKI,
  type Running,
  refusedPort,
  startHTTPS,
  startSilent,
} from './net-fixtures.js';

let pki: PKI;
beforeAll(() => {
  pki = makePKI();
});

describe('tcpConnect', () => {
  it('records a successful connect and settles the bytes when closed', async () => {
    const server = await startSilent();
    try {
      const trace = new Trace();
      const { connection, failure } = await tcpConnect('127.0.0.1', server.port, {
        trace,
        tags: ['depth=0'],
      });
      expect(failure).toBeNull();
      expect(trace.tcpConnect).toEqual([
        expect.objectContaining({
          ip: '127.0.0.1',
          port: server.port,
          status: { success: true, failure: null },
          tags: ['depth=0'],
          transaction_id: 1,
        }),
      ]);
      expect(trace.networkEvents[0]).toMatchObject({ operation: 'connect', proto: 'tcp', failure: null });
      connection?.stream.write('hello');
      await new Promise((r) => setTimeout(r, 50));
      await connection?.close();
      expect(trace.bytesSent).toBe(5);
      expect(trace.networkEvents.find((e) => e.operation === 'write')).toMatchObject({
        num_bytes: 5,
        transaction_id: 1,
      });
    } finally {
      await server.close();
    }
  });

  it('maps a refused connect to connection_refused', async () => {
    const trace = new Trace();
    const { connection, failure } = await tcpConnect('127.0.0.1', await refusedPort(), { trace });
    expect(connection).toBeNull();
    expect(failure).toBe('connection_refused');
    expect(trace.tcpConnect[0]?.status).toEqual({ success: false, failure: 'connection_refused' });
  });

  it('maps a connect that never completes to generic_timeout_error', async () => {
    const hanging = await hangingPort();
    try {
      const trace = new Trace();
      const started = Date.now();
      const { failure } = await tcpConnect('127.0.0.1', hanging.port, { trace, timeoutMs: 300 });
      expect(failure).toBe('generic_timeout_error');
      expect(Date.now() - started).toBeLessThan(3000);
      expect(trace.tcpConnect[0]?.t).toBeGreaterThanOrEqual(0.25);
    } finally {
      await hanging.close();
    }
  });

  it('fails with interrupted when the caller aborts', async () => {
    const hanging = await hangingPort();
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      const { failure } = await tcpConnect('127.0.0.1', hanging.port, {
        trace: new Trace(),
        signal: controller.signal,
      });
      expect(failure).toBe('interrupted');
    } finally {
      await hanging.close();
    }
  });
});

describe('tlsHandshake', () => {
  const servers: Running[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  async function handshakeWith(pair: keyof Omit<PKI, 'ca'>, serverName = 'localhost', extraCA = [pki.ca]) {
    const server = await startHTTPS(pki[pair], (_req, res) => res.end('ok'));
    servers.push(server);
    const trace = new Trace();
    const tcp = await tcpConnect('127.0.0.1', server.port, { trace, tags: ['classic'] });
    if (!tcp.connection) throw new Error('connect failed');
    const outcome = await tlsHandshake(tcp.connection, { serverName, extraCA });
    await trace.closeAll();
    return { outcome, trace, handshake: trace.tlsHandshakes[0] };
  }

  it('verifies against the extra CA and records the session', async () => {
    const { outcome, handshake, trace } = await handshakeWith('valid');
    expect(outcome.failure).toBeNull();
    expect(handshake).toMatchObject({
      network: 'tcp',
      server_name: 'localhost',
      failure: null,
      negotiated_protocol: 'http/1.1',
      no_tls_verify: false,
      tags: ['classic'],
      transaction_id: 1,
    });
    expect(handshake?.tls_version).toMatch(/^TLSv1\.[23]$/);
    expect(handshake?.cipher_suite).toMatch(/^TLS_/);
    const leaf = handshake?.peer_certificates?.[0];
    expect(leaf?.format).toBe('base64');
    // DER starts with a SEQUENCE tag.
    expect(Buffer.from(leaf?.data ?? '', 'base64')[0]).toBe(0x30);
    expect(trace.networkEvents.map((e) => e.operation)).toEqual(
      expect.arrayContaining(['connect', 'tls_handshake_start', 'tls_handshake_done', 'read', 'write']),
    );
    expect(trace.bytesReceived).toBeGreaterThan(300);
  });

  it('reports a certificate from an unknown authority, keeping the chain as evidence', async () => {
    const { outcome, handshake } = await handshakeWith('unknownCA');
    expect(outcome.failure).toBe('ssl_unknown_authority');
    expect(outcome.connection).toBeNull();
    expect(handshake?.peer_certificates?.length).toBeGreaterThan(0);
  });

  it('reports a CA-signed certificate without our CA as unknown authority', async () => {
    const { outcome } = await handshakeWith('valid', 'localhost', []);
    expect(outcome.failure).toBe('ssl_unknown_authority');
  });

  it('verifies an IP-literal server name against the certificate’s IP addresses', async () => {
    const { outcome, handshake } = await handshakeWith('valid', '127.0.0.1');
    expect(outcome.failure).toBeNull();
    expect(handshake?.server_name).toBe('127.0.0.1');
  });

  it('reports an expired certificate', async () => {
    const { outcome } = await handshakeWith('expired');
    expect(outcome.failure).toBe('ssl_invalid_certificate');
  });

  it('reports a certificate for another name', async () => {
    const { outcome } = await handshakeWith('wrongName');
    expect(outcome.failure).toBe('ssl_invalid_hostname');
  });

  it('maps a stalled handshake to generic_timeout_error', async () => {
    const silent = await startSilent();
    servers.push(silent);
    const trace = new Trace();
    const tcp = await tcpConnect('127.0.0.1', silent.port, { trace });
    if (!tcp.connection) throw new Error('connect failed');
    const outcome = await tlsHandshake(tcp.connection, { serverName: 'blocked.example', timeoutMs: 300 });
    expect(outcome.failure).toBe('generic_timeout_error');
    expect(trace.tlsHandshakes[0]).toMatchObject({
      server_name: 'blocked.example',
      failure: 'generic_timeout_error',
    });
    // The ClientHello went out and was paid for.
    expect(trace.bytesSent).toBeGreaterThan(100);
  });

  it('tells a reset after the ClientHello from an orderly close', async () => {
    const failures: Record<string, string | null> = {};
    for (const mode of ['reset', 'close'] as const) {
      const server = createServer((socket: Socket) => {
        socket.once('data', () => (mode === 'reset' ? socket.resetAndDestroy() : socket.end()));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as { port: number }).port;
      const trace = new Trace();
      const tcp = await tcpConnect('127.0.0.1', port, { trace });
      if (!tcp.connection) throw new Error('connect failed');
      failures[mode] = (await tlsHandshake(tcp.connection, { serverName: 'blocked.example' })).failure;
      server.close();
    }
    expect(failures).toEqual({ reset: 'connection_reset', close: 'eof_error' });
  });
});
