/**
 * Round trips of the Merkle tree code: trees of 1..70 random leaves, every inclusion proof and every
 * consistency proof m < n generated and verified, and single-bit flips that must all be caught.
 */
import { describe, expect, it } from 'vitest';
import {
  CompactTree,
  consistencyProof,
  consistencyProofAsync,
  consistencyProofLength,
  consistencyProofSubtrees,
  emptyRoot,
  inclusionProof,
  inclusionProofAsync,
  inclusionProofLength,
  inclusionProofSubtrees,
  isValidSubtree,
  leafHash,
  MemoryTree,
  merkleRoot,
  nodeHash,
  rangeHash,
  rangeSubtrees,
  rootFromInclusionProof,
  rootFromLeafHashes,
  subtreeInclusionProof,
  toHex,
  treeRoot,
  treeRootAsync,
  verifyConsistency,
  verifyInclusion,
  verifySubtreeInclusion,
} from '../src/index.js';

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
function prng(seed: number): (n: number) => Uint8Array {
  let s = seed >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = next() & 255;
    return out;
  };
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = bytes.slice();
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

/** Reference MTH straight from RFC 6962 §2.1 (recursive, on entries), independent of the tree code. */
function referenceRoot(entries: Uint8Array[]): Uint8Array {
  if (entries.length === 0) return emptyRoot();
  if (entries.length === 1) return leafHash(entries[0]!);
  let k = 1;
  while (k * 2 < entries.length) k *= 2;
  return nodeHash(referenceRoot(entries.slice(0, k)), referenceRoot(entries.slice(k)));
}

const MAX = 70;
const random = prng(0x5eed);
const entries = Array.from({ length: MAX }, (_, i) => random(1 + (i % 40)));
const tree = new MemoryTree();
for (const e of entries) tree.append(e);
const roots = [emptyRoot(), ...Array.from({ length: MAX }, (_, i) => tree.root(i + 1))];

describe('Merkle tree hashing', () => {
  it('agrees with a recursive RFC 6962 reference for every size 0..70', () => {
    for (let n = 0; n <= MAX; n++) {
      const want = toHex(referenceRoot(entries.slice(0, n)));
      expect(toHex(roots[n]!), `n=${n}`).toBe(want);
      expect(toHex(merkleRoot(entries.slice(0, n))), `n=${n}`).toBe(want);
      expect(toHex(rootFromLeafHashes(entries.slice(0, n).map(leafHash))), `n=${n}`).toBe(want);
    }
  });

  it('CompactTree builds the same roots, reports the subtrees it completes, and resumes', () => {
    const compact = new CompactTree();
    const completed = new Map<string, string>();
    for (let n = 1; n <= MAX; n++) {
      for (const c of compact.append(leafHash(entries[n - 1]!)))
        completed.set(`${c.level}/${c.index}`, toHex(c.hash));
      expect(toHex(compact.root())).toBe(toHex(roots[n]!));
      expect(compact.size).toBe(n);
      const resumed = new CompactTree(n, compact.borderHashes());
      expect(toHex(resumed.root())).toBe(toHex(roots[n]!));
    }
    // Every complete subtree of the final tree was reported exactly with the right hash.
    for (const [key, hash] of completed) {
      const [l, i] = key.split('/').map(Number) as [number, number];
      expect(toHex(tree.hashAt(l, i))).toBe(hash);
    }
    expect(completed.size).toBe(MAX * 2 - 3); // 70 leaves → 70+35+17+8+4+2+1 = 137 complete subtrees
    expect(() => new CompactTree(3, [])).toThrow(/border hashes/);
  });

  it('range hashes: any [a, b) equals MTH of that sub-list', () => {
    for (let a = 0; a < 20; a++) {
      for (let b = a + 1; b <= 40; b++) {
        expect(toHex(rangeHash(a, b, tree.hashAt))).toBe(toHex(referenceRoot(entries.slice(a, b))));
      }
    }
    expect(rangeSubtrees(0, 70).map((r) => `${r.level}/${r.index}`)).toEqual(['6/0', '2/16', '1/34']);
    expect(toHex(treeRoot(0, tree.hashAt))).toBe(toHex(emptyRoot()));
  });
});

