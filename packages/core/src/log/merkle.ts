/**
 * RFC 6962 / RFC 9162 Merkle tree over SHA-256: hashing, proof generation and proof verification.
 *
 * Hashing (RFC 6962 §2.1): the root of the empty tree is SHA-256 of nothing, a leaf hash is
 * SHA-256(0x00 || entry), an interior node is SHA-256(0x01 || left || right), and a list of n > 1
 * entries splits at k, the largest power of two below n: MTH(D[0:n]) = node(MTH(D[0:k]), MTH(D[k:n])).
 *
 * Proofs are generated over a tree *abstraction*, a function that gives the hash of any complete
 * subtree (level = height, 0 for leaves; index = position among subtrees of that height). A storage
 * layer can back it with an array, a database or C2SP tlog-tiles; `...Subtrees()` tell an async
 * store which hashes to fetch first, and the `...Async` variants do exactly that.
 *
 * Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 with transparency-dev/merkle's stricter
 * rules: a proof must have exactly the expected number of hashes, every hash that enters a
 * computation must be 32 bytes, and a consistency proof from size 0 is refused (even 0 → 0: the
 * empty tree proves nothing). One deliberate exception, which the transparency-dev probes encode:
 * with size1 = size2 the roots are only compared byte for byte (the proof must be empty).
 * Failures come back as a plain-words reason, not just `false`.
 *
 * Sizes and indexes are JavaScript numbers and must be safe integers (< 2^53); the arithmetic below
 * avoids 32-bit bitwise operators so trees beyond 2^32 leaves work.
 */
import { bytesEqual, concatBytes, toHex } from '../crypto/bytes.js';
import { sha256 } from '../crypto/sha256.js';

/** Size in bytes of every hash in the tree. */
export const HASH_SIZE = 32;

const LEAF_PREFIX = new Uint8Array([0x00]);
const NODE_PREFIX = new Uint8Array([0x01]);

/** RFC 6962 leaf hash: SHA-256(0x00 || entry). */
export function leafHash(entry: Uint8Array): Uint8Array {
  return sha256(concatBytes(LEAF_PREFIX, entry));
}

/** RFC 6962 interior node hash: SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concatBytes(NODE_PREFIX, left, right));
}

/** Root hash of the empty tree: SHA-256 of the empty string. */
export function emptyRoot(): Uint8Array {
  return sha256(new Uint8Array(0));
}

/** Hash of the complete subtree of height `level` at position `index` (leaves index·2^level onward). */
export type SubtreeHashes = (level: number, index: number) => Uint8Array;
/** The same, for stores that answer asynchronously. */
export type AsyncSubtreeHashes = (level: number, index: number) => Uint8Array | Promise<Uint8Array>;

/** A complete subtree: height `level`, covering leaves [index·2^level, (index+1)·2^level). */
export interface SubtreeRef {
  level: number;
  index: number;
}

/** Outcome of a verification: ok, or a reason in plain words. */
export type Verdict = { ok: true } | { ok: false; reason: string };

const OK: Verdict = { ok: true };
function fail(reason: string): Verdict {
  return { ok: false, reason };
}

function checkCount(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new RangeError(`${what} must be a non-negative safe integer, got ${n}`);
}

/** Largest power of two strictly below n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** True when n is a power of two (n ≥ 1). */
function isPowerOfTwo(n: number): boolean {
  return n >= 1 && splitPoint(n + 1) === n;
}

/**
 * The complete subtrees whose hashes make up MTH(D[start:end]), in the order `rangeHash` uses them.
 * For the ranges that occur in RFC 6962 proofs this is at most one subtree per bit of the size.
 */
export function rangeSubtrees(start: number, end: number): SubtreeRef[] {
  checkCount('range start', start);
  checkCount('range end', end);
  if (end <= start) throw new RangeError(`range [${start}, ${end}) is empty`);
  const out: SubtreeRef[] = [];
  const walk = (a: number, b: number): void => {
    const n = b - a;
    if (isPowerOfTwo(n) && a % n === 0) {
      out.push({ level: Math.log2(n), index: a / n });
      return;
    }
    const k = splitPoint(n);
    walk(a, a + k);
    walk(a + k, b);
  };
  walk(start, end);
  return out;
}

