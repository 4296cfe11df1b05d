/**
 * C2SP tlog-tiles (c2sp.org/tlog-tiles): the Merkle tree served as immutable "tiles" of 256 hashes.
 *
 * The tile at level L, index N holds, for i = 0..255, MTH(D[(N·256 + i)·256^L : (N·256 + i + 1)·256^L]),
 * i.e. the hashes of complete subtrees of height 8·L. The rightmost tiles of each level are partial
 * (width W = floor(size / 256^L) mod 256 for the last one) and are served as `.p/<W>`.
 * Entry bundles at `tile/entries/<N>` hold the entries behind level-0 tile N, each as a big-endian
 * uint16 length followed by the entry bytes.
 *
 * Paths here are relative to the log prefix (no leading slash): `tile/0/x001/x234/067.p/12`.
 */
import type { SubtreeHashes, SubtreeRef } from './merkle.js';
import { HASH_SIZE, leafHash, nodeHash } from './merkle.js';

/** Height of a tile in tree levels (2^8 = 256 hashes). */
export const TILE_HEIGHT = 8;
/** Hashes in a full tile, and entries in a full bundle. */
export const TILE_WIDTH = 256;
/** Highest tile level the path syntax allows. */
export const MAX_TILE_LEVEL = 63;
/** Largest entry an entry bundle can hold (uint16 length prefix). */
export const MAX_ENTRY_SIZE = 0xffff;

/** A hash tile: `level` (tile level, tree height 8·level), `index` N, `width` 1..256 (256 = full). */
export interface TileRef {
  level: number;
  index: number;
  width: number;
}

function checkIndex(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new RangeError(`${what} must be a non-negative safe integer, got ${n}`);
}

function checkWidth(width: number): void {
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) {
    throw new RangeError(`tile width must be 1..${TILE_WIDTH}, got ${width}`);
  }
}

