/**
 * The evidence store: append order and deduplication, log entries as docs/evidence-log.md says,
 * durability across close and reopen, tiles identical to core's computation, proofs that verify
 * with core, and checkpoints that stay consistent with each other across restarts.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  bytesEqual,
  canonicalJSON,
  decodeEntryBundle,
  encodeEntryBundle,
  entryBundlePath,
  leafHash,
  MemoryTree,
  openCheckpoint,
  parseVerifierKey,
  sha256Hex,
  tileHashes,
  tilePath,
  tilesForTreeSize,
  utf8,
  verifyCheckpointConsistency,
  verifyConsistency,
  verifyInclusion,
  verifyTlogProof,
} from '@pharos/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type EvidenceStore, openEvidenceStore } from '../src/evidence/index.js';
import { incoming, sampleMeasurement, tempDir, testProbe } from './evidence-fixtures.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let store: EvidenceStore | undefined;
const probe = testProbe();

beforeEach(async () => {
  tmp = await tempDir('pharos-evidence-');
});
afterEach(async () => {
  await store?.close();
  store = undefined;
  await tmp.remove();
});

async function open(): Promise<EvidenceStore> {
  store = await openEvidenceStore({ dataDir: tmp.dir });
  return store;
}

async function reopen(): Promise<EvidenceStore> {
  await store?.close();
  return open();
}

function batch(from: number, count: number, bytes = 800) {
  return Array.from({ length: count }, (_, i) => incoming(probe, sampleMeasurement(from + i, { bytes })));
}

function opened(s: EvidenceStore, note = s.checkpoint()) {
  const v = openCheckpoint(note, parseVerifierKey(s.vkey));
  if (!v.ok) throw new Error(v.reason);
  return v.checkpoint;
}

/** Waits until the store serves a checkpoint of at least `size`. */
async function published(s: EvidenceStore, size: number): Promise<void> {
  for (let i = 0; i < 500 && s.treeSize() < size; i++) await new Promise((r) => setTimeout(r, 10));
  expect(s.treeSize()).toBeGreaterThanOrEqual(size);
}

describe('append', () => {
  it('numbers new measurements in order and returns the original index for duplicates', async () => {
    const s = await open();
    const first = batch(0, 3);
    expect(await s.append(first)).toEqual(
      first.map((m, i) => ({ id: m.id, log_index: i, duplicate: false, late: false })),
    );

    const [extra] = batch(3, 1);
    const again = await s.append([first[1]!, extra!, first[1]!, first[0]!]);
    expect(again).toEqual([
      { id: first[1]!.id, log_index: 1, duplicate: true, late: false },
      { id: extra!.id, log_index: 3, duplicate: false, late: false },
      { id: first[1]!.id, log_index: 1, duplicate: true, late: false },
      { id: first[0]!.id, log_index: 0, duplicate: true, late: false },
    ]);
    // A measurement twice in one batch is stored once.
    const [twice] = batch(4, 1);
    expect((await s.append([twice!, twice!])).map((r) => [r.log_index, r.duplicate])).toEqual([
      [4, false],
      [4, true],
    ]);
    await published(s, 5);
    expect(opened(s).size).toBe(5);
  });

  it('stores a measurement once when concurrent appends (staged while others commit) share it', async () => {
    const s = await open();
    const ms = batch(0, 60, 400);
    // Each append shares half its measurements with the one before, so duplicates cross groups.
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, k) => s.append(ms.slice(k * 5, k * 5 + 10))),
    );
    const byId = new Map<string, number>();
    for (const r of results.flat()) {
      const first = byId.get(r.id);
      if (first === undefined) byId.set(r.id, r.log_index);
      else expect(r.log_index).toBe(first);
    }
    expect(results.flat().filter((r) => !r.duplicate)).toHaveLength(55);
    expect([...byId.values()].sort((a, b) => a - b)).toEqual(Array.from({ length: 55 }, (_, i) => i));
    expect((await s.verifyIntegrity()).ok).toBe(true);
  });

  it('coalesces concurrent appends and keeps each caller’s order', async () => {
    const s = await open();
    const batches = Array.from({ length: 25 }, (_, b) => batch(b * 8, 8, 400));
    const results = await Promise.all(batches.map((b) => s.append(b)));
    for (const [b, r] of results.entries()) expect(r.map((x) => x.id)).toEqual(batches[b]!.map((m) => m.id));
    const indexes = results.flat().map((r) => r.log_index);
    expect([...indexes].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    for (const r of results) {
      // Within one append the indexes are consecutive: one transaction, in order.
      for (let i = 1; i < r.length; i++) expect(r[i]!.log_index).toBe(r[i - 1]!.log_index + 1);
    }
  });

  it('refuses input that is not what it claims, storing nothing', async () => {
    const s = await open();
    const [m] = batch(0, 1);
    await expect(s.append([{ ...m!, body: 'text' as unknown as Uint8Array }])).rejects.toThrow(
      /body is not bytes/,
    );
    await expect(s.append([{ ...m!, probeKey: 'short' }])).rejects.toThrow(/probeKey/);
    expect(await s.getMeasurement(m!.id)).toBeNull();
    expect((await s.append([m!]))[0]!.log_index).toBe(0);
  });

  it('marks late measurements and keeps the collector metadata beside the body', async () => {
    const s = await open();
    // Whole seconds: OONI start times have no fraction.
    const receivedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
    const late = incoming(
      probe,
      sampleMeasurement(1, { start: new Date(receivedAt.getTime() - 3_600_000), runtime: 10 }),
      {
        receivedAt,
      },
    );
    const onTime = incoming(probe, sampleMeasurement(2, { start: new Date(receivedAt.getTime() - 20_000) }), {
      receivedAt,
    });
    const results = await s.append([late, onTime]);
    expect(results.map((r) => r.late)).toEqual([true, false]);
    const stored = await s.getMeasurement(late.id);
    expect(stored).toMatchObject({
      id: late.id,
      log_index: 0,
      late: true,
      upload_delay_seconds: 3590,
      received: receivedAt.toISOString(),
      probe_key: probe.publicKey,
      signature: late.signature,
      scrubbed: false,
      network: {
        derived_cc: 'AZ',
        derived_asn: 28787,
        claimed_cc: 'AZ',
        claimed_asn: 'AS28787',
        location_mismatch: false,
      },
    });
    expect(stored!.measurement).toEqual(late.measurement);
    // A duplicate reports the original's lateness.
    expect((await s.append([late]))[0]).toEqual({ id: late.id, log_index: 0, duplicate: true, late: true });
  });
});

