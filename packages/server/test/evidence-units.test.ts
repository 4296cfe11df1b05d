/**
 * The evidence store's small parts, against core's reference implementations: native hashing and
 * checkpoint signing give the same bytes, the id index finds every candidate, log entries parse
 * strictly, and the tile edge computes exactly core's tiles at every size.
 */
import {
  CompactTree,
  canonicalJSON,
  sha256Hex as coreSha256Hex,
  encodeEntryBundle,
  generateNoteKey,
  leafHash,
  MemoryTree,
  parseSignerKey,
  seededRandom,
  signCheckpoint,
  tileHashes,
  tilesForTreeSize,
  utf8,
} from '@pharos/core';
import { describe, expect, it } from 'vitest';
import { EntryFormatError, formatMeasurementEntry, parseMeasurementEntry } from '../src/evidence/entry.js';
import { leafHashOf, sha256Hex } from '../src/evidence/hashing.js';
import { IdIndex } from '../src/evidence/id-index.js';
import { fastNoteSigner } from '../src/evidence/node-ed25519.js';
import { TileEdge } from '../src/evidence/tile-edge.js';

describe('native crypto', () => {
  it('hashes like core', () => {
    for (const text of ['', 'a', 'é😀', 'x'.repeat(10_000)]) {
      expect(sha256Hex(text)).toBe(coreSha256Hex(text));
      expect(Buffer.from(leafHashOf(utf8(text)))).toEqual(Buffer.from(leafHash(utf8(text))));
    }
  });

  it('signs checkpoints with the same bytes as core', () => {
    const signer = parseSignerKey(generateNoteKey('pharos.local/log').skey);
    const cp = { origin: 'pharos.local/log', size: 42, rootHash: new Uint8Array(32).fill(3) };
    expect(signCheckpoint(cp, [fastNoteSigner(signer)])).toBe(signCheckpoint(cp, [signer]));
  });
});

describe('IdIndex', () => {
  it('returns every log index whose id shares the 64-bit prefix, across growth', () => {
    const index = new IdIndex(4);
    const ids = Array.from({ length: 5000 }, (_, i) => sha256Hex(String(i)));
    for (const [i, id] of ids.entries()) index.add(id, i);
    expect(index.size).toBe(5000);
    for (const [i, id] of ids.entries()) expect(index.candidates(id)).toEqual([i]);
    expect(index.candidates(sha256Hex('absent'))).toEqual([]);
    // Two ids with the same first 16 hex digits are both candidates; the store confirms which.
    const twin = `${ids[7]!.slice(0, 16)}${'0'.repeat(48)}`;
    index.add(twin, 9999);
    expect(index.candidates(twin).sort()).toEqual([7, 9999]);
    expect(index.candidates(ids[7]!).sort()).toEqual([7, 9999]);
  });
});

describe('log entries', () => {
  const fields = {
    sha256: 'ab'.repeat(32),
    probeKey: Buffer.alloc(32, 1).toString('base64'),
    received: new Date('2024-01-02T03:04:05.006Z'),
    scrubbed: false,
  };

  it('round-trip, in canonical member order', () => {
    const text = formatMeasurementEntry(fields);
    expect(text).toBe(
      `{"kind":"measurement","probe_key":"${fields.probeKey}","received":"2024-01-02T03:04:05.006Z","scrubbed":false,"sha256":"${fields.sha256}"}`,
    );
    expect(parseMeasurementEntry(text)).toEqual(JSON.parse(text));
  });

  it('are the canonical JSON of their members, for any key, hash, time and flag', () => {
    const random = seededRandom(3);
    for (let i = 0; i < 2000; i++) {
      const f = {
        sha256: Buffer.from(Array.from({ length: 32 }, () => Math.floor(random() * 256))).toString('hex'),
        probeKey: Buffer.from(Array.from({ length: 32 }, () => Math.floor(random() * 256))).toString(
          'base64',
        ),
        received: new Date(Math.floor(random() * 8e12)),
        scrubbed: random() < 0.5,
      };
      expect(formatMeasurementEntry(f)).toBe(
        canonicalJSON({
          kind: 'measurement',
          sha256: f.sha256,
          probe_key: f.probeKey,
          received: f.received.toISOString(),
          scrubbed: f.scrubbed,
        }),
      );
    }
  });

  it('refuse anything that is not exactly the documented form', () => {
    const good = JSON.parse(formatMeasurementEntry(fields));
    const bad: Array<[string, RegExp]> = [
      [JSON.stringify(good, null, 1), /not in RFC 8785 canonical form/],
      [canonicalJSON({ ...good, extra: 1 }), /has members/],
      [canonicalJSON({ ...good, kind: 'incident' }), /kind is "incident"/],
      [canonicalJSON({ ...good, sha256: 'AB'.repeat(32) }), /sha256 is not 64 lower-case hex/],
      [canonicalJSON({ ...good, probe_key: 'abc=' }), /probe_key is not the base64 of a 32-byte key/],
      [canonicalJSON({ ...good, received: '2024-01-02T03:04:05Z' }), /received is not an ISO 8601/],
      [canonicalJSON({ ...good, scrubbed: 'no' }), /scrubbed is not true or false/],
      ['[1]', /not a JSON object/],
      ['{', /not JSON/],
    ];
    for (const [text, message] of bad) {
      expect(() => parseMeasurementEntry(text)).toThrow(EntryFormatError);
      expect(() => parseMeasurementEntry(text)).toThrow(message);
    }
  });
});