/**
 * MTH(D[start:end]) computed from complete-subtree hashes (RFC 6962 §2.1 applied to the sub-list).
 * Cheap (one subtree per bit of the size) for the ranges proofs use, whose start is a multiple of
 * the next power of two ≥ their size; any other range works but costs up to one read per leaf.
 */
export function rangeHash(start: number, end: number, hashAt: SubtreeHashes): Uint8Array {
  checkCount('range start', start);
  checkCount('range end', end);
  if (end <= start) throw new RangeError(`range [${start}, ${end}) is empty`);
  const walk = (a: number, b: number): Uint8Array => {
    const n = b - a;
    if (isPowerOfTwo(n) && a % n === 0) return hashAt(Math.log2(n), a / n);
    const k = splitPoint(n);
    return nodeHash(walk(a, a + k), walk(a + k, b));
  };
  return walk(start, end);
}

/** Root hash of the tree of `treeSize` leaves (the empty-tree hash for size 0). */
export function treeRoot(treeSize: number, hashAt: SubtreeHashes): Uint8Array {
  checkCount('tree size', treeSize);
  return treeSize === 0 ? emptyRoot() : rangeHash(0, treeSize, hashAt);
}

/** Root hash of a list of leaf hashes. */
export function rootFromLeafHashes(leafHashes: readonly Uint8Array[]): Uint8Array {
  if (leafHashes.length === 0) return emptyRoot();
  // Fold level by level: pair up complete pairs, carry an odd last node up unchanged. This gives the
  // same tree as the RFC's split at the largest power of two.
  let level = leafHashes.slice();
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}

/** Root hash of a list of entries (each hashed as a leaf). */
export function merkleRoot(entries: readonly Uint8Array[]): Uint8Array {
  return rootFromLeafHashes(entries.map(leafHash));
}

// ---------------------------------------------------------------------------------------------------
// Proof generation, as ranges [start, end) whose MTH forms each proof hash.

/** RFC 6962 §2.1.1 PATH(m, D[start:end]), leaf sibling first, as ranges. */
function inclusionRanges(leafIndex: number, treeSize: number, start = 0): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const path = (m: number, a: number, b: number): void => {
    const n = b - a;
    if (n === 1) return;
    const k = splitPoint(n);
    if (m - a < k) {
      path(m, a, a + k);
      out.push([a + k, b]);
    } else {
      path(m, a + k, b);
      out.push([a, a + k]);
    }
  };
  path(leafIndex, start, treeSize);
  return out;
}

/** RFC 6962 §2.1.2 SUBPROOF(m, D[a:b], complete), as ranges. */
function consistencyRanges(size1: number, size2: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const subproof = (m: number, a: number, b: number, complete: boolean): void => {
    const n = b - a;
    if (m === n) {
      if (!complete) out.push([a, b]);
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      subproof(m, a, a + k, complete);
      out.push([a + k, b]);
    } else {
      subproof(m - k, a + k, b, false);
      out.push([a, a + k]);
    }
  };
  if (size1 < size2) subproof(size1, 0, size2, true);
  return out;
}

function checkInclusionArgs(leafIndex: number, treeSize: number): void {
  checkCount('leaf index', leafIndex);
  checkCount('tree size', treeSize);
  if (leafIndex >= treeSize)
    throw new RangeError(`leaf index ${leafIndex} is not in a tree of size ${treeSize}`);
}

function checkConsistencyArgs(size1: number, size2: number): void {
  checkCount('size1', size1);
  checkCount('size2', size2);
  if (size1 === 0) throw new RangeError('no consistency proof from an empty tree (size1 = 0)');
  if (size1 > size2) throw new RangeError(`size1 ${size1} is larger than size2 ${size2}`);
}