describe('inclusion proofs, sizes 1..70', () => {
  it('every proof verifies, has the predicted length, and fails with any single bit flipped', () => {
    let proofs = 0;
    let flips = 0;
    const missed: string[] = [];
    const bits = prng(7);
    for (let n = 1; n <= MAX; n++) {
      for (let i = 0; i < n; i++) {
        const leaf = leafHash(entries[i]!);
        const proof = tree.inclusionProof(i, n);
        expect(proof.length).toBe(inclusionProofLength(i, n));
        expect(verifyInclusion(i, n, leaf, proof, roots[n]!)).toEqual({ ok: true });
        proofs++;
        // Exhaustive bit flips for small trees, one random bit per component beyond.
        const exhaustive = n <= 12;
        const pick = (): number => ((bits(2)[0]! << 8) | bits(1)[0]!) % 256;
        const flipsFor = (): number[] => (exhaustive ? Array.from({ length: 256 }, (_, b) => b) : [pick()]);
        for (const b of flipsFor()) {
          if (verifyInclusion(i, n, flipBit(leaf, b), proof, roots[n]!).ok)
            missed.push(`${i}/${n} leaf bit ${b}`);
          if (verifyInclusion(i, n, leaf, proof, flipBit(roots[n]!, b)).ok)
            missed.push(`${i}/${n} root bit ${b}`);
          flips += 2;
        }
        for (let p = 0; p < proof.length; p++) {
          for (const b of flipsFor()) {
            const bad = proof.slice();
            bad[p] = flipBit(proof[p]!, b);
            if (verifyInclusion(i, n, leaf, bad, roots[n]!).ok) missed.push(`${i}/${n} hash ${p} bit ${b}`);
            flips++;
          }
        }
        // Wrong index, wrong size, dropped or extra hash, and the proof for another leaf.
        if (n > 1) {
          expect(verifyInclusion((i + 1) % n, n, leaf, proof, roots[n]!).ok).toBe(false);
          expect(verifyInclusion(i, n, leafHash(entries[(i + 1) % n]!), proof, roots[n]!).ok).toBe(false);
        }
        // (A proof for size n may also fit size n + 1 with the same root — the checkpoint binds the two.)
        if (n < MAX) expect(verifyInclusion(i, n + 1, leaf, proof, roots[n + 1]!).ok).toBe(false);
        if (proof.length > 0) expect(verifyInclusion(i, n, leaf, proof.slice(1), roots[n]!).ok).toBe(false);
        expect(verifyInclusion(i, n, leaf, [...proof, leaf], roots[n]!).ok).toBe(false);
        expect(verifyInclusion(n, n, leaf, proof, roots[n]!).ok).toBe(false);
      }
    }
    expect(missed).toEqual([]);
    expect(proofs).toBe((MAX * (MAX + 1)) / 2);
    console.log(`inclusion round trips: ${proofs} proofs verified, ${flips} single-bit flips all rejected`);
  });

  it('gives plain-words reasons', () => {
    const proof = tree.inclusionProof(5, 8);
    const leaf = leafHash(entries[5]!);
    expect(verifyInclusion(5, 8, leaf, proof.slice(0, 2), roots[8]!)).toEqual({
      ok: false,
      reason: 'proof has 2 hashes, expected 3',
    });
    expect(verifyInclusion(8, 8, leaf, proof, roots[8]!)).toEqual({
      ok: false,
      reason: 'leaf index 8 is not in a tree of size 8',
    });
    expect(verifyInclusion(5, 8, leaf, [proof[0]!, new Uint8Array(31), proof[2]!], roots[8]!)).toEqual({
      ok: false,
      reason: 'proof hash 2 of 3 has 31 bytes, expected 32',
    });
    const wrong = verifyInclusion(5, 8, leaf, proof, roots[7]!);
    expect(wrong.ok).toBe(false);
    expect(!wrong.ok && wrong.reason).toMatch(
      /^inclusion proof leads to root [0-9a-f]{64}, not to the given root/,
    );
    expect(verifyInclusion(-1, 8, leaf, proof, roots[8]!).ok).toBe(false);
    expect(verifyInclusion(1.5, 8, leaf, proof, roots[8]!).ok).toBe(false);
    const computed = rootFromInclusionProof(5, 8, leaf, proof);
    expect(computed.ok && toHex(computed.root)).toBe(toHex(roots[8]!));
  });
});