describe('log entries', () => {
  it('are the canonical JSON of {kind, sha256, probe_key, received, scrubbed}', async () => {
    const s = await open();
    const receivedAt = new Date('2024-05-06T07:08:09.123Z');
    const plain = incoming(probe, sampleMeasurement(1), { receivedAt });
    const scrubbed = incoming(probe, sampleMeasurement(2, { probeIP: '198.51.100.7' }), {
      receivedAt,
      scrub: '198.51.100.7',
    });
    await s.append([plain, scrubbed]);
    const a = await s.getMeasurement(plain.id);
    expect(a!.entry).toBe(
      canonicalJSON({
        kind: 'measurement',
        sha256: plain.id,
        probe_key: probe.publicKey,
        received: '2024-05-06T07:08:09.123Z',
        scrubbed: false,
      }),
    );
    const b = await s.getMeasurement(scrubbed.id);
    // Scrubbed: the entry commits to the stored (scrubbed) body, not to the id of what was signed.
    expect(JSON.parse(b!.entry)).toEqual({
      kind: 'measurement',
      sha256: sha256Hex(scrubbed.body),
      probe_key: probe.publicKey,
      received: '2024-05-06T07:08:09.123Z',
      scrubbed: true,
    });
    expect(sha256Hex(scrubbed.body)).not.toBe(scrubbed.id);
    expect(JSON.stringify(b!.measurement)).toContain('[scrubbed]');
    await published(s, 2);
    const bundle = await s.entryBundle(0, 2);
    expect(Buffer.from(bundle!)).toEqual(Buffer.from(encodeEntryBundle([utf8(a!.entry), utf8(b!.entry)])));
  });
});