function uniqueSubtrees(ranges: Array<[number, number]>): SubtreeRef[] {
  const seen = new Set<string>();
  const out: SubtreeRef[] = [];
  for (const [a, b] of ranges) {
    for (const ref of rangeSubtrees(a, b)) {
      const key = `${ref.level}/${ref.index}`;
      if (!seen.has(key)) {
        seen.add(key);
        out.push(ref);
      }
    }
  }
  return out;
}

/** The complete subtrees an inclusion proof is computed from (for a store to fetch in advance). */
export function inclusionProofSubtrees(leafIndex: number, treeSize: number): SubtreeRef[] {
  checkInclusionArgs(leafIndex, treeSize);
  return uniqueSubtrees(inclusionRanges(leafIndex, treeSize));
}

/** The complete subtrees a consistency proof is computed from. */
export function consistencyProofSubtrees(size1: number, size2: number): SubtreeRef[] {
  checkConsistencyArgs(size1, size2);
  return uniqueSubtrees(consistencyRanges(size1, size2));
}

/** RFC 6962 §2.1.1 inclusion proof (audit path) for a leaf, leaf's sibling first. */
export function inclusionProof(leafIndex: number, treeSize: number, hashAt: SubtreeHashes): Uint8Array[] {
  checkInclusionArgs(leafIndex, treeSize);
  return inclusionRanges(leafIndex, treeSize).map(([a, b]) => rangeHash(a, b, hashAt));
}

/** RFC 6962 §2.1.2 consistency proof from size1 to size2 (empty when the sizes are equal). */
export function consistencyProof(size1: number, size2: number, hashAt: SubtreeHashes): Uint8Array[] {
  checkConsistencyArgs(size1, size2);
  return consistencyRanges(size1, size2).map(([a, b]) => rangeHash(a, b, hashAt));
}

/** Fetches the given subtrees (all at once) and answers synchronously from what was fetched. */
async function prefetch(refs: SubtreeRef[], hashAt: AsyncSubtreeHashes): Promise<SubtreeHashes> {
  const hashes = await Promise.all(refs.map((r) => hashAt(r.level, r.index)));
  const map = new Map<string, Uint8Array>();
  for (const [i, r] of refs.entries()) map.set(`${r.level}/${r.index}`, hashes[i]!);
  return (level, index) => {
    const h = map.get(`${level}/${index}`);
    if (!h) throw new Error(`subtree ${level}/${index} was not prefetched`);
    return h;
  };
}

/** `inclusionProof` over an asynchronous store. */
export async function inclusionProofAsync(
  leafIndex: number,
  treeSize: number,
  hashAt: AsyncSubtreeHashes,
): Promise<Uint8Array[]> {
  const sync = await prefetch(inclusionProofSubtrees(leafIndex, treeSize), hashAt);
  return inclusionProof(leafIndex, treeSize, sync);
}

/** `consistencyProof` over an asynchronous store. */
export async function consistencyProofAsync(
  size1: number,
  size2: number,
  hashAt: AsyncSubtreeHashes,
): Promise<Uint8Array[]> {
  const sync = await prefetch(consistencyProofSubtrees(size1, size2), hashAt);
  return consistencyProof(size1, size2, sync);
}

/** `treeRoot` over an asynchronous store. */
export async function treeRootAsync(treeSize: number, hashAt: AsyncSubtreeHashes): Promise<Uint8Array> {
  checkCount('tree size', treeSize);
  if (treeSize === 0) return emptyRoot();
  const sync = await prefetch(rangeSubtrees(0, treeSize), hashAt);
  return treeRoot(treeSize, sync);
}

// ---------------------------------------------------------------------------------------------------
// Verification.

/** Number of hashes in a valid inclusion proof for leafIndex < treeSize. */
export function inclusionProofLength(leafIndex: number, treeSize: number): number {
  checkInclusionArgs(leafIndex, treeSize);
  // "inner" levels: where the leaf's path and the last leaf's path have not met yet; every level has
  // a sibling. Above them the path runs along the right border and only has left siblings ("border").
  let fn = leafIndex;
  let sn = treeSize - 1;
  let inner = 0;
  while (fn !== sn) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
    inner++;
  }
  let border = 0;
  for (let x = fn; x > 0; x = Math.floor(x / 2)) border += x % 2;
  return inner + border;
}

