/**
 * The evidence log over HTTP (Fastify inject, no sockets): C2SP tlog-tiles paths with their
 * content types and cache headers, measurements and proofs, and a clear 400 for every bad
 * parameter, 404 for what the published log does not have.
 */
import {
  leafHash,
  MemoryTree,
  openCheckpoint,
  parseVerifierKey,
  TILE_WIDTH,
  utf8,
  verifyCheckpointConsistency,
  verifyInclusion,
  verifyTlogProof,
} from '@pharos/core';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EvidenceStore, evidenceRoutes, openEvidenceStore } from '../src/evidence/index.js';
import { incoming, sampleMeasurement, tempDir, testProbe } from './evidence-fixtures.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let store: EvidenceStore;
let app: FastifyInstance;
let checkpoint200 = '';
let tree: MemoryTree;
const probe = testProbe();
const ms = Array.from({ length: 300 }, (_, i) => incoming(probe, sampleMeasurement(i, { bytes: 300 })));

beforeAll(async () => {
  tmp = await tempDir('pharos-evidence-routes-');
  store = await openEvidenceStore({ dataDir: tmp.dir });
  await store.append(ms.slice(0, 200));
  for (let i = 0; i < 500 && store.treeSize() < 200; i++) await new Promise((r) => setTimeout(r, 10));
  checkpoint200 = store.checkpoint();
  await store.append(ms.slice(200));
  for (let i = 0; i < 500 && store.treeSize() < 300; i++) await new Promise((r) => setTimeout(r, 10));
  const entries = await Promise.all(ms.map(async (m) => utf8((await store.getMeasurement(m.id))!.entry)));
  tree = new MemoryTree(entries.map(leafHash));
  app = Fastify();
  await app.register(evidenceRoutes(store));
  await app.ready();
});
afterAll(async () => {
  await app.close();
  await store.close();
  await tmp.remove();
});

const get = (url: string) => app.inject({ method: 'GET', url });

