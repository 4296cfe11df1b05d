/**
 * C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): a signed note whose text is
 *
 *   <origin>\n<tree size, decimal, no leading zeroes>\n<base64 root hash>\n[<extension line>\n]...
 *
 * Parsing is strict: a non-empty origin, a canonical decimal size (a safe integer here), a canonical
 * base64 32-byte root, and non-empty extension lines. `openCheckpoint` verifies the log's signature
 * and that the origin is the one expected, before anything in the checkpoint is believed.
 */
import { fromBase64, toBase64 } from '../crypto/bytes.js';
import { HASH_SIZE } from './merkle.js';
import type { NoteSignature, NoteSigner, NoteVerifier } from './note.js';
import { NoteFormatError, signNote, verifyNote } from './note.js';

export interface Checkpoint {
  /** Unique identifier of the log, conventionally its URL prefix without scheme (`example.org/log`). */
  origin: string;
  /** Number of leaves in the tree. */
  size: number;
  /** RFC 6962 root hash of the tree at that size (32 bytes). */
  rootHash: Uint8Array;
  /** Optional opaque extension lines (not recommended by the spec); each non-empty. */
  extensions?: string[];
}

/** Raised for a malformed checkpoint; the message says what is wrong. */
export class CheckpointFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointFormatError';
  }
}

function checkLine(what: string, line: string): void {
  if (line.length === 0) throw new CheckpointFormatError(`${what} is empty`);
  if (/[\u0000-\u001f]/.test(line))
    throw new CheckpointFormatError(`${what} contains a control character or newline`);
}

/** The checkpoint's note text (what the log signs). */
export function formatCheckpoint(cp: Checkpoint): string {
  checkLine('origin', cp.origin);
  if (!Number.isSafeInteger(cp.size) || cp.size < 0) {
    throw new CheckpointFormatError(`tree size ${cp.size} is not a non-negative safe integer`);
  }
  if (cp.rootHash.length !== HASH_SIZE) {
    throw new CheckpointFormatError(`root hash has ${cp.rootHash.length} bytes, expected ${HASH_SIZE}`);
  }
  const ext = cp.extensions ?? [];
  for (const [i, line] of ext.entries()) checkLine(`extension line ${i + 1}`, line);
  return [cp.origin, String(cp.size), toBase64(cp.rootHash), ...ext].map((l) => `${l}\n`).join('');
}

/** Parses checkpoint note text (the part before the signatures). Throws CheckpointFormatError. */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw new CheckpointFormatError('checkpoint text must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3)
    throw new CheckpointFormatError(`checkpoint has ${lines.length} lines, needs at least 3`);
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  checkLine('origin line', origin);
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) {
    throw new CheckpointFormatError(
      `tree size ${JSON.stringify(sizeText)} is not a decimal number without leading zeroes`,
    );
  }
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size))
    throw new CheckpointFormatError(`tree size ${sizeText} is too large (over 2^53)`);
  let rootHash: Uint8Array;
  try {
    rootHash = fromBase64(rootText);
  } catch (e) {
    throw new CheckpointFormatError(`root hash is not valid base64: ${(e as Error).message}`);
  }
  if (rootHash.length !== HASH_SIZE) {
    throw new CheckpointFormatError(`root hash has ${rootHash.length} bytes, expected ${HASH_SIZE}`);
  }
  for (const [i, line] of extensions.entries()) checkLine(`extension line ${i + 1}`, line);
  return extensions.length > 0 ? { origin, size, rootHash, extensions } : { origin, size, rootHash };
}

/** Formats and signs a checkpoint; returns the signed note. */
export function signCheckpoint(cp: Checkpoint, signers: readonly NoteSigner[]): string {
  return signNote(formatCheckpoint(cp), signers);
}

export interface OpenCheckpointOptions {
  /** The origin the checkpoint must carry; defaults to the log key's name (the spec's SHOULD). */
  origin?: string;
  /** Further known keys (witnesses); their signatures are checked when present but not required. */
  otherVerifiers?: readonly NoteVerifier[];
}

export type CheckpointVerdict =
  | { ok: true; checkpoint: Checkpoint; text: string; verified: NoteSignature[] }
  | { ok: false; reason: string };

/**
 * Verifies a signed checkpoint: the log key must have signed it (and every other known key that
 * signed must verify), and it must parse strictly with the expected origin. Never throws.
 */
export function openCheckpoint(
  signedNote: string | Uint8Array,
  logKey: NoteVerifier,
  options: OpenCheckpointOptions = {},
): CheckpointVerdict {
  const verdict = verifyNote(signedNote, [logKey, ...(options.otherVerifiers ?? [])]);
  if (!verdict.ok) return { ok: false, reason: `checkpoint signature: ${verdict.reason}` };
  if (!verdict.verified.some((s) => s.name === logKey.name && s.keyId === logKey.keyId)) {
    return { ok: false, reason: `checkpoint is not signed by the log key ${logKey.name}` };
  }
  let checkpoint: Checkpoint;
  try {
    checkpoint = parseCheckpoint(verdict.text);
  } catch (e) {
    if (e instanceof CheckpointFormatError || e instanceof NoteFormatError) {
      return { ok: false, reason: `checkpoint: ${e.message}` };
    }
    throw e;
  }
  const origin = options.origin ?? logKey.name;
  if (checkpoint.origin !== origin) {
    return {
      ok: false,
      reason: `checkpoint origin is ${JSON.stringify(checkpoint.origin)}, expected ${JSON.stringify(origin)}`,
    };
  }
  return { ok: true, checkpoint, text: verdict.text, verified: verdict.verified };
}
