import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { type AppStore, createServer, type PharosServer, type StoreOpener } from '../src/app.js';
import { MemorySink } from '../src/collector/index.js';
import { body, fixedLocator, post, signed } from './collector-fixtures.js';

/** An in-memory store with a stand-in log route, and a record of when it was closed. */
function memoryStore() {
  const sink = new MemorySink();
  const events: string[] = [];
  const append = sink.append.bind(sink);
  const store: AppStore = Object.assign(sink, {
    append: async (batch: Parameters<MemorySink['append']>[0]) => {
      events.push('append started');
      const results = await append(batch);
      events.push(`appended ${batch.length}`);
      return results;
    },
    close: async () => {
      events.push('store closed');
    },
  });
  const provider: StoreOpener = async () => ({
    store,
    routes: async (app) => {
      app.get('/log/checkpoint', async () => 'memory\n0\n');
    },
  });
  return { sink, events, provider };
}

function logCapture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, stream };
}

let server: PharosServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('createServer', () => {
  it('serves the collector, the store routes and the test helper on one app', async () => {
    const mem = memoryStore();
    server = await createServer({ dataDir: '/nonexistent', openStore: mem.provider, locator: fixedLocator });
    const items = signed(2);
    const res = await post(server.app, body(items));
    expect(res.statusCode, res.body).toBe(200);
    expect(mem.sink.entries).toHaveLength(2);
    expect((await server.app.inject({ url: '/log/checkpoint' })).body).toBe('memory\n0\n');
    // The helper's own error handler and messages, on its own routes.
    const control = await server.app.inject({
      method: 'POST',
      url: '/',
      payload: { http_request: 'ftp://x' },
    });
    expect(control.statusCode).toBe(400);
    expect(control.json().error).toMatch(/^invalid control request: http_request: must be an absolute http/);
    expect((await server.app.inject({ url: '/nothing-here' })).statusCode).toBe(404);
  });

  it('never logs the client address, whatever the request', async () => {
    const ip = '203.0.113.77';
    const logs = logCapture();
    const mem = memoryStore();
    server = await createServer({
      dataDir: '/nonexistent',
      openStore: mem.provider,
      locator: fixedLocator,
      logger: { level: 'trace', stream: logs.stream },
    });
    const [good] = signed(1, undefined, { extraText: `client ${ip}` });
    const requests = [
      post(server.app, body([good!]), {}, ip),
      // Its own address in places a careless server would echo into its logs.
      post(server.app, `{"${ip}": 1, "format": "pharos-submission/v1", "measurements": []}`, {}, ip),
      post(server.app, `${ip} is not JSON`, {}, ip),
      post(server.app, body(signed(1)), { 'content-encoding': ip }, ip),
      server.app.inject({
        method: 'GET',
        url: `/log/checkpoint?from=${ip}`,
        remoteAddress: ip,
        headers: { 'x-forwarded-for': ip },
      }),
      server.app.inject({ method: 'POST', url: '/', payload: { http_request: ip }, remoteAddress: ip }),
    ];
    const statuses = (await Promise.all(requests)).map((r) => r.statusCode);
    expect(statuses).toEqual([200, 400, 400, 415, 200, 400]);
    const text = logs.lines.join('');
    expect(text).toContain('"url":"/api/v1/measurements"');
    expect(text).toContain('"refused":"schema"');
    expect(text).not.toContain(ip);
    expect(text).not.toMatch(/remoteAddress|remotePort/);
    // Nor does the store get it: the body was scrubbed.
    expect(JSON.stringify(mem.sink.entries)).not.toContain(ip);
    expect(mem.sink.entries[0]!.scrubbed).toBe(true);
  });

  it('cuts off a slow client, and keeps serving the others', async () => {
    const mem = memoryStore();
    server = await createServer({
      dataDir: '/nonexistent',
      openStore: mem.provider,
      locator: fixedLocator,
      timeouts: { headers: 300, request: 600, idle: 600 },
    });
    const url = new URL(await server.listen());
    const started = Date.now();
    const closedAfter = await new Promise<number>((resolve) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write('POST /api/v1/measurements HTTP/1.1\r\nHost: x\r\n');
        // A header line every 100 ms: never finishing, never idle long enough for the idle timeout.
        const drip = setInterval(() => socket.write(`X-Slow-${Date.now()}: 1\r\n`), 100);
        socket.on('close', () => {
          clearInterval(drip);
          resolve(Date.now() - started);
        });
        socket.on('error', () => {});
      });
    });
    expect(closedAfter).toBeLessThan(3000);
    const res = await fetch(new URL('/api/v1/measurements', url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body(signed(1)),
    });
    expect(res.status).toBe(200);
  });

  it('on close, answers the requests in flight, then closes the store', async () => {
    const mem = memoryStore();
    server = await createServer({ dataDir: '/nonexistent', openStore: mem.provider, locator: fixedLocator });
    const url = await server.listen();
    let release: () => void = () => {};
    mem.sink.gate = new Promise((resolve) => {
      release = resolve;
    });
    const items = signed(1);
    const inFlight = fetch(new URL('/api/v1/measurements', url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body(items),
    }).then((r) => r.json());
    while (!mem.events.includes('append started')) await new Promise((resolve) => setTimeout(resolve, 10));
    const closing = server.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await expect(fetch(url)).rejects.toThrow();
    release();
    await closing;
    expect(await inFlight).toEqual({ results: [{ id: items[0]!.id, log_index: 0, duplicate: false }] });
    expect(mem.events).toEqual(['append started', 'appended 1', 'store closed']);
    server = undefined;
  });

  it('fails to start when the store cannot open, leaving nothing behind', async () => {
    const openStore: StoreOpener = async () => {
      throw new Error('data directory is locked by another server');
    };
    await expect(createServer({ dataDir: '/nonexistent', openStore })).rejects.toThrow(/locked/);
  });
});

