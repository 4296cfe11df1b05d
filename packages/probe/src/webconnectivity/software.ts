/** Who we are in a measurement's envelope. */
import { readFileSync } from 'node:fs';

export const SOFTWARE_NAME = 'pharos-probe';

/** From package.json, two levels up from both src/webconnectivity and dist/webconnectivity. */
export const SOFTWARE_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
})();
