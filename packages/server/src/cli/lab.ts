/**
 * `pharos lab ...`: hands the arguments to the lab's own CLI. The lab lives in the repository
 * (it needs root, namespaces and the other packages' sources), not in an installed server, so it
 * is imported by a specifier held in a variable: TypeScript then needs no project reference to
 * it, and a server installed without it says so instead of failing to start.
 */
import type { CliIO } from './io.js';

export const LAB_CLI_SPECIFIER = '@pharos/lab/cli';

interface LabModule {
  main(argv: string[]): Promise<number>;
}

export async function labCommand(
  argv: string[],
  io: CliIO,
  specifier: string = LAB_CLI_SPECIFIER,
): Promise<number> {
  let mod: Partial<LabModule>;
  try {
    mod = (await import(specifier)) as Partial<LabModule>;
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    const message = (err as Error).message;
    // Node names the package when the package itself is missing, and a file when it is there
    // but something inside it (usually its build) is.
    if (
      message.includes(`package '${packageName(specifier)}'`) ||
      message.includes(`package '${specifier}'`)
    ) {
      io.stderr.write(
        `pharos: the lab is not installed here (${message}).\n` +
          '  The lab is a development tool that comes with the repository checkout: clone the Pharos\n' +
          '  repository, run "npm install && npm run build", then "npx pharos lab ..." from the checkout.\n',
      );
    } else {
      io.stderr.write(
        `pharos: the lab could not be loaded: ${message}\n` +
          '  Its build is missing or out of date: run "npm run build" in the repository checkout.\n',
      );
    }
    return 1;
  }
  if (typeof mod.main !== 'function') {
    io.stderr.write(
      `pharos: ${specifier} does not export main(argv); the lab build is out of date (npm run build)\n`,
    );
    return 1;
  }
  return mod.main(argv);
}

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}
