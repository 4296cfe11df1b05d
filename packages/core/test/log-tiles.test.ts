/**
 * C2SP tlog-tiles helpers: paths, tile sets per tree size (the spec's own examples), tile contents,
 * proofs answered from tiles alone (full and partial), and entry bundles.
 */
import { describe, expect, it } from 'vitest';
import {
  consistencyProof,
  consistencyProofAsync,
  decodeEntryBundle,
  encodeEntryBundle,
  entryBundlePath,
  inclusionProof,
  inclusionProofAsync,
  leafHash,
  MemoryTree,
  parseTilePath,
  subtreeHashesFromTiles,
  subtreeHashesFromTilesAsync,
  type TileRef,
  tileFromEntries,
  tileHashes,
  tileIndexPath,
  tilePath,
  tilesAdded,
  tilesForTreeSize,
  tileWidth,
  toHex,
  treeRoot,
  utf8,
  verifyConsistency,
  verifyInclusion,
} from '../src/index.js';

describe('tile paths', () => {
  it('encodes N in x-prefixed 3-digit groups, as the spec example', () => {
    expect(tileIndexPath(1234067)).toBe('x001/x234/067');
    expect(tileIndexPath(0)).toBe('000');
    expect(tileIndexPath(999)).toBe('999');
    expect(tileIndexPath(1000)).toBe('x001/000');
    expect(tileIndexPath(1_000_000_000)).toBe('x001/x000/x000/000');
    expect(tilePath({ level: 0, index: 1234067, width: 256 })).toBe('tile/0/x001/x234/067');
    expect(tilePath({ level: 2, index: 5, width: 17 })).toBe('tile/2/005.p/17');
    expect(entryBundlePath(1234067)).toBe('tile/entries/x001/x234/067');
    expect(entryBundlePath(0, 1)).toBe('tile/entries/000.p/1');
    expect(() => tilePath({ level: 64, index: 0, width: 256 })).toThrow(/0\.\.63/);
    expect(() => tilePath({ level: 0, index: 0, width: 0 })).toThrow(/1\.\.256/);
    expect(() => tileIndexPath(-1)).toThrow();
  });

  it('parses canonical paths back and refuses every other spelling', () => {
    for (const t of [
      { level: 0, index: 0, width: 256 },
      { level: 0, index: 1234067, width: 255 },
      { level: 63, index: 999, width: 1 },
      { level: 1, index: 1000, width: 256 },
    ]) {
      expect(parseTilePath(tilePath(t))).toEqual({ kind: 'hashes', ...t });
    }
    expect(parseTilePath('tile/entries/x001/x234/067.p/9')).toEqual({
      kind: 'entries',
      index: 1234067,
      width: 9,
    });
    for (const bad of [
      'tile/00/000',
      'tile/64/000',
      'tile/0/00',
      'tile/0/0000',
      'tile/0/x000/005',
      'tile/0/001/002',
      'tile/0/x001',
      'tile/0/000.p/256',
      'tile/0/000.p/0',
      'tile/0/000.p/05',
      'tile/0/000.p/',
      'tile/0/000.q/5',
      'tile/entries/000.p/300',
      'tile/0',
      'tiles/0/000',
      '/tile/0/000',
      'tile/-1/000',
      'tile/x/000',
    ]) {
      expect(parseTilePath(bad), bad).toBeNull();
    }
  });
});

describe('tiles of a tree', () => {
  it('matches the spec: size 70,000 and size 256', () => {
    const tiles = tilesForTreeSize(70_000);
    const summary = (level: number) => tiles.filter((t) => t.level === level);
    expect(summary(0).filter((t) => t.width === 256)).toHaveLength(273);
    expect(summary(0).filter((t) => t.width < 256)).toEqual([{ level: 0, index: 273, width: 112 }]);
    expect(summary(1)).toEqual([
      { level: 1, index: 0, width: 256 },
      { level: 1, index: 1, width: 17 },
    ]);
    expect(summary(2)).toEqual([{ level: 2, index: 0, width: 1 }]);
    expect(tiles).toHaveLength(273 + 1 + 2 + 1);
    expect(tilesForTreeSize(256)).toEqual([
      { level: 0, index: 0, width: 256 },
      { level: 1, index: 0, width: 1 },
    ]);
    expect(tilesForTreeSize(0)).toEqual([]);
    expect(tileWidth(0, 273, 70_000)).toBe(112);
    expect(tileWidth(0, 274, 70_000)).toBe(0);
  });

  it('tilesAdded lists exactly the tiles that are new or grew', () => {
    expect(tilesAdded(255, 256)).toEqual([
      { level: 0, index: 0, width: 256 },
      { level: 1, index: 0, width: 1 },
    ]);
    expect(tilesAdded(256, 257)).toEqual([{ level: 0, index: 1, width: 1 }]);
    expect(tilesAdded(10, 10)).toEqual([]);
    // Growing in uneven steps and keeping the widest version of each tile gives the tiles of the end size.
    const latest = new Map<string, TileRef>();
    let size = 0;
    for (const step of [1, 7, 248, 1, 300, 65_000, 2, 4441]) {
      for (const t of tilesAdded(size, size + step)) {
        const key = `${t.level}/${t.index}`;
        expect(t.width).toBeGreaterThan(latest.get(key)?.width ?? 0);
        latest.set(key, t);
      }
      size += step;
    }
    expect([...latest.values()].sort((a, b) => a.level - b.level || a.index - b.index)).toEqual(
      tilesForTreeSize(size),
    );
  });
});

