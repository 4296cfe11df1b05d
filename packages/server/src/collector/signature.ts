/**
 * Probe keys, and Ed25519 verification with node:crypto (OpenSSL, several times faster than JS) on
 * libuv's thread pool: the collector's path when it runs without signature threads (those use
 * libsodium, see sodium.ts, which accepts a subset of what OpenSSL accepts).
 *
 * The offline verifier (`pharos verify`) uses core's noble-based ed25519Verify, RFC 8032 strict.
 * What OpenSSL accepts here is a subset of that, provided the key itself is one noble accepts:
 * OpenSSL checks S < L and compares R byte for byte with a canonical encoding (so R is canonical),
 * and noble's cofactored equation accepts whatever the cofactorless one does. The key is the gap:
 * noble refuses non-canonical encodings and small-order points, which OpenSSL may take. Those keys
 * are refused here first (an identity key, for one, "signs" every message), so a measurement this
 * collector accepts always verifies offline.
 */
import { createPublicKey, type KeyObject, verify } from 'node:crypto';

// SubjectPublicKeyInfo DER for Ed25519 up to the 32 key bytes (RFC 8410).
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** y-coordinates (sign bit cleared) of the 8 small-order points and of y ≡ 0, 1 mod p spelt ≥ p. */
const SMALL_ORDER_Y = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
].map((hex) => Buffer.from(hex, 'hex'));

/** Why a 32-byte public key is refused, or null when it is usable. */
export function weakKeyReason(key: Uint8Array): string | null {
  const y = Buffer.from(key);
  y[31]! &= 0x7f;
  if (SMALL_ORDER_Y.some((bad) => bad.equals(y))) return 'is a small-order point, not a usable public key';
  // y ≥ p = 2^255 − 19: bytes 1..30 all 0xff, the top byte 0x7f and the lowest ≥ 0xed.
  let allOnes = y[31] === 0x7f && y[0]! >= 0xed;
  for (let i = 1; allOnes && i < 31; i++) allOnes = y[i] === 0xff;
  if (allOnes) return 'is not a canonical point encoding';
  return null;
}

/** A usable probe key: its KeyObject and raw bytes. */
export interface ProbeKey {
  key: KeyObject;
  raw: Uint8Array;
}

/** KeyObjects by base64 key, most recently used last; building one costs more than a verification. */
export class KeyCache {
  private readonly keys = new Map<string, ProbeKey>();
  constructor(private readonly capacity = 50_000) {}

  /** The key if it is cached (a probe's second measurement on needs no decoding). */
  peek(base64: string): ProbeKey | undefined {
    const cached = this.keys.get(base64);
    if (cached) {
      this.keys.delete(base64);
      this.keys.set(base64, cached);
    }
    return cached;
  }

  /** The KeyObject for a raw 32-byte key, or a reason it cannot be one. */
  get(base64: string, raw: Uint8Array): KeyObject | string {
    const entry = this.probeKey(base64, raw);
    return typeof entry === 'string' ? entry : entry.key;
  }

  /** The key (KeyObject and raw bytes) for a raw 32-byte key, or a reason it cannot be one. */
  probeKey(base64: string, raw: Uint8Array): ProbeKey | string {
    const cached = this.peek(base64);
    if (cached) return cached;
    const weak = weakKeyReason(raw);
    if (weak) return weak;
    let key: KeyObject;
    try {
      key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
    } catch {
      return 'is not a valid Ed25519 public key';
    }
    if (this.keys.size >= this.capacity) this.keys.delete(this.keys.keys().next().value as string);
    const entry = { key, raw: Uint8Array.from(raw) };
    this.keys.set(base64, entry);
    return entry;
  }

  get size(): number {
    return this.keys.size;
  }
}

/** Whether `signature` is a valid Ed25519 signature of `data` under `key` (on the thread pool). */
export function verifyEd25519(key: KeyObject, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
  return new Promise((resolve) => {
    verify(null, data, key, signature, (err, ok) => resolve(!err && ok));
  });
}
