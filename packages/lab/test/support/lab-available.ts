/**
 * For tests that need the real lab (root, namespaces, nft, iptables, tc): the `describe` to use.
 * Outside CI a missing prerequisite skips them with a message saying what is missing; under CI
 * (CI=true) it fails the file, because CI must run everything the issues ask for.
 */
import { describe } from 'vitest';
import { preflight } from '../../src/world/index.js';

export async function labDescribe(what: string): Promise<typeof describe> {
  try {
    await preflight();
    return describe;
  } catch (err) {
    const reason = (err as Error).message;
    if (process.env.CI === 'true' || process.env.CI === '1') {
      throw new Error(`${what} cannot run under CI: ${reason}`);
    }
    console.warn(`SKIPPED: ${what}: ${reason}`);
    return describe.skip;
  }
}
