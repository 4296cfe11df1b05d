/**
 * Ed25519 (RFC 8032) keys, signing and verification, via @noble/curves (audited, browser-safe).
 *
 * Verification follows RFC 8032 strictly (zip215: false): non-canonical encodings of the signature
 * scalar or of points are refused, as Go's crypto/ed25519 does, so a signature that one verifier
 * accepts is not refused by another.
 */
import { ed25519 } from '@noble/curves/ed25519.js';

/** Ed25519 sizes in bytes. */
export const ED25519_SEED_SIZE = 32;
export const ED25519_PUBLIC_KEY_SIZE = 32;
export const ED25519_SIGNATURE_SIZE = 64;

export interface Ed25519KeyPair {
  /** The 32-byte private seed (RFC 8032 "private key"). Keep it secret. */
  seed: Uint8Array;
  /** The 32-byte public key. */
  publicKey: Uint8Array;
}

function checkLength(what: string, bytes: Uint8Array, want: number): void {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
  if (bytes.length !== want) throw new Error(`${what} has ${bytes.length} bytes, expected ${want}`);
}

/** A fresh key pair from the platform's cryptographic random source. */
export function generateEd25519KeyPair(): Ed25519KeyPair {
  const seed = ed25519.utils.randomSecretKey();
  return { seed, publicKey: ed25519.getPublicKey(seed) };
}

/** The public key belonging to a 32-byte seed. */
export function ed25519PublicKey(seed: Uint8Array): Uint8Array {
  checkLength('Ed25519 seed', seed, ED25519_SEED_SIZE);
  return ed25519.getPublicKey(seed);
}

/** The 64-byte Ed25519 signature of the message (deterministic: same seed and message, same bytes). */
export function ed25519Sign(message: Uint8Array, seed: Uint8Array): Uint8Array {
  checkLength('Ed25519 seed', seed, ED25519_SEED_SIZE);
  return ed25519.sign(message, seed);
}

/** Ed25519 verification: signature, message, public key in; true only for a valid signature. */
export type Ed25519VerifyFunction = (
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
) => boolean;

function nobleVerify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    // Malformed point encodings throw in noble; to a verifier they are simply invalid signatures.
    return false;
  }
}

let verifyImplementation: Ed25519VerifyFunction = nobleVerify;

/**
 * Replaces Ed25519 verification everywhere in core (note and checkpoint verification included),
 * e.g. with node:crypto's OpenSSL implementation on a server, which is many times faster than pure
 * JavaScript. It must implement RFC 8032 verification. `null` restores the built-in one.
 */
export function setEd25519VerifyImplementation(fn: Ed25519VerifyFunction | null): void {
  verifyImplementation = fn ?? nobleVerify;
}

/** True when the signature over the message verifies under the public key; false for anything else. */
export function ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== ED25519_SIGNATURE_SIZE || publicKey.length !== ED25519_PUBLIC_KEY_SIZE)
    return false;
  try {
    return verifyImplementation(signature, message, publicKey);
  } catch {
    // A replacement that throws on malformed input still only means "not valid" to the caller.
    return false;
  }
}
