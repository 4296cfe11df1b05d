/**
 * The right edge of the tiled tree, in memory: for each tile level the hashes of its rightmost,
 * incomplete tile, the entries of the last bundle, and the tiles and bundles completed since they
 * were last written to disk. Fed leaf by leaf with the complete subtrees CompactTree reports, so
 * every tile is computed once, as the tree grows, and never read back to be extended.
 */
import {
  encodeEntryBundle,
  HASH_SIZE,
  hashesAtTileLevel,
  type SubtreeRef,
  TILE_HEIGHT,
  TILE_WIDTH,
} from '@pharos/core';
import type { TileLevel } from './tile-files.js';

/** The contents of one tile or bundle at one width. */
export interface TileData {
  level: TileLevel;
  index: number;
  width: number;
  data: Uint8Array;
}

interface Row {
  index: number;
  items: Uint8Array[];
}

function concat(hashes: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(hashes.length * HASH_SIZE);
  for (const [i, h] of hashes.entries()) out.set(h, i * HASH_SIZE);
  return out;
}

export class TileEdge {
  private readonly levels: Row[] = [];
  private bundle: Row = { index: 0, items: [] };
  private pending: TileData[] = [];
  private _size: number;

  /**
   * An edge at `size` leaves. `partials[L]` are the hashes already in the rightmost tile of level L
   * and `bundleEntries` the entries of the last, incomplete bundle (both as stored on disk).
   */
  constructor(size = 0, partials: Uint8Array[][] = [], bundleEntries: Uint8Array[] = []) {
    this._size = size;
    for (let level = 0; hashesAtTileLevel(level, size) > 0; level++) {
      const count = hashesAtTileLevel(level, size);
      const items = partials[level] ?? [];
      if (items.length !== count % TILE_WIDTH) {
        throw new Error(`level ${level} edge has ${items.length} hashes, expected ${count % TILE_WIDTH}`);
      }
      this.levels[level] = { index: Math.floor(count / TILE_WIDTH), items: items.slice() };
    }
    if (bundleEntries.length !== size % TILE_WIDTH) {
      throw new Error(`edge bundle has ${bundleEntries.length} entries, expected ${size % TILE_WIDTH}`);
    }
    this.bundle = { index: Math.floor(size / TILE_WIDTH), items: bundleEntries.slice() };
  }

  get size(): number {
    return this._size;
  }

  /** Adds the next entry, with the complete subtrees its leaf created (CompactTree.append's result). */
  addLeaf(entry: Uint8Array, created: ReadonlyArray<SubtreeRef & { hash: Uint8Array }>): void {
    this.bundle.items.push(entry);
    if (this.bundle.items.length === TILE_WIDTH) {
      this.pending.push({
        level: 'entries',
        index: this.bundle.index,
        width: TILE_WIDTH,
        data: encodeEntryBundle(this.bundle.items),
      });
      this.bundle = { index: this.bundle.index + 1, items: [] };
    }
    for (const subtree of created) {
      if (subtree.level % TILE_HEIGHT !== 0) continue;
      const level = subtree.level / TILE_HEIGHT;
      if (!this.levels[level]) this.levels[level] = { index: 0, items: [] };
      const row = this.levels[level]!;
      row.items.push(subtree.hash);
      if (row.items.length === TILE_WIDTH) {
        this.pending.push({ level, index: row.index, width: TILE_WIDTH, data: concat(row.items) });
        this.levels[level] = { index: row.index + 1, items: [] };
      }
    }
    this._size++;
  }

  /** Completed tiles and bundles not yet on disk. */
  get completed(): readonly TileData[] {
    return this.pending;
  }

  /** The incomplete rightmost tile of each level and the last bundle, at the current size. */
  partials(): TileData[] {
    const out: TileData[] = [];
    this.levels.forEach((row, level) => {
      if (row.items.length > 0) {
        out.push({ level, index: row.index, width: row.items.length, data: concat(row.items) });
      }
    });
    if (this.bundle.items.length > 0) {
      out.push({
        level: 'entries',
        index: this.bundle.index,
        width: this.bundle.items.length,
        data: encodeEntryBundle(this.bundle.items),
      });
    }
    return out;
  }

  /** Forgets completed tiles once they are durably written. */
  drop(written: readonly TileData[]): void {
    const done = new Set(written);
    this.pending = this.pending.filter((t) => !done.has(t));
  }
}