describe('subtree inclusion proofs', () => {
  it('every leaf of every valid subtree [start, end) of the 70-leaf tree', () => {
    let proofs = 0;
    for (let start = 0; start < MAX; start++) {
      for (let end = start + 1; end <= MAX; end++) {
        if (!isValidSubtree(start, end)) continue;
        const hash = rangeHash(start, end, tree.hashAt);
        for (let i = start; i < end; i++) {
          const proof = subtreeInclusionProof(i, start, end, tree.hashAt);
          const leaf = leafHash(entries[i]!);
          expect(verifySubtreeInclusion(i, start, end, leaf, proof, hash)).toEqual({ ok: true });
          if (proof.length > 0) {
            const bad = proof.slice();
            bad[0] = flipBit(bad[0]!, 3);
            expect(verifySubtreeInclusion(i, start, end, leaf, bad, hash).ok).toBe(false);
          }
          proofs++;
        }
      }
    }
    expect(isValidSubtree(3, 5)).toBe(false);
    expect(isValidSubtree(4, 7)).toBe(true);
    expect(isValidSubtree(1, 1)).toBe(false);
    expect(verifySubtreeInclusion(2, 3, 5, leafHash(entries[2]!), [], roots[1]!)).toEqual({
      ok: false,
      reason: '[3, 5) is not a valid subtree',
    });
    console.log(`subtree inclusion round trips: ${proofs} proofs verified`);
  });
});

