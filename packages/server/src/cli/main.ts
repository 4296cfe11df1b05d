/**
 * `pharos` command dispatch. Exported so tests run commands in process with their own CliIO;
 * src/cli.ts is the thin executable around it.
 */
import { type CliIO, processIO } from './io.js';
import { labCommand } from './lab.js';
import { type ServerFactory, serveCommand } from './serve.js';
import { USAGE } from './usage.js';

export interface ServerCliDeps {
  createServer: ServerFactory;
  labSpecifier?: string;
}

export const defaultDeps: ServerCliDeps = {
  async createServer(options) {
    // Loaded on use: `pharos lab` and `pharos help` need neither Fastify nor the store.
    const { createServer } = await import('../app.js');
    return createServer(options);
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
      return serveCommand(rest, io, deps.createServer);
    case 'lab':
      return labCommand(rest, io, deps.labSpecifier);
    case 'verify':
      return (await import('./verify.js')).verifyCommand(rest, io);
    case 'check':
      return (await import('./check.js')).checkCommand(rest, io);
    case 'analyst':
      return (await import('./analyst.js')).analystCommand(rest, io);
    case 'incidents':
      return (await import('./incidents.js')).incidentsCommand(rest, io);
    case 'eval':
      return (await import('./eval.js')).evalCommand(rest, io);
    case 'import':
      return (await import('./import.js')).importCommand(rest, io);
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