describe('tlog-tiles', () => {
  it('serves the checkpoint and the vkey as text', async () => {
    const cp = await get('/log/checkpoint');
    expect(cp.statusCode).toBe(200);
    expect(cp.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(cp.headers['cache-control']).toBe('no-cache');
    const vkey = await get('/log/vkey');
    expect(vkey.body).toBe(`${store.vkey}\n`);
    expect(vkey.body).toMatch(/^pharos\.local\/log\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*\n$/);
    const opened = openCheckpoint(cp.body, parseVerifierKey(vkey.body.trim()));
    expect(opened).toMatchObject({ ok: true, checkpoint: { origin: 'pharos.local/log', size: 300 } });
  });

  it('serves full and partial tiles and bundles as immutable bytes', async () => {
    const full = await get('/log/tile/0/000');
    expect(full.statusCode).toBe(200);
    expect(full.headers['content-type']).toBe('application/octet-stream');
    expect(full.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(full.rawPayload.length).toBe(TILE_WIDTH * 32);
    const partial = await get('/log/tile/0/001.p/44');
    expect(partial.rawPayload.length).toBe(44 * 32);
    expect((await get('/log/tile/0/001.p/10')).rawPayload).toEqual(partial.rawPayload.subarray(0, 320));
    expect((await get('/log/tile/0/000.p/3')).rawPayload).toEqual(full.rawPayload.subarray(0, 96));
    expect((await get('/log/tile/1/000.p/1')).rawPayload.length).toBe(32);
    const bundle = await get('/log/tile/entries/001.p/44');
    expect(bundle.statusCode).toBe(200);
    expect(bundle.headers['content-type']).toBe('application/octet-stream');
  });

  it('answers 404 beyond the tree and 400 for what is not a tile path', async () => {
    for (const url of [
      '/log/tile/0/001',
      '/log/tile/0/001.p/45',
      '/log/tile/0/002.p/1',
      '/log/tile/1/000',
      '/log/tile/3/000.p/1',
      '/log/tile/entries/005',
    ]) {
      const r = await get(url);
      expect(r.statusCode, url).toBe(404);
      expect(r.json().error).toMatch(/no such (tile|entry bundle) in the published log \(size 300\)/);
    }
    for (const url of [
      '/log/tile/0/1',
      '/log/tile/0/000.p/256',
      '/log/tile/0/000.p/0',
      '/log/tile/x/000',
      '/log/tile/0/x000/001',
      '/log/tile/64/000',
    ]) {
      const r = await get(url);
      expect(r.statusCode, url).toBe(400);
      expect(r.json().error).toMatch(/not a tile path/);
    }
  });
});

describe('measurements and proofs', () => {
  it('serves a stored measurement with its entry, and a tlog-proof for it', async () => {
    const m = ms[123]!;
    const r = await get(`/api/v1/measurements/${m.id}`);
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body).toMatchObject({
      id: m.id,
      log_index: 123,
      probe_key: probe.publicKey,
      signature: m.signature,
      late: false,
    });
    expect(body.measurement).toEqual(m.measurement);
    const proof = await get(`/api/v1/measurements/${m.id}/proof`);
    expect(proof.statusCode).toBe(200);
    expect(proof.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(proof.body.startsWith('c2sp.org/tlog-proof@v1\nextra ')).toBe(true);
    expect(
      verifyTlogProof(proof.body, parseVerifierKey(store.vkey), { entry: utf8(body.entry) }),
    ).toMatchObject({ ok: true, index: 123 });
  });

  it('answers 404 for an unknown id and 400 for a malformed one', async () => {
    expect((await get(`/api/v1/measurements/${'0'.repeat(64)}`)).statusCode).toBe(404);
    expect((await get(`/api/v1/measurements/${'0'.repeat(64)}/proof`)).statusCode).toBe(404);
    for (const id of ['abc', 'A'.repeat(64), `${'0'.repeat(63)}g`]) {
      const r = await get(`/api/v1/measurements/${id}`);
      expect(r.statusCode).toBe(400);
      expect(r.json().error).toMatch(/64 lower-case hex digits/);
      expect((await get(`/api/v1/measurements/${id}/proof`)).statusCode).toBe(400);
    }
  });

  it('gives inclusion proofs as JSON with base64 hashes', async () => {
    const r = await get('/api/v1/log/proof/inclusion?index=17&size=200');
    expect(r.statusCode).toBe(200);
    const { index, tree_size, hashes } = r.json();
    expect([index, tree_size]).toEqual([17, 200]);
    const entry = utf8((await store.getMeasurement(ms[17]!.id))!.entry);
    const proof = (hashes as string[]).map((h) => Buffer.from(h, 'base64'));
    expect(verifyInclusion(17, 200, leafHash(entry), proof, tree.root(200))).toEqual({ ok: true });
    expect((await get('/api/v1/log/proof/inclusion?index=299')).json().tree_size).toBe(300);
  });

  it('gives consistency proofs as JSON, or as text lines with format=text', async () => {
    const verifier = parseVerifierKey(store.vkey);
    const older = openCheckpoint(checkpoint200, verifier);
    const newer = openCheckpoint(store.checkpoint(), verifier);
    if (!older.ok || !newer.ok) throw new Error('checkpoints do not verify');
    const json = await get('/api/v1/log/proof/consistency?from=200&to=300');
    expect(json.statusCode).toBe(200);
    expect(json.json()).toMatchObject({ from: 200, to: 300 });
    const proof = (json.json().hashes as string[]).map((h) => Buffer.from(h, 'base64'));
    expect(verifyCheckpointConsistency(older.checkpoint, newer.checkpoint, proof)).toEqual({ ok: true });
    const text = await get('/api/v1/log/proof/consistency?from=200&format=text');
    expect(text.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(text.body).toBe(
      json
        .json()
        .hashes.map((h: string) => `${h}\n`)
        .join(''),
    );
    expect((await get('/api/v1/log/proof/consistency?from=0&to=300')).json().hashes).toEqual([]);
    expect((await get('/api/v1/log/proof/consistency?from=300')).json()).toEqual({
      from: 300,
      to: 300,
      hashes: [],
    });
  });

  it('answers 400 with the parameter named for every bad query', async () => {
    const cases: Array<[string, RegExp]> = [
      ['/api/v1/log/proof/inclusion', /index must be given once/],
      ['/api/v1/log/proof/inclusion?index=abc', /index must be a non-negative decimal integer/],
      ['/api/v1/log/proof/inclusion?index=-1', /index must be a non-negative decimal integer/],
      ['/api/v1/log/proof/inclusion?index=01', /index must be a non-negative decimal integer/],
      ['/api/v1/log/proof/inclusion?index=1&index=2', /index must be given once/],
      ['/api/v1/log/proof/inclusion?index=300', /log index 300 is not in a tree of size 300/],
      [
        '/api/v1/log/proof/inclusion?index=1&size=301',
        /tree size 301 is beyond the published log \(size 300\)/,
      ],
      [
        '/api/v1/log/proof/inclusion?index=1&size=99999999999999999',
        /size must be a non-negative decimal integer/,
      ],
      ['/api/v1/log/proof/inclusion?index=1&color=red', /unknown query parameter color/],
      ['/api/v1/log/proof/consistency?to=5', /from must be given once/],
      ['/api/v1/log/proof/consistency?from=10&to=5', /size1 10 is larger than size2 5/],
      ['/api/v1/log/proof/consistency?from=1&to=400', /size 400 is beyond the published log/],
      ['/api/v1/log/proof/consistency?from=1&format=xml', /format must be json or text/],
    ];
    for (const [url, message] of cases) {
      const r = await get(url);
      expect(r.statusCode, url).toBe(400);
      expect(r.json().error, url).toMatch(message);
    }
  });
});
