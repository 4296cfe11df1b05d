/**
 * The ceiling signature checking alone sets: Ed25519 verifications per second with node:crypto
 * over measurement-sized messages, on one core (synchronous) and on all of them (the thread pool,
 * as the collector runs them).
 */
import { generateKeyPairSync, sign, verify } from 'node:crypto';

export interface VerifyCeiling {
  oneCore: number;
  allCores: number;
}

export async function measureVerifyCeiling(messages: readonly Buffer[], seconds = 2): Promise<VerifyCeiling> {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const signed = messages.map((m) => ({ m, s: sign(null, m, privateKey) }));
  let n = 0;
  let started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    for (let i = 0; i < 50; i++, n++) {
      const x = signed[n % signed.length]!;
      if (!verify(null, x.m, publicKey, x.s)) throw new Error('a good signature did not verify');
    }
  }
  const oneCore = n / ((performance.now() - started) / 1000);

  n = 0;
  started = performance.now();
  const deadline = started + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const x = signed[n++ % signed.length]!;
      await new Promise<void>((resolve, reject) =>
        verify(null, x.m, publicKey, x.s, (err, ok) =>
          err || !ok ? reject(err ?? new Error('bad')) : resolve(),
        ),
      );
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  const allCores = n / ((performance.now() - started) / 1000);
  return { oneCore, allCores };
}
