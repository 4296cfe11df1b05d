/**
 * `pharos` command dispatch. Exported so tests run commands in process with their own CliIO;
 * src/cli.ts is the thin executable around it.
 */
import { type CliIO, processIO } from './io.js';
import { labCommand } from './lab.js';
import { serveCommand, type TestHelperFactory } from './serve.js';
import { USAGE } from './usage.js';

export interface ServerCliDeps {
  createTestHelperServer: TestHelperFactory;
  labSpecifier?: string;
}

export const defaultDeps: ServerCliDeps = {
  async createTestHelperServer(options) {
    // Loaded on use: `pharos lab` and `pharos help` need neither Fastify nor the helper.
    const { createTestHelperServer } = await import('../index.js');
    return createTestHelperServer(options);
  },
};

export async function main(
  argv: string[],
  io: CliIO = processIO(),
  deps: ServerCliDeps = defaultDeps,
): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serveCommand(rest, io, deps.createTestHelperServer);
    case 'lab':
      return labCommand(rest, io, deps.labSpecifier);
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(USAGE);
      return 0;
    case undefined:
      io.stderr.write(USAGE);
      return 2;
    default:
      io.stderr.write(`pharos: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}
