/**
 * SHA-256, synchronous. WebCrypto's crypto.subtle.digest is async, which makes a Merkle tree
 * (thousands of tiny hashes, computed inside loops) awkward; @noble/hashes is audited, small and
 * runs unchanged in Node and the browser.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { toHex, utf8 } from './bytes.js';

/** Length in bytes of a SHA-256 digest. */
export const SHA256_SIZE = 32;

/** A synchronous SHA-256: bytes in, 32 bytes out. */
export type Sha256Function = (data: Uint8Array) => Uint8Array;

let implementation: Sha256Function = nobleSha256;

/**
 * Replaces the SHA-256 used by everything in core (Merkle hashing, key IDs, ...), e.g. with
 * node:crypto on a server, several times faster on large inputs than pure JavaScript:
 * `setSha256Implementation((d) => createHash('sha256').update(d).digest())`. It must compute
 * SHA-256 exactly. `null` restores the built-in one.
 */
export function setSha256Implementation(fn: Sha256Function | null): void {
  implementation = fn ?? nobleSha256;
}

/** SHA-256 of bytes, or of the UTF-8 encoding of a string. */
export function sha256(data: Uint8Array | string): Uint8Array {
  return implementation(typeof data === 'string' ? utf8(data) : data);
}

/** Lowercase hex SHA-256 of bytes, or of the UTF-8 encoding of a string. */
export function sha256Hex(data: Uint8Array | string): string {
  return toHex(sha256(data));
}
