/**
 * The ceiling signature checking alone sets: Ed25519 verifications per second over
 * measurement-sized messages with libsodium, as the collector checks them, on one core
 * (synchronous) and on all of them (the collector's own signature threads, batches of 50 kept in
 * flight); and node:crypto (OpenSSL) on one core, for comparison.
 */
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { loadSodium } from '../collector/sodium.js';
import { type VerifyItem, VerifyThreads } from '../collector/verify-threads.js';

export interface VerifyCeiling {
  oneCore: number;
  allCores: number;
  nodeCryptoOneCore: number;
}

const BATCH = 50;

export async function measureVerifyCeiling(messages: readonly Buffer[], seconds = 2): Promise<VerifyCeiling> {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const rawKey = publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
  const signed = messages.map((m) => ({ m, s: sign(null, m, privateKey) }));
  const sodium = loadSodium();

  const perSecond = (check: (x: { m: Buffer; s: Buffer }) => boolean) => {
    let n = 0;
    const started = performance.now();
    while (performance.now() - started < seconds * 1000) {
      for (let i = 0; i < 50; i++, n++) {
        if (!check(signed[n % signed.length]!)) throw new Error('a good signature did not verify');
      }
    }
    return n / ((performance.now() - started) / 1000);
  };
  const oneCore = perSecond((x) => sodium.crypto_sign_verify_detached(x.s, x.m, rawKey));
  const nodeCryptoOneCore = perSecond((x) => verify(null, x.m, publicKey, x.s));

  const threads = new VerifyThreads(availableParallelism());
  try {
    const batches: VerifyItem[][] = [];
    for (let i = 0; i + BATCH <= signed.length; i += BATCH) {
      batches.push(signed.slice(i, i + BATCH).map((x) => ({ bytes: x.m, rawKey, signature: x.s })));
    }
    let n = 0;
    const started = performance.now();
    const deadline = started + seconds * 1000;
    const client = async (first: number) => {
      for (let b = first; performance.now() < deadline; b++) {
        const { ok } = await threads.verify(batches[b % batches.length]!);
        if (ok.includes(false)) throw new Error('a good signature did not verify');
        n += ok.length;
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, i) => client(i)));
    return { oneCore, allCores: n / ((performance.now() - started) / 1000), nodeCryptoOneCore };
  } finally {
    await threads.close();
  }
}