describe('durability and restarts', () => {
  it('keeps appending across database checkpoints (the WAL deleted and created again)', async () => {
    store = await openEvidenceStore({ dataDir: tmp.dir, checkpointThreshold: '64KB' });
    const wal = path.join(tmp.dir, 'pharos.duckdb.wal');
    const walSizes: number[] = [];
    const ids: string[] = [];
    for (let from = 0; from < 1500; from += 100) {
      for (const r of await store.append(batch(from, 100))) ids.push(r.id);
      walSizes.push((await stat(wal).catch(() => ({ size: 0 }))).size);
    }
    // Rows of 1,500 measurements are far more than 64 KB: the WAL was emptied again and again.
    expect(Math.max(...walSizes)).toBeLessThan(256 * 1024);
    expect((await store.verifyIntegrity()).ok).toBe(true);
    const s = await reopen();
    expect(s.treeSize()).toBe(1500);
    expect((await s.getMeasurement(ids[1234]!))!.log_index).toBe(1234);
  });

  it('keeps every acknowledged measurement and the log across close and reopen', async () => {
    let s = await open();
    const first = batch(0, 40);
    await s.append(first);
    await published(s, 40);
    const before = s.checkpoint();
    s = await reopen();
    expect(s.checkpoint()).toBe(before);
    expect(s.treeSize()).toBe(40);
    for (const m of first) expect((await s.getMeasurement(m.id))?.log_index).toBe(first.indexOf(m));
    // Deduplication survives the restart; numbering continues.
    const more = batch(40, 5);
    const results = await s.append([first[7]!, ...more]);
    expect(results[0]).toMatchObject({ log_index: 7, duplicate: true });
    expect(results.slice(1).map((r) => r.log_index)).toEqual([40, 41, 42, 43, 44]);
  });

  it('serves checkpoints that are all consistent with each other, across restarts', async () => {
    let s = await open();
    const served: string[] = [s.checkpoint()];
    let next = 0;
    for (let round = 0; round < 3; round++) {
      for (let k = 0; k < 4; k++) {
        await s.append(batch(next, 1 + k * 37));
        next += 1 + k * 37;
        await published(s, next);
        served.push(s.checkpoint());
      }
      s = await reopen();
      served.push(s.checkpoint());
    }
    const verifier = parseVerifierKey(s.vkey);
    for (let i = 0; i < served.length; i++) {
      const older = opened(s, served[i]);
      for (let j = i; j < served.length; j++) {
        const newer = opened(s, served[j]);
        const proof = await s.consistencyProof(older.size, newer.size);
        expect(verifyCheckpointConsistency(older, newer, proof)).toEqual({ ok: true });
      }
    }
    expect(openCheckpoint(served.at(-1)!, verifier).ok).toBe(true);
  });
});