/** Number of hashes in a valid consistency proof for 0 < size1 ≤ size2. */
export function consistencyProofLength(size1: number, size2: number): number {
  checkConsistencyArgs(size1, size2);
  if (size1 === size2) return 0;
  // Walks SUBPROOF's recursion, counting the hashes it emits.
  let m = size1;
  let n = size2;
  let complete = true;
  let count = 0;
  while (m !== n) {
    const k = splitPoint(n);
    if (m <= k) n = k;
    else {
      m -= k;
      n -= k;
      complete = false;
    }
    count++;
  }
  return complete ? count : count + 1;
}

function badLength(what: string, hash: Uint8Array): string | null {
  return hash.length === HASH_SIZE ? null : `${what} has ${hash.length} bytes, expected ${HASH_SIZE}`;
}

function checkProofHashes(proof: readonly Uint8Array[]): string | null {
  for (let i = 0; i < proof.length; i++) {
    const bad = badLength(`proof hash ${i + 1} of ${proof.length}`, proof[i]!);
    if (bad) return bad;
  }
  return null;
}

function badCount(what: string, n: number): string | null {
  return Number.isSafeInteger(n) && n >= 0 ? null : `${what} ${n} is not a non-negative integer`;
}

/** A root computed from a proof, or the reason it could not be. */
export type RootResult = { ok: true; root: Uint8Array } | { ok: false; reason: string };

/**
 * The root an inclusion proof leads to (RFC 9162 §2.1.3.2 steps 2-4), or a reason it is malformed.
 * Does not compare with any expected root.
 */
export function rootFromInclusionProof(
  leafIndex: number,
  treeSize: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
): RootResult {
  const badArg = badCount('leaf index', leafIndex) ?? badCount('tree size', treeSize);
  if (badArg) return { ok: false, reason: badArg };
  if (leafIndex >= treeSize) {
    return { ok: false, reason: `leaf index ${leafIndex} is not in a tree of size ${treeSize}` };
  }
  const badHash = badLength('leaf hash', leaf) ?? checkProofHashes(proof);
  if (badHash) return { ok: false, reason: badHash };
  const want = inclusionProofLength(leafIndex, treeSize);
  if (proof.length !== want) {
    return { ok: false, reason: `proof has ${proof.length} hashes, expected ${want}` };
  }
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leaf;
  for (const p of proof) {
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      // Skip the levels where this node has no right sibling (it is promoted unchanged).
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  // With the exact length checked above sn is 0 here; kept as RFC 9162 states it.
  if (sn !== 0) return { ok: false, reason: 'proof is too short for the tree size' };
  return { ok: true, root: r };
}

/**
 * Verifies that `leaf` (a leaf hash) is at `leafIndex` in the tree of `treeSize` with root `root`.
 */
export function verifyInclusion(
  leafIndex: number,
  treeSize: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): Verdict {
  const badRoot = badLength('root hash', root);
  if (badRoot) return fail(badRoot);
  const computed = rootFromInclusionProof(leafIndex, treeSize, leaf, proof);
  if (!computed.ok) return computed;
  if (!bytesEqual(computed.root, root)) {
    return fail(
      `inclusion proof leads to root ${toHex(computed.root)}, not to the given root ${toHex(root)}`,
    );
  }
  return OK;
}

/**
 * Verifies that the tree of size2 with root2 extends the tree of size1 with root1
 * (RFC 9162 §2.1.4.2, with the strict rules described at the top of this file).
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): Verdict {
  const badArg = badCount('size1', size1) ?? badCount('size2', size2);
  if (badArg) return fail(badArg);
  if (size1 === 0) {
    return fail('size1 is 0: a consistency proof from the empty tree proves nothing and is refused');
  }
  if (size1 > size2) return fail(`size1 ${size1} is larger than size2 ${size2}`);
  if (size1 === size2) {
    if (proof.length !== 0) return fail(`proof has ${proof.length} hashes, expected 0 for equal sizes`);
    if (!bytesEqual(root1, root2)) return fail(`sizes are equal (${size1}) but the roots differ`);
    return OK;
  }
  const badHash = badLength('root1', root1) ?? badLength('root2', root2) ?? checkProofHashes(proof);
  if (badHash) return fail(badHash);
  const want = consistencyProofLength(size1, size2);
  if (proof.length !== want) return fail(`proof has ${proof.length} hashes, expected ${want}`);

  // Step 2: when size1 is a power of two the old root is itself a node of the new tree and is not
  // sent; put it in front.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0) return fail('proof is too long for the tree sizes');
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) return fail('proof is too short for the tree sizes');
  if (!bytesEqual(fr, root1)) {
    return fail(`consistency proof leads to old root ${toHex(fr)}, not to root1 ${toHex(root1)}`);
  }
  if (!bytesEqual(sr, root2)) {
    return fail(`consistency proof leads to new root ${toHex(sr)}, not to root2 ${toHex(root2)}`);
  }
  return OK;
}

// ---------------------------------------------------------------------------------------------------
// Subtrees [start, end) (as used by C2SP tlog-cosignature subtree signatures and Merkle Tree
// Certificates): valid when start is a multiple of the smallest power of two ≥ end - start. Their
// hash is MTH(D[start:end]), so inclusion in a subtree is ordinary inclusion in that sub-list.

/** Whether [start, end) is a valid, non-empty subtree. */
export function isValidSubtree(start: number, end: number): boolean {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end <= start) return false;
  let ceil = 1;
  while (ceil < end - start) ceil *= 2;
  return start % ceil === 0;
}

