/**
 * `pharos-probe` command dispatch. Exported so tests run commands in process with their own
 * CliIO; src/cli.ts is the thin executable around it.
 */
import { beaconCommand } from './beacon-command.js';
import { BEACON_USAGE } from './beacon-usage.js';
import { EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import { type CliIO, processIO } from './io.js';
import { type RunDeps, runCommand } from './run.js';
import { statusCommand } from './status-command.js';
import { submitCommand } from './submit-command.js';
import { uploadCommand } from './upload-command.js';
import { MAIN_USAGE, RUN_USAGE, STATUS_USAGE, SUBMIT_USAGE, UPLOAD_USAGE } from './usage.js';

export const defaultRunDeps: RunDeps = {
  async measure(input, options) {
    // Loaded on first use so `--help` and usage errors answer without loading the network stack.
    const { measureWebConnectivity } = await import('../webconnectivity/index.js');
    return measureWebConnectivity(input, options);
  },
};

const COMMAND_USAGE: Record<string, string> = {
  run: RUN_USAGE,
  status: STATUS_USAGE,
  upload: UPLOAD_USAGE,
  submit: SUBMIT_USAGE,
  beacon: BEACON_USAGE,
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
    case 'status':
      return statusCommand(rest, io);
    case 'upload':
      return uploadCommand(rest, io, deps.upload);
    case 'submit':
      return submitCommand(rest, io, deps.upload);
    case 'beacon':
      return beaconCommand(rest, io);
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(COMMAND_USAGE[rest[0] ?? ''] ?? MAIN_USAGE);
      return EXIT_OK;
    case undefined:
      io.stderr.write(MAIN_USAGE);
      return EXIT_USAGE;
    default:
      io.stderr.write(`pharos-probe: unknown command "${command}"\n\n${MAIN_USAGE}`);
      return EXIT_USAGE;
  }
}
