/**
 * A tiny collector for the upload tests, on 127.0.0.1: it speaks the submission format of
 * docs/evidence-log.md (gzip bodies, signature checks, dedupe by id, `{results: [...]}`), written
 * from the document and node:crypto, not from the probe's code, so it checks the probe rather than
 * agreeing with it. Switches make it fail the ways networks and servers fail.
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import {
  createServer as createHTTPServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHTTPSServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { canonicalJSON } from '@pharos/core';

export type Behaviour =
  /** Store and answer 200 (after `delayMs`). */
  | { kind: 'accept'; delayMs?: number }
  /** Read the request, store nothing, cut the connection: a network failure. */
  | { kind: 'drop' }
  /** Store, then cut the connection before answering: the acknowledgement is lost. */
  | { kind: 'store-then-drop' }
  /** Answer with this status (and Retry-After), storing nothing. */
  | { kind: 'status'; status: number; retryAfter?: string; body?: string };

export interface BatchSeen {
  ids: string[];
  /** Bytes on the wire (the gzip body). */
  bodyBytes: number;
  gzip: boolean;
}

export interface StoredMeasurement {
  logIndex: number;
  probeKey: string;
  measurement: Record<string, unknown>;
}

export interface FakeCollector {
  url: string;
  stored: Map<string, StoredMeasurement>;
  /** How many times each id arrived in a request, whatever happened to it. */
  arrivals: Map<string, number>;
  batches: BatchSeen[];
  /** Decides what to do with each request, after its body was read. */
  behave: (choose: (batch: BatchSeen, requestNumber: number) => Behaviour) => void;
  /** Called after a batch is stored (before any answer is sent). */
  onStored: (callback: ((batch: BatchSeen) => void) | null) => void;
  /** Refuse these ids with a 400 naming their index (as a bad signature would be). */
  refuse: (ids: Iterable<string>) => void;
  close: () => Promise<void>;
}

function rawKeyToPublicKey(base64: string) {
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(base64, 'base64').toString('base64url') },
    format: 'jwk',
  });
}

/** Checks one submission item as the document says; returns its id or a reason. */
function checkItem(item: unknown): { id: string } | { error: string } {
  const i = item as { measurement?: unknown; probe_key?: unknown; signature?: unknown };
  if (typeof i?.measurement !== 'object' || i.measurement === null)
    return { error: 'measurement is not an object' };
  if (typeof i.probe_key !== 'string' || Buffer.from(i.probe_key, 'base64').length !== 32)
    return { error: 'bad probe_key' };
  if (typeof i.signature !== 'string' || Buffer.from(i.signature, 'base64').length !== 64)
    return { error: 'bad signature' };
  const bytes = Buffer.from(canonicalJSON(i.measurement), 'utf8');
  if (!verify(null, bytes, rawKeyToPublicKey(i.probe_key), Buffer.from(i.signature, 'base64'))) {
    return { error: 'signature does not verify' };
  }
  return { id: createHash('sha256').update(bytes).digest('hex') };
}