describe('TileEdge', () => {
  it('computes core’s tiles and bundles at every size, completed and partial', () => {
    const entries = Array.from({ length: 70_000 }, (_, i) => utf8(`entry ${i}`));
    const leaves = entries.map(leafHash);
    const tree = new CompactTree();
    const edge = new TileEdge();
    const full = new MemoryTree(leaves);
    const written = new Map<string, Uint8Array>();
    const checkAt = new Set([1, 255, 256, 257, 511, 65_535, 65_536, 65_537, 70_000]);
    for (let i = 0; i < entries.length; i++) {
      edge.addLeaf(entries[i]!, tree.append(leaves[i]!));
      for (const t of edge.completed) written.set(`${t.level}/${t.index}`, t.data);
      edge.drop(edge.completed);
      if (!checkAt.has(i + 1)) continue;
      const size = i + 1;
      const partials = new Map(edge.partials().map((t) => [`${t.level}/${t.index}`, t]));
      for (const ref of tilesForTreeSize(size)) {
        const key = `${ref.level}/${ref.index}`;
        const got = ref.width === 256 ? written.get(key) : partials.get(key)?.data;
        const want = tileHashes(ref, (level, index) => {
          // Complete subtrees of a tree of `size` leaves are complete in the full tree too.
          return full.hashAt(level, index);
        });
        // Buffer.equals: vitest's deep equality takes milliseconds per 8 KB tile.
        expect(got !== undefined && Buffer.from(got).equals(Buffer.from(want)), `${key} at ${size}`).toBe(
          true,
        );
      }
      const lastBundle = Math.floor(size / 256);
      if (size % 256 !== 0) {
        expect(Buffer.from(partials.get(`entries/${lastBundle}`)!.data)).toEqual(
          Buffer.from(encodeEntryBundle(entries.slice(lastBundle * 256, size))),
        );
      }
    }
    expect(Buffer.from(written.get('entries/0')!)).toEqual(
      Buffer.from(encodeEntryBundle(entries.slice(0, 256))),
    );
  });

  it('resumes from the partial tiles and bundle of a size', () => {
    const entries = Array.from({ length: 700 }, (_, i) => utf8(`e${i}`));
    const leaves = entries.map(leafHash);
    const full = new MemoryTree(leaves);
    const partials = [
      Array.from({ length: 700 % 256 }, (_, i) => full.hashAt(0, 512 + i)),
      [full.hashAt(8, 0), full.hashAt(8, 1)],
    ];
    const tree = new CompactTree(
      700,
      new CompactTree().borderHashes().length === 0 ? borderOf(full, 700) : [],
    );
    const edge = new TileEdge(700, partials, entries.slice(512));
    for (let i = 700; i < 768; i++) {
      const e = utf8(`e${i}`);
      edge.addLeaf(e, tree.append(leafHash(e)));
    }
    const done = new MemoryTree([
      ...leaves,
      ...Array.from({ length: 68 }, (_, i) => leafHash(utf8(`e${700 + i}`))),
    ]);
    const tile = edge.completed.find((t) => t.level === 0 && t.index === 2)!;
    expect(Buffer.from(tile.data)).toEqual(
      Buffer.from(tileHashes({ level: 0, index: 2, width: 256 }, done.hashAt)),
    );
    expect(edge.completed.some((t) => t.level === 'entries' && t.index === 2)).toBe(true);
  });
});

function borderOf(tree: MemoryTree, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  for (let bit = 2 ** Math.floor(Math.log2(size)); bit >= 1; bit /= 2) {
    if (size & bit) {
      out.push(tree.hashAt(Math.log2(bit), start / bit));
      start += bit;
    }
  }
  return out;
}
