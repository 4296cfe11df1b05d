/**
 * C2SP tlog-proof (c2sp.org/tlog-proof@v1): a self-contained, offline-verifiable proof that an entry
 * is in a log, as a text file (`.tlog-proof`). Implemented from the spec text (C2SP/C2SP tlog-proof.md):
 *
 *   c2sp.org/tlog-proof@v1
 *   extra <base64 opaque data>          (optional; NOT authenticated, never trust it implicitly)
 *   index <zero-based entry index, decimal, no leading zeroes>
 *   <base64 inclusion-proof hash>        (zero or more lines, one SHA-256 hash each, RFC 6962 §2.1.1
 *   ...                                   order: the leaf's sibling first, up to the root's child)
 *   <empty line>
 *   <the checkpoint, a signed note, verbatim; cosignatures from witnesses may follow the log's>
 *
 * Verifying needs the log's verifier key (and so the origin) and the entry or its leaf hash:
 * the checkpoint signature, the origin, index < size, and the inclusion proof against the root.
 */
import { bytesEqual, fromBase64, toBase64 } from '../crypto/bytes.js';
import type { Checkpoint, OpenCheckpointOptions } from './checkpoint.js';
import { openCheckpoint } from './checkpoint.js';
import { emptyRoot, HASH_SIZE, leafHash, verifyConsistency, verifyInclusion } from './merkle.js';
import type { NoteSignature, NoteVerifier } from './note.js';

/** First line of every tlog-proof. */
export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';
/** Proof hashes accepted at most (a tree of 2^63 leaves needs 63). */
const MAX_PROOF_HASHES = 64;

export interface TlogProof {
  /** Optional opaque application data (unauthenticated). */
  extra?: Uint8Array;
  /** Zero-based index of the entry in the log. */
  index: number;
  /** Inclusion proof hashes, leaf sibling first. */
  hashes: Uint8Array[];
  /** The signed checkpoint, verbatim (a signed note text ending in a newline). */
  checkpoint: string;
}

export class TlogProofFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlogProofFormatError';
  }
}

/** The text of a tlog-proof file. */
export function formatTlogProof(proof: TlogProof): string {
  if (!Number.isSafeInteger(proof.index) || proof.index < 0) {
    throw new TlogProofFormatError(`index ${proof.index} is not a non-negative safe integer`);
  }
  if (!proof.checkpoint.endsWith('\n') || proof.checkpoint.startsWith('\n')) {
    throw new TlogProofFormatError('checkpoint must be a signed note ending with a newline');
  }
  let out = `${TLOG_PROOF_HEADER}\n`;
  if (proof.extra !== undefined && proof.extra.length > 0) out += `extra ${toBase64(proof.extra)}\n`;
  out += `index ${proof.index}\n`;
  proof.hashes.forEach((h, i) => {
    if (h.length !== HASH_SIZE)
      throw new TlogProofFormatError(`proof hash ${i + 1} has ${h.length} bytes, expected 32`);
    out += `${toBase64(h)}\n`;
  });
  return `${out}\n${proof.checkpoint}`;
}

/** Parses a tlog-proof file (the checkpoint is kept verbatim, not verified). Throws TlogProofFormatError. */
export function parseTlogProof(text: string): TlogProof {
  let pos = 0;
  let lineNo = 0;
  const nextLine = (): string => {
    const nl = text.indexOf('\n', pos);
    if (nl < 0)
      throw new TlogProofFormatError(`line ${lineNo + 1} does not end with a newline (file is truncated)`);
    const line = text.slice(pos, nl);
    pos = nl + 1;
    lineNo++;
    return line;
  };
  if (nextLine() !== TLOG_PROOF_HEADER)
    throw new TlogProofFormatError(`first line must be ${TLOG_PROOF_HEADER}`);
  let line = nextLine();
  let extra: Uint8Array | undefined;
  if (line.startsWith('extra ')) {
    const data = line.slice('extra '.length);
    if (data.length === 0) throw new TlogProofFormatError('extra line has no data');
    try {
      extra = fromBase64(data);
    } catch (e) {
      throw new TlogProofFormatError(`extra data is not valid base64: ${(e as Error).message}`);
    }
    line = nextLine();
  }
  const m = /^index (0|[1-9][0-9]*)$/.exec(line);
  if (!m) throw new TlogProofFormatError(`line ${lineNo} must be "index N" (decimal, no leading zeroes)`);
  const index = Number(m[1]);
  if (!Number.isSafeInteger(index)) throw new TlogProofFormatError(`index ${m[1]} is too large`);
  const hashes: Uint8Array[] = [];
  for (;;) {
    line = nextLine();
    if (line === '') break;
    if (hashes.length >= MAX_PROOF_HASHES)
      throw new TlogProofFormatError(`more than ${MAX_PROOF_HASHES} proof hashes`);
    let h: Uint8Array;
    try {
      h = fromBase64(line);
    } catch (e) {
      throw new TlogProofFormatError(
        `line ${lineNo}: proof hash is not valid base64: ${(e as Error).message}`,
      );
    }
    if (h.length !== HASH_SIZE) {
      throw new TlogProofFormatError(
        `line ${lineNo}: proof hash has ${h.length} bytes, expected ${HASH_SIZE}`,
      );
    }
    hashes.push(h);
  }
  const checkpoint = text.slice(pos);
  if (checkpoint.length === 0) throw new TlogProofFormatError('no checkpoint after the proof hashes');
  return extra ? { extra, index, hashes, checkpoint } : { index, hashes, checkpoint };
}

