/**
 * C2SP signed-note (c2sp.org/signed-note): text signed by one or more keys.
 *
 *   <text, ending in a newline>
 *   <blank line>
 *   — <key name> <base64(4-byte big-endian key ID || signature)>
 *   ...
 *
 * The text runs up to the *last* blank line. Notes are UTF-8 without ASCII control characters other
 * than newline. Key names are non-empty, without Unicode spaces or "+". Ed25519 keys (signature
 * type 0x01) have key ID = SHA-256(name || 0x0A || 0x01 || public key)[:4], a verifier key is written
 * `<name>+<8 hex digits of key ID>+<base64(0x01 || public key)>` and a signer key (Go sumdb/note's
 * form) `PRIVATE+KEY+<name>+<key ID>+<base64(0x01 || 32-byte seed)>`.
 *
 * Verification: signatures from unknown keys (name and key ID not both matching a known key) are
 * ignored; a known key whose signature fails rejects the whole note; a known key that signs twice
 * rejects it; and at least one known key must have signed.
 */
import { concatBytes, fromBase64, fromUtf8, toBase64, utf8 } from '../crypto/bytes.js';
import { ED25519_PUBLIC_KEY_SIZE, ed25519PublicKey, ed25519Sign, ed25519Verify } from '../crypto/ed25519.js';
import { sha256 } from '../crypto/sha256.js';

/** Signature type byte of Ed25519 note signatures. */
export const SIGNATURE_TYPE_ED25519 = 0x01;
/** Most signature lines a note may carry here (the spec asks verifiers to accept at least 16). */
export const MAX_NOTE_SIGNATURES = 100;

const EM_DASH = '\u2014';

/** One signature line: key name, key ID (uint32) and the signature bytes after the key ID. */
export interface NoteSignature {
  name: string;
  keyId: number;
  signature: Uint8Array;
}

/** A parsed signed note. `text` includes its final newline, not the blank separator line. */
export interface Note {
  text: string;
  signatures: NoteSignature[];
}

/** Something that checks signatures by one key. */
export interface NoteVerifier {
  name: string;
  keyId: number;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

/** Something that signs with one key. */
export interface NoteSigner {
  name: string;
  keyId: number;
  sign(message: Uint8Array): Uint8Array;
}

/** An Ed25519 note verifier, with its public key. */
export interface Ed25519NoteVerifier extends NoteVerifier {
  publicKey: Uint8Array;
}

/** An Ed25519 note signer, with its seed and public key; it can also verify its own signatures. */
export interface Ed25519NoteSigner extends NoteSigner, NoteVerifier {
  seed: Uint8Array;
  publicKey: Uint8Array;
}

/** Raised for malformed notes and keys; the message says what is wrong in plain words. */
export class NoteFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoteFormatError';
  }
}

// Unicode White_Space plus Go's unicode.IsSpace extras (U+0085), and the BOM for good measure.
const SPACE = /[\s\u0085\ufeff]/u;
// Control characters below U+0020 other than newline.
const CONTROL = /[\u0000-\u0009\u000b-\u001f]/;

/** Whether a key name is acceptable: non-empty, no Unicode spaces, no "+", no control characters. */
export function isValidKeyName(name: string): boolean {
  return (
    name.length > 0 && !SPACE.test(name) && !name.includes('+') && !CONTROL.test(name) && isWellFormed(name)
  );
}

