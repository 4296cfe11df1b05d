/**
 * The probe's Ed25519 identity: created on first use, kept as PKCS#8 PEM (`probe.key`, 0600) with
 * its SPKI PEM public key beside it (`probe.pub`), so openssl and any crypto library read them.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { link, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { syncDirectory, writeFileDurably } from '../outbox/durable-file.js';
import type { StateLayout } from './state-dir.js';

export interface ProbeKey {
  privateKey: KeyObject;
  /** The 32 raw public key bytes. */
  publicKey: Uint8Array;
  /** Base64 of the raw public key: the `probe_key` of every submission item. */
  publicKeyBase64: string;
  /** Lowercase hex SHA-256 of the raw public key: how people refer to this probe. */
  fingerprint: string;
}

/** The key file is unusable (readable by others, damaged): the message says what to do. */
export class ProbeKeyError extends Error {
  override name = 'ProbeKeyError';
}

export function keyFingerprint(publicKey: Uint8Array): string {
  return createHash('sha256').update(publicKey).digest('hex');
}

function probeKeyFrom(privateKey: KeyObject): ProbeKey {
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const publicKey = new Uint8Array(Buffer.from(jwk.x ?? '', 'base64url'));
  return {
    privateKey,
    publicKey,
    publicKeyBase64: Buffer.from(publicKey).toString('base64'),
    fingerprint: keyFingerprint(publicKey),
  };
}

/** The key, or null when this state directory has none yet. Never creates anything. */
export async function readProbeKey(layout: StateLayout): Promise<ProbeKey | null> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(layout.key);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  // As ssh does: a private key others can read is no longer private, and signing with it would
  // let anyone who copied it speak for this probe.
  if ((info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(4, '0');
    throw new ProbeKeyError(
      `${layout.key} can be read by other users (mode ${mode}). It is this probe's private signing key: ` +
        `anyone who can read it can sign measurements as this probe. Refusing to use it.\n` +
        `  Restrict it with: chmod 600 ${layout.key}\n` +
        '  (or, if others may have copied it, delete it and a new key is made on the next run)',
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(await readFile(layout.key, 'utf8'));
  } catch (err) {
    throw new ProbeKeyError(`${layout.key} is not a readable private key: ${(err as Error).message}`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new ProbeKeyError(
      `${layout.key} holds a ${privateKey.asymmetricKeyType} key; the probe signs with Ed25519`,
    );
  }
  return probeKeyFrom(privateKey);
}

/**
 * The probe's key, created (with probe.pub) if the state directory has none. Safe against two
 * processes starting at once: the key is written to a private temp file and hard-linked into
 * place, which fails if another process got there first, and then that process's key is used.
 */
export async function loadOrCreateProbeKey(
  layout: StateLayout,
): Promise<{ key: ProbeKey; created: boolean }> {
  const existing = await readProbeKey(layout);
  if (existing) {
    await ensurePublicKeyFile(layout, existing);
    return { key: existing, created: false };
  }
  await mkdir(layout.dir, { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  // A unique temp name: concurrent creators (even in one process) must not share one.
  const temp = path.join(layout.dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}-probe.key.part`);
  const handle = await open(temp, 'wx', 0o600);
  let created = false;
  try {
    await handle.writeFile(pem, 'utf8');
    await handle.sync();
    await handle.close();
    await link(temp, layout.key);
    created = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await handle.close().catch(() => {});
    await rm(temp, { force: true });
  }
  await syncDirectory(layout.dir);
  const key = await readProbeKey(layout);
  if (!key) throw new ProbeKeyError(`${layout.key} vanished while it was being created`);
  await ensurePublicKeyFile(layout, key);
  return { key, created };
}

/** probe.pub is derived from the key: rewritten when it is missing or does not match. */
async function ensurePublicKeyFile(layout: StateLayout, key: ProbeKey): Promise<void> {
  const pem = createPublicKey(key.privateKey).export({ format: 'pem', type: 'spki' }) as string;
  const current = await readFile(layout.pub, 'utf8').catch(() => null);
  if (current === pem) return;
  await writeFileDurably(layout.dir, 'probe.pub', pem, 0o644);
}
