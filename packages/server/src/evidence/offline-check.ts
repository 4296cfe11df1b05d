/**
 * The integrity check of a data directory whose server is stopped (`pharos check --data DIR`):
 * the database opened read-only, the log's public key from keys/log.vkey (the check never needs
 * the private key), then checkIntegrity over everything.
 */
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseVerifierKey } from '@pharos/core';
import { BodyReader } from './body-files.js';
import { DATABASE_FILE, EvidenceDatabase } from './database.js';
import { checkIntegrity } from './integrity.js';
import { keyPaths } from './log-key.js';
import { TileFiles } from './tile-files.js';
import type { IntegrityOptions, IntegrityReport } from './types.js';

/** A data directory that cannot be checked at all (missing, in use, no key). */
export class DataDirectoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirectoryError';
  }
}

export async function checkDataDirectory(
  dataDir: string,
  options: IntegrityOptions = {},
): Promise<IntegrityReport> {
  const dbFile = path.join(dataDir, DATABASE_FILE);
  try {
    await access(dbFile);
  } catch {
    throw new DataDirectoryError(`${dataDir} holds no evidence database (${DATABASE_FILE})`);
  }
  const vkeyFile = keyPaths(dataDir).vkey;
  const vkeyText = await readFile(vkeyFile, 'utf8').catch(() => {
    throw new DataDirectoryError(
      `${vkeyFile} is missing: without the log's public key nothing can be checked`,
    );
  });
  let verifier: ReturnType<typeof parseVerifierKey>;
  try {
    verifier = parseVerifierKey(vkeyText.trim());
  } catch (err) {
    throw new DataDirectoryError(`${vkeyFile} is not a verifier key: ${(err as Error).message}`);
  }
  let db: EvidenceDatabase;
  try {
    db = await EvidenceDatabase.open(dataDir, { readOnly: true });
  } catch (err) {
    const message = (err as Error).message;
    if (/lock/i.test(message)) {
      throw new DataDirectoryError(
        `${dbFile} is in use by a running server; stop it first (or ask the running server to check itself): ${message}`,
      );
    }
    throw new DataDirectoryError(`cannot open ${dbFile}: ${message}`);
  }
  const connection = await db.connect();
  const bodies = new BodyReader(dataDir);
  try {
    return await checkIntegrity({ db, connection, files: new TileFiles(dataDir), bodies, verifier }, options);
  } finally {
    await bodies.close();
    connection.closeSync();
    db.close();
  }
}