/** Inclusion proof of a leaf in the subtree [start, end) (whose hash is `rangeHash(start, end)`). */
export function subtreeInclusionProof(
  leafIndex: number,
  start: number,
  end: number,
  hashAt: SubtreeHashes,
): Uint8Array[] {
  if (!isValidSubtree(start, end)) throw new RangeError(`[${start}, ${end}) is not a valid subtree`);
  if (leafIndex < start || leafIndex >= end)
    throw new RangeError(`leaf ${leafIndex} is not in [${start}, ${end})`);
  return inclusionRanges(leafIndex, end, start).map(([a, b]) => rangeHash(a, b, hashAt));
}

/** Verifies that `leaf` is at `leafIndex` in the subtree [start, end) whose hash is `subtreeHash`. */
export function verifySubtreeInclusion(
  leafIndex: number,
  start: number,
  end: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
  subtreeHash: Uint8Array,
): Verdict {
  if (!isValidSubtree(start, end)) return fail(`[${start}, ${end}) is not a valid subtree`);
  if (!Number.isSafeInteger(leafIndex) || leafIndex < start || leafIndex >= end) {
    return fail(`leaf index ${leafIndex} is not in the subtree [${start}, ${end})`);
  }
  return verifyInclusion(leafIndex - start, end - start, leaf, proof, subtreeHash);
}

// ---------------------------------------------------------------------------------------------------
// Building a tree incrementally.

/**
 * An append-only Merkle tree kept as its right border: one hash per complete subtree on the border
 * (a "compact range"), so memory is O(log n). Each append reports the complete subtrees it created,
 * which is what a store persists (e.g. into tiles) to answer `SubtreeHashes` later.
 */
export class CompactTree {
  private _size: number;
  /** Border hashes, largest (leftmost) subtree first. */
  private readonly border: Uint8Array[];

  /** An empty tree, or one resumed from a size and its border hashes (as `borderHashes()` gave). */
  constructor(size = 0, borderHashes: readonly Uint8Array[] = []) {
    checkCount('tree size', size);
    let ones = 0;
    for (let x = size; x > 0; x = Math.floor(x / 2)) ones += x % 2;
    if (borderHashes.length !== ones) {
      throw new Error(`a tree of size ${size} has ${ones} border hashes, got ${borderHashes.length}`);
    }
    this._size = size;
    this.border = borderHashes.slice();
  }

