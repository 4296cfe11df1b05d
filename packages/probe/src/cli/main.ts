/**
 * `pharos-probe` command dispatch. Exported so tests run commands in process with their own
 * CliIO; src/cli.ts is the thin executable around it.
 */
import { type CliIO, processIO } from './io.js';
import { EXIT_OK, EXIT_USAGE, type RunDeps, runCommand } from './run.js';
import { MAIN_USAGE, RUN_USAGE } from './usage.js';

export const defaultRunDeps: RunDeps = {
  async measure(input, options) {
    // Loaded on first use so `--help` and usage errors answer without loading the network stack.
    const { measureWebConnectivity } = await import('../webconnectivity/index.js');
    return measureWebConnectivity(input, options);
  },
};

export async function main(
  argv: string[],
  io: CliIO = processIO(),
  deps: RunDeps = defaultRunDeps,
): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return runCommand(rest, io, deps);
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(rest[0] === 'run' ? RUN_USAGE : MAIN_USAGE);
      return EXIT_OK;
    case undefined:
      io.stderr.write(MAIN_USAGE);
      return EXIT_USAGE;
    default:
      io.stderr.write(`pharos-probe: unknown command "${command}"\n\n${MAIN_USAGE}`);
      return EXIT_USAGE;
  }
}