describe('consistency proofs, sizes 1..70', () => {
  it('every proof m ≤ n verifies, has the predicted length, and fails with any single bit flipped', () => {
    let proofs = 0;
    let flips = 0;
    const missed: string[] = [];
    const bits = prng(11);
    for (let n = 1; n <= MAX; n++) {
      for (let m = 1; m <= n; m++) {
        const proof = tree.consistencyProof(m, n);
        expect(proof.length).toBe(consistencyProofLength(m, n));
        expect(verifyConsistency(m, n, proof, roots[m]!, roots[n]!), `${m}→${n}`).toEqual({ ok: true });
        if (m === n) continue;
        proofs++;
        const exhaustive = n <= 12;
        const flipsFor = (): number[] =>
          exhaustive ? Array.from({ length: 256 }, (_, b) => b) : [bits(1)[0]! % 256];
        for (const b of flipsFor()) {
          if (verifyConsistency(m, n, proof, flipBit(roots[m]!, b), roots[n]!).ok)
            missed.push(`${m}→${n} root1 bit ${b}`);
          if (verifyConsistency(m, n, proof, roots[m]!, flipBit(roots[n]!, b)).ok)
            missed.push(`${m}→${n} root2 bit ${b}`);
          flips += 2;
        }
        for (let p = 0; p < proof.length; p++) {
          for (const b of flipsFor()) {
            const bad = proof.slice();
            bad[p] = flipBit(proof[p]!, b);
            if (verifyConsistency(m, n, bad, roots[m]!, roots[n]!).ok)
              missed.push(`${m}→${n} hash ${p} bit ${b}`);
            flips++;
          }
        }
        // Swapped roots, neighbouring sizes, truncated or extended proofs.
        expect(verifyConsistency(m, n, proof, roots[n]!, roots[m]!).ok).toBe(false);
        if (m > 1) expect(verifyConsistency(m - 1, n, proof, roots[m - 1]!, roots[n]!).ok).toBe(false);
        if (n < MAX) expect(verifyConsistency(m, n + 1, proof, roots[m]!, roots[n + 1]!).ok).toBe(false);
        if (proof.length > 0)
          expect(verifyConsistency(m, n, proof.slice(0, -1), roots[m]!, roots[n]!).ok).toBe(false);
        expect(verifyConsistency(m, n, [...proof, roots[m]!], roots[m]!, roots[n]!).ok).toBe(false);
      }
    }
    expect(missed).toEqual([]);
    expect(proofs).toBe((MAX * (MAX - 1)) / 2);
    console.log(
      `consistency round trips: ${proofs} proofs (m < n) verified, ${flips} single-bit flips all rejected`,
    );
  });

  it('refuses size 0 and inverted sizes, in plain words', () => {
    expect(verifyConsistency(0, 0, [], emptyRoot(), emptyRoot())).toEqual({
      ok: false,
      reason: 'size1 is 0: a consistency proof from the empty tree proves nothing and is refused',
    });
    expect(verifyConsistency(5, 4, [], roots[5]!, roots[4]!)).toEqual({
      ok: false,
      reason: 'size1 5 is larger than size2 4',
    });
    expect(verifyConsistency(3, 7, tree.consistencyProof(3, 7).slice(1), roots[3]!, roots[7]!)).toEqual({
      ok: false,
      reason: `proof has ${consistencyProofLength(3, 7) - 1} hashes, expected ${consistencyProofLength(3, 7)}`,
    });
    expect(() => consistencyProof(0, 3, tree.hashAt)).toThrow(/empty tree/);
    expect(() => inclusionProof(3, 3, tree.hashAt)).toThrow(/not in a tree of size 3/);
  });
});

describe('proofs over an asynchronous store', () => {
  it('prefetches exactly the subtrees it needs and gives the same proofs', async () => {
    let reads = 0;
    const store = async (level: number, index: number): Promise<Uint8Array> => {
      reads++;
      await Promise.resolve();
      return tree.hashAt(level, index);
    };
    for (const [i, n] of [
      [0, 1],
      [5, 8],
      [13, 70],
      [69, 70],
    ] as const) {
      reads = 0;
      const proof = await inclusionProofAsync(i, n, store);
      expect(proof.map(toHex)).toEqual(inclusionProof(i, n, tree.hashAt).map(toHex));
      expect(reads).toBe(inclusionProofSubtrees(i, n).length);
    }
    for (const [m, n] of [
      [1, 2],
      [3, 7],
      [33, 70],
      [64, 70],
    ] as const) {
      reads = 0;
      const proof = await consistencyProofAsync(m, n, store);
      expect(proof.map(toHex)).toEqual(consistencyProof(m, n, tree.hashAt).map(toHex));
      expect(reads).toBe(consistencyProofSubtrees(m, n).length);
    }
    expect(toHex(await treeRootAsync(70, store))).toBe(toHex(roots[70]!));
  });

  it('handles sizes beyond 2^32 without 32-bit overflow (lengths only)', () => {
    const big = 2 ** 40 + 12345;
    expect(inclusionProofLength(big - 1, big)).toBeGreaterThan(0);
    expect(inclusionProofLength(2 ** 33, big)).toBe(41);
    expect(consistencyProofLength(2 ** 35, 2 ** 36)).toBe(1);
    // The right-border hashes are built from several complete subtrees, so more subtrees than hashes.
    const refs = inclusionProofSubtrees(2 ** 33 + 1, big);
    expect(refs.length).toBeGreaterThanOrEqual(inclusionProofLength(2 ** 33 + 1, big));
    expect(refs.every((r) => Number.isSafeInteger(r.index) && r.level <= 40)).toBe(true);
  });
});