export async function startFakeCollector(
  options: { tls?: { key: string; cert: string } } = {},
): Promise<FakeCollector> {
  const stored = new Map<string, StoredMeasurement>();
  const arrivals = new Map<string, number>();
  const batches: BatchSeen[] = [];
  const refused = new Set<string>();
  let choose: (batch: BatchSeen, n: number) => Behaviour = () => ({ kind: 'accept' });
  let storedCallback: ((batch: BatchSeen) => void) | null = null;
  const sockets = new Set<Socket>();

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/api/v1/measurements') {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Not Found"}');
        return;
      }
      const wire = Buffer.concat(chunks);
      const gzip = req.headers['content-encoding'] === 'gzip';
      let body: { format?: unknown; measurements?: unknown };
      try {
        body = JSON.parse((gzip ? gunzipSync(wire) : wire).toString('utf8'));
      } catch {
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end('{"error":"Bad Request","message":"body is not JSON"}');
        return;
      }
      if (body.format !== 'pharos-submission/v1' || !Array.isArray(body.measurements)) {
        res.writeHead(400).end('{"error":"Bad Request","message":"not a pharos-submission/v1"}');
        return;
      }
      const items = body.measurements as { measurement: Record<string, unknown>; probe_key: string }[];
      const checked = items.map(checkItem);
      const ids = checked.map((c) => ('id' in c ? c.id : ''));
      const batch: BatchSeen = { ids, bodyBytes: wire.length, gzip };
      batches.push(batch);
      for (const id of ids) arrivals.set(id, (arrivals.get(id) ?? 0) + 1);
      const behaviour = choose(batch, batches.length);
      if (behaviour.kind === 'drop') {
        req.socket.destroy();
        return;
      }
      if (behaviour.kind === 'status') {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (behaviour.retryAfter !== undefined) headers['retry-after'] = behaviour.retryAfter;
        res.writeHead(behaviour.status, headers).end(behaviour.body ?? '{"error":"try later"}');
        return;
      }
      // A batch is accepted or refused whole, naming the bad item.
      const bad = checked.findIndex((c, k) => 'error' in c || refused.has(ids[k]!));
      if (bad >= 0) {
        const c = checked[bad]!;
        const why = 'error' in c ? c.error : 'refused by the test';
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: 'Bad Request', message: `measurements[${bad}]: ${why}` }));
        return;
      }
      const results = items.map((item, k) => {
        const id = ids[k]!;
        const known = stored.get(id);
        if (known) return { id, log_index: known.logIndex, duplicate: true };
        const logIndex = stored.size;
        stored.set(id, { logIndex, probeKey: item.probe_key, measurement: item.measurement });
        return { id, log_index: logIndex, duplicate: false };
      });
      storedCallback?.(batch);
      if (behaviour.kind === 'store-then-drop') {
        req.socket.destroy();
        return;
      }
      const answer = () => {
        if (res.destroyed) return;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ results }));
      };
      if (behaviour.delayMs) setTimeout(answer, behaviour.delayMs);
      else answer();
    });
  };

  const server: Server = options.tls ? createHTTPSServer(options.tls, handler) : createHTTPServer(handler);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls ? 'https' : 'http'}://${options.tls ? 'localhost' : '127.0.0.1'}:${port}/`,
    stored,
    arrivals,
    batches,
    behave: (next) => {
      choose = next;
    },
    onStored: (callback) => {
      storedCallback = callback;
    },
    refuse: (ids) => {
      for (const id of ids) refused.add(id);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A measurement in the OONI envelope's shape, distinct per `n`. */
export function sampleMeasurement(n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const second = String(n % 60).padStart(2, '0');
  const minute = String(Math.floor(n / 60) % 60).padStart(2, '0');
  return {
    annotations: { engine_name: 'pharos-probe' },
    data_format_version: '0.2.0',
    extensions: {},
    input: `https://site${n}.example/`,
    measurement_start_time: `2024-02-07 10:${minute}:${second}`,
    options: [],
    probe_asn: 'AS29049',
    probe_cc: 'AZ',
    probe_ip: '127.0.0.1',
    probe_network_name: null,
    report_id: '20240207T101500Z_webconnectivity_AZ_29049_n1_abcdefghijklmnop',
    resolver_asn: 'AS0',
    resolver_ip: '127.0.0.2',
    resolver_network_name: null,
    software_name: 'pharos-probe',
    software_version: '0.1.0',
    test_helpers: null,
    test_keys: { blocking: false, accessible: true, body: 'x'.repeat(200 + (n % 7) * 50), n },
    test_name: 'web_connectivity',
    test_runtime: 0.5,
    test_start_time: '2024-02-07 10:15:00',
    test_version: '0.5.0',
    ...extra,
  };
}
