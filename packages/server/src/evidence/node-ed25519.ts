/**
 * Ed25519 with node:crypto (OpenSSL) where the server does it often: signing a checkpoint after
 * every commit, and checking every stored signature in the integrity check. Core's noble-based
 * functions are the reference and run in the browser, but take about 2 ms a signature and 3 ms a
 * verification here; OpenSSL takes tens of microseconds. Ed25519 signatures are deterministic, so
 * both produce the same bytes (the tests check it).
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import type { Ed25519NoteSigner, NoteSigner } from '@pharos/core';

// PKCS#8 and SubjectPublicKeyInfo DER prefixes for a raw Ed25519 seed / public key (RFC 8410).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** The same note signer, signing with OpenSSL. */
export function fastNoteSigner(signer: Ed25519NoteSigner): NoteSigner {
  const key = createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, signer.seed]),
    format: 'der',
    type: 'pkcs8',
  });
  return {
    name: signer.name,
    keyId: signer.keyId,
    sign: (message) => new Uint8Array(sign(null, message, key)),
  };
}

/** Verifies probe signatures, keeping the parsed keys of recent probes. */
export class SignatureChecker {
  private readonly keys = new Map<string, KeyObject | null>();

  /** True when `signature` (base64) over `message` verifies with `probeKey` (base64). */
  verify(probeKey: string, signature: string, message: Uint8Array): boolean {
    let key = this.keys.get(probeKey);
    if (key === undefined) {
      try {
        const raw = Buffer.from(probeKey, 'base64');
        key =
          raw.length === 32
            ? createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' })
            : null;
      } catch {
        key = null;
      }
      if (this.keys.size > 10_000) this.keys.clear();
      this.keys.set(probeKey, key);
    }
    const sig = Buffer.from(signature, 'base64');
    if (!key || sig.length !== 64) return false;
    try {
      return verify(null, message, key, sig);
    } catch {
      return false;
    }
  }
}
