/**
 * Tests that read ../shared/data (real public data we may not copy into the repo) find it here.
 * Outside CI a missing folder skips those tests with a visible message; under CI (CI=true) it is
 * a failure, because CI must exercise everything the issues ask for.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Absolute path of ../shared/data beside the checkout, or null when it is not there. */
export const sharedDataDir: string | null = (() => {
  const dir = path.resolve(repoRoot, '..', 'shared', 'data');
  return existsSync(dir) ? dir : null;
})();

/**
 * The absolute path of a file under ../shared/data, or null (with a printed reason) when the
 * folder is missing outside CI. Under CI a missing folder or file throws.
 */
export function sharedData(relativePath: string): string | null {
  const inCI = process.env.CI === 'true' || process.env.CI === '1';
  if (!sharedDataDir) {
    if (inCI) throw new Error(`../shared/data is missing: CI needs it for ${relativePath}`);
    console.warn(
      `SKIPPED: ../shared/data is not beside this checkout, so tests on ${relativePath} are skipped`,
    );
    return null;
  }
  const file = path.join(sharedDataDir, relativePath);
  if (!existsSync(file)) {
    if (inCI) throw new Error(`../shared/data/${relativePath} is missing`);
    console.warn(`SKIPPED: ../shared/data/${relativePath} is missing`);
    return null;
  }
  return file;
}