/** The `<N>` path of a tile index: 3-digit groups, all but the last prefixed with `x` (1234067 → x001/x234/067). */
export function tileIndexPath(index: number): string {
  checkIndex('tile index', index);
  const groups: string[] = [];
  let n = index;
  do {
    groups.unshift(String(n % 1000).padStart(3, '0'));
    n = Math.floor(n / 1000);
  } while (n > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

function widthSuffix(width: number): string {
  checkWidth(width);
  return width === TILE_WIDTH ? '' : `.p/${width}`;
}

/** `tile/<L>/<N>[.p/<W>]` for a hash tile. */
export function tilePath(tile: TileRef): string {
  if (!Number.isInteger(tile.level) || tile.level < 0 || tile.level > MAX_TILE_LEVEL) {
    throw new RangeError(`tile level must be 0..${MAX_TILE_LEVEL}, got ${tile.level}`);
  }
  return `tile/${tile.level}/${tileIndexPath(tile.index)}${widthSuffix(tile.width)}`;
}

/** `tile/entries/<N>[.p/<W>]` for an entry bundle. */
export function entryBundlePath(index: number, width: number = TILE_WIDTH): string {
  return `tile/entries/${tileIndexPath(index)}${widthSuffix(width)}`;
}

/** A parsed tile path: a hash tile or an entry bundle. */
export type ParsedTilePath =
  | ({ kind: 'hashes' } & TileRef)
  | { kind: 'entries'; index: number; width: number };

/**
 * Parses `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]` (relative to the log prefix, no
 * leading slash). Strict: only the canonical spelling of every number is accepted, so each tile has
 * exactly one path. Returns null for anything else.
 */
export function parseTilePath(path: string): ParsedTilePath | null {
  const parts = path.split('/');
  if (parts.length < 3 || parts[0] !== 'tile') return null;
  const levelPart = parts[1]!;
  let width = TILE_WIDTH;
  let indexParts = parts.slice(2);
  // Partial: ".../<last group>.p/<W>"
  const maybeP = indexParts[indexParts.length - 2];
  if (maybeP?.endsWith('.p')) {
    const w = indexParts[indexParts.length - 1]!;
    if (!/^[1-9][0-9]{0,2}$/.test(w)) return null;
    width = Number(w);
    if (width >= TILE_WIDTH) return null;
    indexParts = [...indexParts.slice(0, -2), maybeP.slice(0, -2)];
  }
  let index = 0;
  for (let i = 0; i < indexParts.length; i++) {
    const last = i === indexParts.length - 1;
    const m = (last ? /^([0-9]{3})$/ : /^x([0-9]{3})$/).exec(indexParts[i]!);
    if (!m) return null;
    index = index * 1000 + Number(m[1]);
  }
  // Canonical: no leading all-zero group (x000/005 is not how 5 is spelled).
  if (indexParts.length > 1 && indexParts[0] === 'x000') return null;
  if (!Number.isSafeInteger(index)) return null;
  if (levelPart === 'entries') return { kind: 'entries', index, width };
  if (!/^(0|[1-9][0-9]?)$/.test(levelPart)) return null;
  const level = Number(levelPart);
  if (level > MAX_TILE_LEVEL) return null;
  return { kind: 'hashes', level, index, width };
}

function pow256(level: number): number {
  return TILE_WIDTH ** level;
}

/** Number of hashes stored at tile level L for a tree of `treeSize` leaves: floor(size / 256^L). */
export function hashesAtTileLevel(level: number, treeSize: number): number {
  checkIndex('tree size', treeSize);
  return Math.floor(treeSize / pow256(level));
}

/** Width of tile (level, index) in a tree of `treeSize` leaves: 256 when full, 1..255 when partial, 0 when absent. */
export function tileWidth(level: number, index: number, treeSize: number): number {
  checkIndex('tile index', index);
  const total = hashesAtTileLevel(level, treeSize);
  const start = index * TILE_WIDTH;
  if (total <= start) return 0;
  return Math.min(TILE_WIDTH, total - start);
}

/**
 * Every tile (full and partial, each level) of a tree of `treeSize` leaves, level 0 first.
 * For 70,000 leaves: 273 full + 1 partial (width 112) at level 0, 1 full + 1 partial (17) at level 1,
 * 1 partial (1) at level 2. Includes no empty tile; size 0 gives none.
 */
export function tilesForTreeSize(treeSize: number): TileRef[] {
  return tilesAdded(0, treeSize);
}

/**
 * The tiles a log must write when it grows from `oldSize` to `newSize`: new full tiles, and the
 * partial tiles that are new or wider than before (a full tile that replaces a partial one included).
 */
export function tilesAdded(oldSize: number, newSize: number): TileRef[] {
  checkIndex('old size', oldSize);
  checkIndex('new size', newSize);
  if (newSize < oldSize) throw new RangeError(`new size ${newSize} is smaller than old size ${oldSize}`);
  const out: TileRef[] = [];
  for (let level = 0; level <= MAX_TILE_LEVEL; level++) {
    const newCount = hashesAtTileLevel(level, newSize);
    if (newCount === 0) break;
    const oldCount = hashesAtTileLevel(level, oldSize);
    if (newCount === oldCount) continue;
    const first = Math.floor(oldCount / TILE_WIDTH);
    const last = Math.ceil(newCount / TILE_WIDTH) - 1;
    for (let index = first; index <= last; index++) {
      const width = tileWidth(level, index, newSize);
      if (width !== tileWidth(level, index, oldSize)) out.push({ level, index, width });
    }
  }
  return out;
}

/** The contents of a hash tile: `width` concatenated 32-byte hashes of subtrees of height 8·level. */
export function tileHashes(tile: TileRef, hashAt: SubtreeHashes): Uint8Array {
  checkWidth(tile.width);
  checkIndex('tile index', tile.index);
  const out = new Uint8Array(tile.width * HASH_SIZE);
  const height = tile.level * TILE_HEIGHT;
  for (let i = 0; i < tile.width; i++) {
    const h = hashAt(height, tile.index * TILE_WIDTH + i);
    if (h.length !== HASH_SIZE) throw new Error(`subtree hash has ${h.length} bytes, expected ${HASH_SIZE}`);
    out.set(h, i * HASH_SIZE);
  }
  return out;
}

/** The hash tile that answers a complete subtree, and which of its hashes are needed. */
export interface TileLookup {
  tile: { level: number; index: number };
  /** First hash in the tile, and how many (a power of two, ≤ 128). */
  offset: number;
  count: number;
}

/**
 * Where the hash of complete subtree (height `level`, position `index`) comes from: subtrees of
 * height 8·L are stored directly in level-L tiles; a subtree r levels higher (r < 8) is rebuilt from
 * 2^r consecutive hashes of one level-L tile.
 */
export function tileForSubtree(ref: SubtreeRef): TileLookup {
  checkIndex('subtree index', ref.index);
  const tileLevel = Math.floor(ref.level / TILE_HEIGHT);
  const r = ref.level - tileLevel * TILE_HEIGHT;
  const count = 2 ** r;
  const first = ref.index * count; // index among hashes at tile level
  return {
    tile: { level: tileLevel, index: Math.floor(first / TILE_WIDTH) },
    offset: first % TILE_WIDTH,
    count,
  };
}

/** Hashes `count` (power of two) consecutive 32-byte hashes of tile data, from `offset`, up to one. */
export function hashTileSpan(data: Uint8Array, offset: number, count: number): Uint8Array {
  if ((offset + count) * HASH_SIZE > data.length) {
    throw new Error(`tile has ${data.length / HASH_SIZE} hashes, need ${offset + count}`);
  }
  let row: Uint8Array[] = [];
  for (let i = 0; i < count; i++)
    row.push(data.subarray((offset + i) * HASH_SIZE, (offset + i + 1) * HASH_SIZE));
  while (row.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < row.length; i += 2) next.push(nodeHash(row[i]!, row[i + 1]!));
    row = next;
  }
  return row[0]!;
}

/** Reads a tile: the `width * 32` bytes of tile (level, index) at the given width. */
export type TileReader = (tile: TileRef) => Uint8Array;
export type AsyncTileReader = (tile: TileRef) => Uint8Array | Promise<Uint8Array>;

function checkTileData(tile: TileRef, data: Uint8Array): Uint8Array {
  if (data.length !== tile.width * HASH_SIZE) {
    throw new Error(
      `tile ${tilePath(tile)} has ${data.length} bytes, expected ${tile.width * HASH_SIZE} (${tile.width} hashes)`,
    );
  }
  return data;
}

function tileRefFor(lookup: TileLookup, treeSize: number): TileRef {
  const { level, index } = lookup.tile;
  const width = tileWidth(level, index, treeSize);
  if (width < lookup.offset + lookup.count) {
    throw new RangeError(`subtree is not complete in a tree of size ${treeSize}`);
  }
  return { level, index, width };
}

/**
 * A `SubtreeHashes` answered from the tiles of a tree of `treeSize` leaves (reading each tile at the
 * width it has at that size, so a partial tile is asked for as `.p/<W>`). Tiles read are cached.
 */
export function subtreeHashesFromTiles(treeSize: number, readTile: TileReader): SubtreeHashes {
  checkIndex('tree size', treeSize);
  const cache = new Map<string, Uint8Array>();
  return (level, index) => {
    const lookup = tileForSubtree({ level, index });
    const ref = tileRefFor(lookup, treeSize);
    const key = `${ref.level}/${ref.index}/${ref.width}`;
    let data = cache.get(key);
    if (!data) {
      data = checkTileData(ref, readTile(ref));
      cache.set(key, data);
    }
    return hashTileSpan(data, lookup.offset, lookup.count);
  };
}

/** `subtreeHashesFromTiles` over an asynchronous tile store (one read per tile, concurrent reads shared). */
export function subtreeHashesFromTilesAsync(
  treeSize: number,
  readTile: AsyncTileReader,
): (level: number, index: number) => Promise<Uint8Array> {
  checkIndex('tree size', treeSize);
  const cache = new Map<string, Promise<Uint8Array>>();
  return async (level, index) => {
    const lookup = tileForSubtree({ level, index });
    const ref = tileRefFor(lookup, treeSize);
    const key = `${ref.level}/${ref.index}/${ref.width}`;
    let pending = cache.get(key);
    if (!pending) {
      pending = Promise.resolve(readTile(ref)).then((d) => checkTileData(ref, d));
      cache.set(key, pending);
    }
    return hashTileSpan(await pending, lookup.offset, lookup.count);
  };
}

// ---------------------------------------------------------------------------------------------------
// Entry bundles.

/** Encodes entries as a bundle: each a big-endian uint16 length then the bytes. At most 256 entries. */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  if (entries.length > TILE_WIDTH)
    throw new RangeError(`a bundle holds at most ${TILE_WIDTH} entries, got ${entries.length}`);
  let length = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.length > MAX_ENTRY_SIZE) {
      throw new RangeError(
        `entry ${i} has ${e.length} bytes, more than the ${MAX_ENTRY_SIZE} a bundle allows`,
      );
    }
    length += 2 + e.length;
  }
  const out = new Uint8Array(length);
  let o = 0;
  for (const e of entries) {
    out[o++] = e.length >> 8;
    out[o++] = e.length & 0xff;
    out.set(e, o);
    o += e.length;
  }
  return out;
}

