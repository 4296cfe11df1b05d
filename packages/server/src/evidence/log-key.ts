/**
 * The log's Ed25519 note key: created at the first start in DATA_DIR/keys/log.key (mode 0600; the
 * signer key text, Go sumdb/note's `PRIVATE+KEY+…` form) with its verifier key in log.vkey. The key
 * name is the log's origin, so a checkpoint's origin line and its signature line agree, which is
 * what C2SP tlog-checkpoint asks and what core's openCheckpoint checks by default.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  type Ed25519NoteSigner,
  type Ed25519NoteVerifier,
  formatVerifierKey,
  generateNoteKey,
  isValidKeyName,
  type NoteSigner,
  parseSignerKey,
  parseVerifierKey,
} from '@pharos/core';
import { DurableWriter, writeFileDurably } from './durable-file.js';
import { fastNoteSigner } from './node-ed25519.js';

export const DEFAULT_ORIGIN = 'pharos.local/log';

export interface LogKey {
  origin: string;
  signer: Ed25519NoteSigner;
  /** The same key, signing with OpenSSL (what the sequencer signs checkpoints with). */
  noteSigner: NoteSigner;
  verifier: Ed25519NoteVerifier;
  /** `<origin>+<key id>+<base64>`, what GET /log/vkey serves. */
  vkey: string;
}

export class LogKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LogKeyError';
  }
}

export function keyPaths(dataDir: string): { dir: string; key: string; vkey: string } {
  const dir = path.join(dataDir, 'keys');
  return { dir, key: path.join(dir, 'log.key'), vkey: path.join(dir, 'log.vkey') };
}

/** Loads the log key, or creates it when there is none. `origin` must match an existing key. */
export async function loadOrCreateLogKey(
  dataDir: string,
  origin: string | undefined,
  warn: (message: string) => void = () => {},
): Promise<LogKey> {
  const paths = keyPaths(dataDir);
  const existing = await readFile(paths.key, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (existing === null) return createLogKey(paths, origin ?? DEFAULT_ORIGIN);

  let signer: Ed25519NoteSigner;
  try {
    signer = parseSignerKey(existing.trim());
  } catch (err) {
    throw new LogKeyError(`${paths.key} is not a log signing key: ${(err as Error).message}`);
  }
  if (origin !== undefined && origin !== signer.name) {
    throw new LogKeyError(
      `${paths.key} signs for origin ${JSON.stringify(signer.name)}, not ${JSON.stringify(origin)}: ` +
        "a log's origin cannot change (use a new data directory for a new log)",
    );
  }
  const mode = (await stat(paths.key)).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    warn(`${paths.key} is readable by other users (mode ${mode.toString(8)}); it should be 0600`);
  }
  const vkey = formatVerifierKey(signer.name, signer.publicKey);
  const storedVkey = await readFile(paths.vkey, 'utf8').catch(() => null);
  if (storedVkey === null) await writeFileDurably(paths.vkey, `${vkey}\n`);
  else if (storedVkey.trim() !== vkey) {
    throw new LogKeyError(`${paths.vkey} does not belong to the key in ${paths.key}`);
  }
  return logKey(signer, vkey);
}

async function createLogKey(paths: ReturnType<typeof keyPaths>, origin: string): Promise<LogKey> {
  if (!isValidKeyName(origin)) {
    throw new LogKeyError(`origin ${JSON.stringify(origin)} cannot name a key: no spaces or "+" allowed`);
  }
  const { skey, vkey } = generateNoteKey(origin);
  const writer = new DurableWriter();
  await writer.ensureDir(paths.dir, 0o700);
  await writer.write(paths.key, Buffer.from(`${skey}\n`), 0o600);
  await writer.write(paths.vkey, Buffer.from(`${vkey}\n`), 0o644);
  await writer.commit();
  return logKey(parseSignerKey(skey), vkey);
}

function logKey(signer: Ed25519NoteSigner, vkey: string): LogKey {
  return {
    origin: signer.name,
    signer,
    noteSigner: fastNoteSigner(signer),
    verifier: parseVerifierKey(vkey),
    vkey,
  };
}