describe('tiles and proofs', () => {
  const N = 600;

  it('match core’s tile computation, on disk and served', async () => {
    const s = await open();
    for (let from = 0; from < N; from += 150) await s.append(batch(from, 150, 300));
    await published(s, N);
    const bundles = [await s.entryBundle(0), await s.entryBundle(1), await s.entryBundle(2, N - 512)];
    const entries = bundles.flatMap((b) => decodeEntryBundle(b!));
    expect(entries).toHaveLength(N);
    const tree = new MemoryTree(entries.map(leafHash));
    expect(bytesEqual(opened(s).rootHash, tree.root())).toBe(true);

    const refs = tilesForTreeSize(N);
    expect(refs.map(tilePath)).toEqual(['tile/0/000', 'tile/0/001', 'tile/0/002.p/88', 'tile/1/000.p/2']);
    for (const ref of refs) {
      const want = tileHashes(ref, tree.hashAt);
      expect(Buffer.from((await s.tile(ref.level, ref.index, ref.width))!)).toEqual(Buffer.from(want));
      const onDisk = await readFile(path.join(tmp.dir, 'log', tilePath(ref)));
      expect(onDisk).toEqual(Buffer.from(want));
      // Any narrower width is the tile's prefix.
      expect(Buffer.from((await s.tile(ref.level, ref.index, 1))!)).toEqual(
        Buffer.from(want.subarray(0, 32)),
      );
    }
    expect(await readFile(path.join(tmp.dir, 'log', entryBundlePath(2, 88)))).toEqual(
      Buffer.from(bundles[2]!),
    );
    // Only the widest partial of each tile stays on disk.
    expect(await readdir(path.join(tmp.dir, 'log/tile/0/002.p'))).toEqual(['88']);
    expect(await readdir(path.join(tmp.dir, 'log/tile/entries/002.p'))).toEqual(['88']);
    // Nothing beyond the published tree.
    expect(await s.tile(0, 2)).toBeNull();
    expect(await s.tile(0, 2, 89)).toBeNull();
    expect(await s.tile(0, 3, 1)).toBeNull();
    expect(await s.tile(2, 0, 1)).toBeNull();
    expect(await s.entryBundle(3, 1)).toBeNull();
    expect(await readFile(path.join(tmp.dir, 'log/checkpoint'), 'utf8')).toBe(s.checkpoint());

    // Inclusion proofs at the current and earlier sizes, and consistency proofs, verify with core.
    for (const [index, size] of [
      [0, N],
      [255, N],
      [256, N],
      [599, N],
      [17, 18],
      [300, 513],
      [5, 256],
    ] as const) {
      const proof = await s.inclusionProof(index, size);
      expect(verifyInclusion(index, size, leafHash(entries[index]!), proof, tree.root(size))).toEqual({
        ok: true,
      });
    }
    for (const [a, b] of [
      [1, N],
      [256, 512],
      [255, 257],
      [100, 600],
      [N, N],
    ] as const) {
      const proof = await s.consistencyProof(a, b);
      expect(verifyConsistency(a, b, proof, tree.root(a), tree.root(b))).toEqual({ ok: true });
    }
    expect(await s.consistencyProof(0, 10)).toEqual([]);
    await expect(s.inclusionProof(N, N)).rejects.toThrow(/not in a tree of size/);
    await expect(s.inclusionProof(1, N + 1)).rejects.toThrow(/beyond the published log/);
    await expect(s.consistencyProof(10, 5)).rejects.toThrow(/larger than/);
  });

  it('gives a tlog-proof that verifies offline against the latest checkpoint', async () => {
    const s = await open();
    const ms = batch(0, 70);
    await s.append(ms);
    const proof = await s.tlogProof(ms[33]!.id);
    const stored = await s.getMeasurement(ms[33]!.id);
    const verdict = verifyTlogProof(proof!, parseVerifierKey(s.vkey), { entry: utf8(stored!.entry) });
    expect(verdict).toMatchObject({ ok: true, index: 33 });
    if (verdict.ok) expect(Buffer.from(verdict.extra!).toString()).toBe(stored!.entry);
    expect(await s.tlogProof('0'.repeat(64))).toBeNull();
  });

  it('passes its own integrity check', async () => {
    const s = await open();
    await s.append(batch(0, 300, 300));
    await s.append(batch(300, 20, 300));
    await published(s, 320);
    const report = await s.verifyIntegrity();
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({
      ok: true,
      treeSize: 320,
      checked: { entries: 320, measurements: 320, signatures: 320, tiles: 3, entryBundles: 2 },
    });
  });
});

describe('the data directory', () => {
  it('keeps the log key private, its vkey beside it, and refuses another origin later', async () => {
    const { stat } = await import('node:fs/promises');
    store = await openEvidenceStore({ dataDir: tmp.dir, origin: 'observatory.example.org/log' });
    expect(store.origin).toBe('observatory.example.org/log');
    expect((await stat(path.join(tmp.dir, 'keys/log.key'))).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(tmp.dir, 'keys'))).mode & 0o777).toBe(0o700);
    expect(await readFile(path.join(tmp.dir, 'keys/log.vkey'), 'utf8')).toBe(`${store.vkey}\n`);
    expect(store.checkpoint().startsWith('observatory.example.org/log\n0\n')).toBe(true);
    await expect(openEvidenceStore({ dataDir: tmp.dir })).rejects.toThrow(/already open in this process/);
    await store.close();
    store = undefined;
    await expect(openEvidenceStore({ dataDir: tmp.dir, origin: 'other.example/log' })).rejects.toThrow(
      /signs for origin "observatory.example.org\/log", not "other.example\/log": a log's origin cannot change/,
    );
    // Without an origin the existing one is used.
    expect((await open()).origin).toBe('observatory.example.org/log');
  });

  it('rebuilds deleted tiles from the database at startup', async () => {
    const { rm } = await import('node:fs/promises');
    let s = await open();
    await s.append(batch(0, 300, 300));
    await published(s, 300);
    const before = s.checkpoint();
    const tile = await s.tile(0, 0);
    await s.close();
    store = undefined;
    await rm(path.join(tmp.dir, 'log'), { recursive: true });
    s = await open();
    expect(s.checkpoint()).toBe(before);
    expect(Buffer.from((await s.tile(0, 0))!)).toEqual(Buffer.from(tile!));
    expect(await readFile(path.join(tmp.dir, 'log/checkpoint'), 'utf8')).toBe(before);
    expect((await s.verifyIntegrity()).problems).toEqual([]);
  });
});