describe('createServer with the evidence store', () => {
  it('stores, logs and serves what the collector accepted, and nothing it refused', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const dir = await mkdtemp(path.join(tmpdir(), 'pharos-app-'));
    try {
      server = await createServer({ dataDir: dir, locator: fixedLocator, origin: 'test.pharos/log' });
      const items = signed(3);
      const res = await post(server.app, body(items));
      expect(res.statusCode, res.body).toBe(200);
      const results = (res.json() as { results: { id: string; log_index: number }[] }).results;
      expect(results.map((r) => r.id)).toEqual(items.map((s) => s.id));
      // Acknowledged means committed; the signed checkpoint covering it follows shortly.
      let before = '';
      for (let i = 0; i < 200 && before.split('\n')[1] !== '3'; i++) {
        before = (await server.app.inject({ url: '/log/checkpoint' })).body;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(before.split('\n').slice(0, 2)).toEqual(['test.pharos/log', '3']);

      const got = await server.app.inject({ url: `/api/v1/measurements/${items[2]!.id}` });
      expect(got.statusCode).toBe(200);
      const stored = got.json() as {
        measurement: unknown;
        log_index: number;
        probe_key: string;
        signature: string;
      };
      expect(stored.log_index).toBe(results[2]!.log_index);
      expect(stored.measurement).toEqual(JSON.parse(items[2]!.canonical));
      expect(stored.signature).toBe(items[2]!.item.signature);
      const proof = await server.app.inject({ url: `/api/v1/measurements/${items[2]!.id}/proof` });
      expect(proof.body).toMatch(/^c2sp\.org\/tlog-proof@v1\n/);

      const replay = await post(server.app, body([items[1]!]));
      expect(replay.json()).toEqual({
        results: [{ id: items[1]!.id, log_index: results[1]!.log_index, duplicate: true }],
      });
      const bad = withFlippedSignature(body(signed(2)));
      expect((await post(server.app, bad)).statusCode).toBe(400);
      expect((await server.app.inject({ url: '/log/checkpoint' })).body).toBe(before);
    } finally {
      await server?.close();
      server = undefined;
      await rm(dir, { recursive: true, force: true });
    }
  });
});

function withFlippedSignature(text: string): string {
  const batch = JSON.parse(text) as { measurements: { signature: string }[] };
  const sig = Buffer.from(batch.measurements[1]!.signature, 'base64');
  sig[0]! ^= 0x80;
  batch.measurements[1]!.signature = sig.toString('base64');
  return JSON.stringify(batch);
}
