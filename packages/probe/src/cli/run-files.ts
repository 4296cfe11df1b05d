/**
 * Files named on the `run` command line (CA certificates, blockpage fingerprints), read and
 * checked before the run starts: a wrong path is a usage error, not a run of bad measurements.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type FingerprintSet, mergeFingerprints, parseFingerprintsCSV } from '@pharos/core';
import { UsageError } from './usage-error.js';

async function readArgumentFile(option: string, cwd: string, file: string): Promise<string> {
  try {
    return await readFile(path.resolve(cwd, file), 'utf8');
  } catch (err) {
    throw new UsageError(`${option} ${file}: cannot read it: ${(err as Error).message}`);
  }
}

/** Each file's PEM text, after checking every certificate in it parses. */
export async function readCAFiles(cwd: string, files: string[]): Promise<string[]> {
  const texts: string[] = [];
  for (const file of files) {
    const text = await readArgumentFile('--ca', cwd, file);
    const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) {
      throw new UsageError(`--ca ${file}: no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)`);
    }
    blocks.forEach((block, index) => {
      try {
        new X509Certificate(block);
      } catch (err) {
        throw new UsageError(
          `--ca ${file}: certificate ${index + 1} is not valid: ${(err as Error).message}`,
        );
      }
    });
    texts.push(text);
  }
  return texts;
}

/** The fingerprints of all files merged, or undefined when none were given. */
export async function readFingerprintFiles(
  cwd: string,
  files: string[],
): Promise<FingerprintSet | undefined> {
  if (files.length === 0) return undefined;
  const sets: FingerprintSet[] = [];
  for (const file of files) {
    const text = await readArgumentFile('--fingerprints', cwd, file);
    try {
      // The base name only: a source name may travel inside measurements, and a volunteer's
      // directory layout (home folder, user name) must not.
      sets.push(parseFingerprintsCSV(text, path.basename(file)));
    } catch (err) {
      throw new UsageError(`--fingerprints ${file}: ${(err as Error).message}`);
    }
  }
  return mergeFingerprints(...sets);
}