/**
 * Decodes an entry bundle. Throws on a truncated length or entry, or on more than 256 entries.
 * Pass `expectedCount` (the bundle's width) to also require exactly that many entries.
 */
export function decodeEntryBundle(bundle: Uint8Array, expectedCount?: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let o = 0;
  while (o < bundle.length) {
    if (o + 2 > bundle.length)
      throw new Error(`entry bundle is truncated inside the length of entry ${out.length}`);
    const n = (bundle[o]! << 8) | bundle[o + 1]!;
    o += 2;
    if (o + n > bundle.length) {
      throw new Error(
        `entry bundle is truncated: entry ${out.length} needs ${n} bytes, ${bundle.length - o} left`,
      );
    }
    out.push(bundle.subarray(o, o + n));
    o += n;
    if (out.length > TILE_WIDTH) throw new Error(`entry bundle has more than ${TILE_WIDTH} entries`);
  }
  if (expectedCount !== undefined && out.length !== expectedCount) {
    throw new Error(`entry bundle has ${out.length} entries, expected ${expectedCount}`);
  }
  return out;
}

/** The level-0 tile that an entry bundle hashes to (leaf hash of each entry, concatenated). */
export function tileFromEntries(entries: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(entries.length * HASH_SIZE);
  for (const [i, e] of entries.entries()) out.set(leafHash(e), i * HASH_SIZE);
  return out;
}
