/**
 * libsodium (sodium-native, prebuilt binaries in the npm package) for Ed25519 verification on the
 * signature threads: on the project machine it verifies a 12.6 KB measurement in about 95 µs
 * where node:crypto (OpenSSL) takes about 150 µs, and signature checking is the largest part of
 * ingest. What it accepts is a subset of what the offline verifier (core, noble, RFC 8032 strict)
 * accepts: it requires S < L, canonical encodings of R and A, refuses small-order R and A, and
 * checks the cofactorless equation, which implies the cofactored one.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The module's path, for worker threads to require it themselves. */
export const SODIUM_MODULE = require.resolve('sodium-native');

export interface Sodium {
  crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

export function loadSodium(): Sodium {
  return require(SODIUM_MODULE) as Sodium;
}