describe('proofs answered from tiles alone', () => {
  // 70,000 leaves: three tile levels, partial tiles at each.
  const N = 70_000;
  const tree = new MemoryTree();
  for (let i = 0; i < N; i++) tree.appendLeafHash(leafHash(utf8(`entry ${i}`)));

  /** A tile store as a log would write it: at each checkpoint size, the tiles that changed. */
  function storeAt(sizes: number[]): Map<string, Uint8Array> {
    const store = new Map<string, Uint8Array>();
    let prev = 0;
    for (const s of sizes) {
      for (const t of tilesAdded(prev, s)) store.set(tilePath(t), tileHashes(t, tree.hashAt));
      prev = s;
    }
    return store;
  }

  it('tile contents are the subtree hashes of height 8·L', () => {
    const t0 = tileHashes({ level: 0, index: 1, width: 256 }, tree.hashAt);
    expect(t0.length).toBe(256 * 32);
    expect(toHex(t0.subarray(0, 32))).toBe(toHex(tree.hashAt(0, 256)));
    const t1 = tileHashes({ level: 1, index: 0, width: 3 }, tree.hashAt);
    expect(toHex(t1.subarray(64, 96))).toBe(toHex(tree.hashAt(8, 2)));
    const entries = [utf8('a'), utf8(''), utf8('ccc')];
    expect(toHex(tileFromEntries(entries))).toBe(entries.map((e) => toHex(leafHash(e))).join(''));
  });

  it('roots, inclusion and consistency proofs from tiles equal those from the full tree', async () => {
    const checkpoints = [1, 255, 256, 257, 4_000, 65_536, 65_537, 69_999, N];
    const store = storeAt(checkpoints);
    let reads = 0;
    const read = (t: TileRef): Uint8Array => {
      reads++;
      const data = store.get(tilePath(t));
      if (!data) throw new Error(`tile ${tilePath(t)} not in the store`);
      return data;
    };
    let proofs = 0;
    for (const size of checkpoints) {
      const fromTiles = subtreeHashesFromTiles(size, read);
      const root = treeRoot(size, fromTiles);
      expect(toHex(root), `root ${size}`).toBe(toHex(tree.root(size)));
      for (const i of [0, 1, 255, 256, size >> 1, size - 2, size - 1]) {
        if (i < 0 || i >= size) continue;
        const proof = inclusionProof(i, size, fromTiles);
        expect(proof.map(toHex), `inclusion ${i}/${size}`).toEqual(tree.inclusionProof(i, size).map(toHex));
        expect(verifyInclusion(i, size, tree.hashAt(0, i), proof, root).ok).toBe(true);
        proofs++;
      }
      for (const old of checkpoints) {
        if (old > size) continue;
        const proof = consistencyProof(old, size, fromTiles);
        expect(verifyConsistency(old, size, proof, tree.root(old), root).ok, `${old}→${size}`).toBe(true);
        proofs++;
      }
    }
    expect(reads).toBeGreaterThan(0);
    // The async variant (a store that answers with promises) gives the same proofs.
    const asyncHashes = subtreeHashesFromTilesAsync(N, async (t) => read(t));
    expect((await inclusionProofAsync(12_345, N, asyncHashes)).map(toHex)).toEqual(
      tree.inclusionProof(12_345, N).map(toHex),
    );
    expect((await consistencyProofAsync(4_000, N, asyncHashes)).map(toHex)).toEqual(
      tree.consistencyProof(4_000, N).map(toHex),
    );
    console.log(
      `tiles: ${proofs} proofs from tile stores at ${checkpoints.length} checkpoint sizes match the tree`,
    );
  });

  it('refuses a tile of the wrong length and a subtree beyond the tree', () => {
    const short = subtreeHashesFromTiles(300, () => new Uint8Array(31));
    expect(() => short(0, 0)).toThrow(/has 31 bytes, expected 8192/);
    const ok = subtreeHashesFromTiles(300, (t) => tileHashes(t, tree.hashAt));
    expect(() => ok(0, 300)).toThrow(/not complete/);
    expect(() => ok(8, 1)).toThrow(/not complete/);
    expect(toHex(ok(8, 0))).toBe(toHex(tree.hashAt(8, 0)));
  });
});

describe('entry bundles', () => {
  it('round-trip with big-endian uint16 length prefixes', () => {
    const entries = [utf8(''), utf8('a'), new Uint8Array(300).fill(7), new Uint8Array(65_535).fill(1)];
    const bundle = encodeEntryBundle(entries);
    expect(Array.from(bundle.subarray(0, 5))).toEqual([0, 0, 0, 1, 0x61]);
    expect(Array.from(bundle.subarray(5, 7))).toEqual([0x01, 0x2c]); // 300
    const back = decodeEntryBundle(bundle, 4);
    expect(back.map((e) => e.length)).toEqual([0, 1, 300, 65_535]);
    expect(toHex(back[2]!)).toBe(toHex(entries[2]!));
    expect(decodeEntryBundle(new Uint8Array(0))).toEqual([]);
  });

  it('refuses oversize entries, too many entries, truncation and a wrong count', () => {
    expect(() => encodeEntryBundle([new Uint8Array(65_536)])).toThrow(/65536 bytes/);
    expect(() => encodeEntryBundle(Array.from({ length: 257 }, () => new Uint8Array(0)))).toThrow(
      /at most 256/,
    );
    const bundle = encodeEntryBundle([utf8('abc'), utf8('de')]);
    expect(() => decodeEntryBundle(bundle.subarray(0, bundle.length - 1))).toThrow(
      /truncated: entry 1 needs 2 bytes, 1 left/,
    );
    expect(() => decodeEntryBundle(bundle.subarray(0, 6))).toThrow(/truncated inside the length of entry 1/);
    expect(() => decodeEntryBundle(bundle, 3)).toThrow(/has 2 entries, expected 3/);
    expect(() => decodeEntryBundle(new Uint8Array(257 * 2))).toThrow(/more than 256/);
  });
});