  get size(): number {
    return this._size;
  }

  /** The border hashes, largest subtree first (enough to resume the tree). */
  borderHashes(): Uint8Array[] {
    return this.border.slice();
  }

  /**
   * The border as subtree references, largest first: the complete subtrees whose hashes a store
   * must hold to compute the root.
   */
  borderSubtrees(): SubtreeRef[] {
    return this._size === 0 ? [] : rangeSubtrees(0, this._size);
  }

  /** Appends a leaf hash; returns every complete subtree this created (the leaf first, then upwards). */
  append(leaf: Uint8Array): Array<SubtreeRef & { hash: Uint8Array }> {
    if (leaf.length !== HASH_SIZE)
      throw new Error(`leaf hash has ${leaf.length} bytes, expected ${HASH_SIZE}`);
    const index = this._size;
    const created: Array<SubtreeRef & { hash: Uint8Array }> = [{ level: 0, index, hash: leaf }];
    let hash = leaf;
    let level = 0;
    let position = index;
    // While the new subtree is a right child, merge it with its left sibling from the border.
    while (position % 2 === 1) {
      hash = nodeHash(this.border.pop()!, hash);
      level++;
      position = Math.floor(position / 2);
      created.push({ level, index: position, hash });
    }
    this.border.push(hash);
    this._size++;
    return created;
  }

  /** The current root hash. */
  root(): Uint8Array {
    if (this.border.length === 0) return emptyRoot();
    let r = this.border[this.border.length - 1]!;
    for (let i = this.border.length - 2; i >= 0; i--) r = nodeHash(this.border[i]!, r);
    return r;
  }
}

/**
 * A whole tree in memory (every complete subtree hash), for tests, tools and small logs.
 * `hashAt` is a `SubtreeHashes` for the proof generators.
 */
export class MemoryTree {
  /** levels[l][i] = hash of complete subtree (l, i). */
  private readonly levels: Uint8Array[][] = [[]];

  constructor(leafHashes: readonly Uint8Array[] = []) {
    for (const h of leafHashes) this.appendLeafHash(h);
  }

  get size(): number {
    return this.levels[0]!.length;
  }

  /** Appends an entry (hashed as a leaf); returns its index. */
  append(entry: Uint8Array): number {
    return this.appendLeafHash(leafHash(entry));
  }

  /** Appends a leaf hash; returns its index. */
  appendLeafHash(leaf: Uint8Array): number {
    if (leaf.length !== HASH_SIZE)
      throw new Error(`leaf hash has ${leaf.length} bytes, expected ${HASH_SIZE}`);
    const index = this.levels[0]!.length;
    this.levels[0]!.push(leaf);
    let level = 0;
    let position = index;
    while (position % 2 === 1) {
      const row = this.levels[level]!;
      const parent = nodeHash(row[position - 1]!, row[position]!);
      level++;
      position = Math.floor(position / 2);
      if (!this.levels[level]) this.levels[level] = [];
      this.levels[level]!.push(parent);
    }
    return index;
  }

  readonly hashAt: SubtreeHashes = (level, index) => {
    const h = this.levels[level]?.[index];
    if (!h) throw new RangeError(`subtree ${level}/${index} is not complete in a tree of size ${this.size}`);
    return h;
  };

  /** Root at the current size, or at an earlier size. */
  root(size = this.size): Uint8Array {
    if (size > this.size) throw new RangeError(`size ${size} is beyond the tree size ${this.size}`);
    return treeRoot(size, this.hashAt);
  }

  inclusionProof(leafIndex: number, size = this.size): Uint8Array[] {
    if (size > this.size) throw new RangeError(`size ${size} is beyond the tree size ${this.size}`);
    return inclusionProof(leafIndex, size, this.hashAt);
  }

  consistencyProof(size1: number, size2 = this.size): Uint8Array[] {
    if (size2 > this.size) throw new RangeError(`size ${size2} is beyond the tree size ${this.size}`);
    return consistencyProof(size1, size2, this.hashAt);
  }
}