function isWellFormed(text: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

function checkText(text: string): void {
  if (!text.endsWith('\n')) throw new NoteFormatError('note text must end with a newline');
  const control = CONTROL.exec(text);
  if (control) {
    throw new NoteFormatError(
      `note text contains control character U+${control[0].charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
  }
  if (!isWellFormed(text)) throw new NoteFormatError('note text is not valid Unicode (lone surrogate)');
}

function keyIdHex(keyId: number): string {
  return keyId.toString(16).padStart(8, '0');
}

/** Key ID = first 4 bytes (big-endian) of SHA-256(name || 0x0A || type || public key). */
export function noteKeyId(name: string, signatureType: number, publicKey: Uint8Array): number {
  const h = sha256(concatBytes(utf8(name), new Uint8Array([0x0a, signatureType]), publicKey));
  return ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
}

/** Ed25519 key ID of a note key. */
export function ed25519NoteKeyId(name: string, publicKey: Uint8Array): number {
  return noteKeyId(name, SIGNATURE_TYPE_ED25519, publicKey);
}

function checkName(name: string): void {
  if (!isValidKeyName(name)) {
    throw new NoteFormatError(`key name ${JSON.stringify(name)} is not valid (empty, or has a space or "+")`);
  }
}

/** An Ed25519 verifier for a name and public key. */
export function ed25519NoteVerifier(name: string, publicKey: Uint8Array): Ed25519NoteVerifier {
  checkName(name);
  if (publicKey.length !== ED25519_PUBLIC_KEY_SIZE) {
    throw new NoteFormatError(`Ed25519 public key has ${publicKey.length} bytes, expected 32`);
  }
  const key = publicKey.slice();
  return {
    name,
    keyId: ed25519NoteKeyId(name, key),
    publicKey: key,
    verify: (message, signature) => ed25519Verify(signature, message, key),
  };
}

/** An Ed25519 signer for a name and 32-byte seed. */
export function ed25519NoteSigner(name: string, seed: Uint8Array): Ed25519NoteSigner {
  checkName(name);
  const s = seed.slice();
  const publicKey = ed25519PublicKey(s);
  return {
    name,
    keyId: ed25519NoteKeyId(name, publicKey),
    seed: s,
    publicKey,
    sign: (message) => ed25519Sign(message, s),
    verify: (message, signature) => ed25519Verify(signature, message, publicKey),
  };
}

/** The verifier key text `<name>+<key ID hex>+<base64(0x01 || public key)>`. */
export function formatVerifierKey(name: string, publicKey: Uint8Array): string {
  const v = ed25519NoteVerifier(name, publicKey);
  return `${name}+${keyIdHex(v.keyId)}+${toBase64(concatBytes(new Uint8Array([SIGNATURE_TYPE_ED25519]), publicKey))}`;
}

/** The signer key text `PRIVATE+KEY+<name>+<key ID hex>+<base64(0x01 || seed)>`. Keep it secret. */
export function formatSignerKey(name: string, seed: Uint8Array): string {
  const s = ed25519NoteSigner(name, seed);
  return `PRIVATE+KEY+${name}+${keyIdHex(s.keyId)}+${toBase64(concatBytes(new Uint8Array([SIGNATURE_TYPE_ED25519]), s.seed))}`;
}

function parseKeyParts(
  what: string,
  name: string,
  hash: string,
  data: string,
): { keyId: number; key: Uint8Array } {
  checkName(name);
  if (!/^[0-9a-f]{8}$/.test(hash))
    throw new NoteFormatError(`${what}: key ID ${JSON.stringify(hash)} is not 8 lowercase hex digits`);
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(data);
  } catch (e) {
    throw new NoteFormatError(`${what}: key data is not valid base64 (${(e as Error).message})`);
  }
  if (bytes.length === 0) throw new NoteFormatError(`${what}: key data is empty`);
  if (bytes[0] !== SIGNATURE_TYPE_ED25519) {
    throw new NoteFormatError(
      `${what}: signature type 0x${bytes[0]!.toString(16).padStart(2, '0')} is not supported (only Ed25519, 0x01)`,
    );
  }
  if (bytes.length !== 33)
    throw new NoteFormatError(`${what}: Ed25519 key has ${bytes.length - 1} bytes, expected 32`);
  return { keyId: Number.parseInt(hash, 16), key: bytes.subarray(1) };
}

/** Splits at the first `count` plus signs (base64 key data may itself contain "+"). */
function splitPlus(text: string, count: number): string[] | null {
  const parts: string[] = [];
  let rest = text;
  for (let i = 0; i < count; i++) {
    const at = rest.indexOf('+');
    if (at < 0) return null;
    parts.push(rest.slice(0, at));
    rest = rest.slice(at + 1);
  }
  parts.push(rest);
  return parts;
}

/** Parses a verifier key (`<name>+<key ID>+<base64>`); checks that the key ID matches the key. */
export function parseVerifierKey(vkey: string): Ed25519NoteVerifier {
  const parts = splitPlus(vkey, 2);
  if (!parts) throw new NoteFormatError('verifier key must be <name>+<key ID>+<key>');
  const { keyId, key } = parseKeyParts('verifier key', parts[0]!, parts[1]!, parts[2]!);
  const v = ed25519NoteVerifier(parts[0]!, key);
  if (v.keyId !== keyId) {
    throw new NoteFormatError(
      `verifier key: key ID ${parts[1]} does not match the key (it should be ${keyIdHex(v.keyId)})`,
    );
  }
  return v;
}

/** Parses a signer key (`PRIVATE+KEY+<name>+<key ID>+<base64>`); checks that the key ID matches. */
export function parseSignerKey(skey: string): Ed25519NoteSigner {
  const parts = splitPlus(skey, 4);
  if (parts?.[0] !== 'PRIVATE' || parts[1] !== 'KEY') {
    throw new NoteFormatError('signer key must be PRIVATE+KEY+<name>+<key ID>+<key>');
  }
  const { keyId, key } = parseKeyParts('signer key', parts[2]!, parts[3]!, parts[4]!);
  const s = ed25519NoteSigner(parts[2]!, key);
  if (s.keyId !== keyId) {
    throw new NoteFormatError(
      `signer key: key ID ${parts[3]} does not match the key (it should be ${keyIdHex(s.keyId)})`,
    );
  }
  return s;
}

/** A new Ed25519 note key pair, as signer and verifier key texts. */
export function generateNoteKey(name: string, seed?: Uint8Array): { skey: string; vkey: string } {
  const s = seed ?? globalThis.crypto.getRandomValues(new Uint8Array(32));
  const signer = ed25519NoteSigner(name, s);
  return { skey: formatSignerKey(name, signer.seed), vkey: formatVerifierKey(name, signer.publicKey) };
}

function formatSignatureLine(sig: NoteSignature): string {
  const id = new Uint8Array([
    sig.keyId >>> 24,
    (sig.keyId >>> 16) & 255,
    (sig.keyId >>> 8) & 255,
    sig.keyId & 255,
  ]);
  return `${EM_DASH} ${sig.name} ${toBase64(concatBytes(id, sig.signature))}\n`;
}

/** The text form of a note: text, blank line, one line per signature. */
export function formatNote(note: Note): string {
  checkText(note.text);
  if (note.signatures.length === 0) throw new NoteFormatError('a signed note needs at least one signature');
  for (const s of note.signatures) checkName(s.name);
  return `${note.text}\n${note.signatures.map(formatSignatureLine).join('')}`;
}

/**
 * Parses a signed note (text or UTF-8 bytes) without checking any signature. Throws
 * NoteFormatError saying what is malformed.
 */
export function parseNote(message: string | Uint8Array): Note {
  let msg: string;
  if (typeof message === 'string') msg = message;
  else {
    try {
      msg = fromUtf8(message);
    } catch {
      throw new NoteFormatError('note is not valid UTF-8');
    }
  }
  const control = CONTROL.exec(msg);
  if (control) {
    throw new NoteFormatError(
      `note contains control character U+${control[0].charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
  }
  if (!isWellFormed(msg)) throw new NoteFormatError('note is not valid Unicode (lone surrogate)');
  const split = msg.lastIndexOf('\n\n');
  if (split < 0) throw new NoteFormatError('note has no blank line before its signatures');
  const text = msg.slice(0, split + 1);
  const block = msg.slice(split + 2);
  if (block.length === 0) throw new NoteFormatError('note has no signature lines');
  if (!block.endsWith('\n')) throw new NoteFormatError('the last signature line does not end with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) {
    throw new NoteFormatError(
      `note has ${lines.length} signatures, more than the ${MAX_NOTE_SIGNATURES} accepted`,
    );
  }
  const signatures: NoteSignature[] = [];
  for (const [i, line] of lines.entries()) {
    const where = `signature line ${i + 1}`;
    if (!line.startsWith(`${EM_DASH} `)) throw new NoteFormatError(`${where} does not start with "— "`);
    const rest = line.slice(2);
    const space = rest.indexOf(' ');
    if (space < 0) throw new NoteFormatError(`${where} has no space between key name and signature`);
    const name = rest.slice(0, space);
    const b64 = rest.slice(space + 1);
    if (!isValidKeyName(name))
      throw new NoteFormatError(`${where}: key name ${JSON.stringify(name)} is not valid`);
    let bytes: Uint8Array;
    try {
      bytes = fromBase64(b64);
    } catch (e) {
      throw new NoteFormatError(`${where}: signature is not valid base64 (${(e as Error).message})`);
    }
    if (bytes.length < 5)
      throw new NoteFormatError(`${where}: signature has ${bytes.length} bytes, too short`);
    const keyId = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
    signatures.push({ name, keyId, signature: bytes.slice(4) });
  }
  return { text, signatures };
}

/** Signs note text with each signer; returns the signed note text. */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  checkText(text);
  if (signers.length === 0) throw new NoteFormatError('signNote needs at least one signer');
  const message = utf8(text);
  return formatNote({
    text,
    signatures: signers.map((s) => ({ name: s.name, keyId: s.keyId, signature: s.sign(message) })),
  });
}

/**
 * Adds signatures (e.g. a cosignature) to an already signed note, keeping its existing lines.
 * A signer whose name and key ID already sign the note is refused.
 */
export function addNoteSignatures(signedNote: string, signers: readonly NoteSigner[]): string {
  const note = parseNote(signedNote);
  for (const s of signers) {
    if (note.signatures.some((x) => x.name === s.name && x.keyId === s.keyId)) {
      throw new NoteFormatError(`key ${s.name}+${keyIdHex(s.keyId)} has already signed this note`);
    }
  }
  const message = utf8(note.text);
  const added = signers.map((s) => ({ name: s.name, keyId: s.keyId, signature: s.sign(message) }));
  return formatNote({ text: note.text, signatures: [...note.signatures, ...added] });
}

/** Result of verifying a note: its text and which known keys signed it, or a reason. */
export type NoteVerdict =
  | { ok: true; note: Note; text: string; verified: NoteSignature[]; unknown: NoteSignature[] }
  | { ok: false; reason: string };

/**
 * Verifies a signed note against known keys (signed-note §Signatures rules, see the top of this file).
 * Never throws: a malformed note gives `{ ok: false, reason }`.
 */
export function verifyNote(message: string | Uint8Array, verifiers: readonly NoteVerifier[]): NoteVerdict {
  let note: Note;
  try {
    note = parseNote(message);
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  const text = utf8(note.text);
  const verified: NoteSignature[] = [];
  const unknown: NoteSignature[] = [];
  const seen = new Set<string>();
  for (const sig of note.signatures) {
    const verifier = verifiers.find((v) => v.name === sig.name && v.keyId === sig.keyId);
    if (!verifier) {
      unknown.push(sig);
      continue;
    }
    const key = `${sig.name}+${keyIdHex(sig.keyId)}`;
    if (seen.has(key)) return { ok: false, reason: `key ${key} signed the note more than once` };
    seen.add(key);
    if (!verifier.verify(text, sig.signature)) {
      return { ok: false, reason: `signature by ${key} does not verify` };
    }
    verified.push(sig);
  }
  if (verified.length === 0) {
    const names = note.signatures.map((s) => `${s.name}+${keyIdHex(s.keyId)}`).join(', ');
    const known = verifiers.map((v) => `${v.name}+${keyIdHex(v.keyId)}`).join(', ') || 'none';
    return {
      ok: false,
      reason: `no signature from a known key (note is signed by ${names}; known keys: ${known})`,
    };
  }
  return { ok: true, note, text: note.text, verified, unknown };
}
