/**
 * Proofs and roots computed from tiles, exactly as a client of the tiled log would compute them,
 * so what the API serves is only ever as good as the tiles it publishes (a damaged tile shows up
 * as a proof that does not verify, not as a silently different answer).
 */
import {
  consistencyProofAsync,
  inclusionProofAsync,
  subtreeHashesFromTilesAsync,
  type TileRef,
  tilePath,
  treeRootAsync,
} from '@pharos/core';

/** Reads a hash tile at a width, or null when it is not available. */
export type HashTileReader = (level: number, index: number, width: number) => Promise<Uint8Array | null>;

function subtrees(treeSize: number, read: HashTileReader) {
  return subtreeHashesFromTilesAsync(treeSize, async (ref: TileRef) => {
    const data = await read(ref.level, ref.index, ref.width);
    if (!data) throw new Error(`tile ${tilePath(ref)} is missing`);
    return data;
  });
}

export function inclusionProofFromTiles(
  index: number,
  treeSize: number,
  read: HashTileReader,
): Promise<Uint8Array[]> {
  return inclusionProofAsync(index, treeSize, subtrees(treeSize, read));
}

export function consistencyProofFromTiles(
  size1: number,
  size2: number,
  read: HashTileReader,
): Promise<Uint8Array[]> {
  return consistencyProofAsync(size1, size2, subtrees(size2, read));
}

export function rootFromTiles(treeSize: number, read: HashTileReader): Promise<Uint8Array> {
  return treeRootAsync(treeSize, subtrees(treeSize, read));
}

/** The border hashes of a tree (largest subtree first), to resume a CompactTree at that size. */
export async function borderFromTiles(
  treeSize: number,
  read: HashTileReader,
  refs: Array<{ level: number; index: number }>,
): Promise<Uint8Array[]> {
  const hashAt = subtrees(treeSize, read);
  return Promise.all(refs.map((r) => hashAt(r.level, r.index)));
}