export interface VerifyTlogProofOptions extends OpenCheckpointOptions {
  /** The log entry itself (its leaf hash is computed), or… */
  entry?: Uint8Array;
  /** …its RFC 6962 leaf hash. Exactly one of the two. */
  leafHash?: Uint8Array;
}

export type TlogProofVerdict =
  | { ok: true; index: number; checkpoint: Checkpoint; verified: NoteSignature[]; extra?: Uint8Array }
  | { ok: false; reason: string };

/**
 * Verifies a tlog-proof end to end against the log's key: format, checkpoint signature and origin,
 * index within the tree, and inclusion of the entry. Never throws on bad input.
 */
export function verifyTlogProof(
  proof: string | TlogProof,
  logKey: NoteVerifier,
  options: VerifyTlogProofOptions,
): TlogProofVerdict {
  let parsed: TlogProof;
  try {
    parsed = typeof proof === 'string' ? parseTlogProof(proof) : proof;
  } catch (e) {
    return { ok: false, reason: `tlog-proof: ${(e as Error).message}` };
  }
  if ((options.entry === undefined) === (options.leafHash === undefined)) {
    return { ok: false, reason: 'give either the entry or its leaf hash to verify a tlog-proof against' };
  }
  const leaf = options.entry !== undefined ? leafHash(options.entry) : options.leafHash!;
  const opened = openCheckpoint(parsed.checkpoint, logKey, options);
  if (!opened.ok) return opened;
  const { checkpoint } = opened;
  if (parsed.index >= checkpoint.size) {
    return {
      ok: false,
      reason: `entry index ${parsed.index} is not in the checkpoint's tree of size ${checkpoint.size}`,
    };
  }
  const inclusion = verifyInclusion(parsed.index, checkpoint.size, leaf, parsed.hashes, checkpoint.rootHash);
  if (!inclusion.ok)
    return { ok: false, reason: `entry ${parsed.index} is not proven in the log: ${inclusion.reason}` };
  const result: TlogProofVerdict = { ok: true, index: parsed.index, checkpoint, verified: opened.verified };
  if (parsed.extra) result.extra = parsed.extra;
  return result;
}

/**
 * Checks that checkpoint `newer` extends checkpoint `older` of the same log, given the consistency
 * proof between their sizes (both already verified, e.g. with openCheckpoint). An empty older tree is
 * a prefix of every tree: it passes with an empty proof when its root is the empty-tree hash (the
 * strict proof verifier itself refuses size 0).
 */
export function verifyCheckpointConsistency(
  older: Checkpoint,
  newer: Checkpoint,
  proof: readonly Uint8Array[],
): { ok: true } | { ok: false; reason: string } {
  if (older.origin !== newer.origin) {
    return { ok: false, reason: `checkpoints are from different logs (${older.origin} and ${newer.origin})` };
  }
  if (older.size > newer.size) {
    return {
      ok: false,
      reason: `the older checkpoint (size ${older.size}) is larger than the newer (size ${newer.size})`,
    };
  }
  if (older.size === 0) {
    if (!bytesEqual(older.rootHash, emptyRoot()))
      return { ok: false, reason: 'checkpoint of size 0 does not carry the empty-tree root' };
    if (proof.length !== 0)
      return { ok: false, reason: `proof has ${proof.length} hashes, expected 0 from an empty tree` };
    return { ok: true };
  }
  const v = verifyConsistency(older.size, newer.size, proof, older.rootHash, newer.rootHash);
  return v.ok ? v : { ok: false, reason: `checkpoints are not consistent: ${v.reason}` };
}
