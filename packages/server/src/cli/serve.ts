/**
 * `pharos serve`: the observatory server (collector, evidence log, test helper) on a host and
 * port until SIGINT or SIGTERM, then a clean stop: no new connections, requests in flight are
 * answered (their measurements stored), the store is closed, the port released.
 */
import type { FastifyInstance } from 'fastify';
import type { CliIO, StopSignal } from './io.js';
import { parseServeArgs, type ServeArgs } from './serve-args.js';
import { USAGE } from './usage.js';
import { UsageError } from './usage-error.js';

/** The shell's convention for a process ended by a signal (128 + its number). */
export const EXIT_BY_SIGNAL: Record<StopSignal, number> = { SIGINT: 130, SIGTERM: 143 };

export interface ServeServerOptions {
  dataDir: string;
  origin?: string;
  lateAfterMs?: number;
  https?: { key: string; cert: string };
  /** true: info-level request logs on stdout; otherwise pino options (warnings to stderr). */
  logger: true | { level: string; stream: { write(line: string): unknown } };
  testHelper: { resolver?: string; extraCA?: string[] };
  detection?: { beaconInterval: number; measurementStep: number; every: number | null; config?: unknown };
}

/** Builds the server (not listening); `createServer` of ../app.js, or a stand-in in tests. */
export type ServerFactory = (
  options: ServeServerOptions,
) => Promise<{ app: FastifyInstance; close(): Promise<void> }>;

export async function serveCommand(argv: string[], io: CliIO, createServer: ServerFactory): Promise<number> {
  let args: ServeArgs;
  try {
    args = parseServeArgs(argv, io.cwd);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`pharos: ${err.message}\nRun "pharos help" for usage.\n`);
    return 2;
  }
  if (args.help) {
    io.stdout.write(USAGE);
    return 0;
  }

  // Subscribed before starting, so a signal that arrives while starting still stops cleanly.
  // The first signal closes gracefully (open requests finish); a second one stops at once.
  let stopRequested: (signal: StopSignal) => void = () => {};
  let forceRequested: (signal: StopSignal) => void = () => {};
  const stopped = new Promise<StopSignal>((resolve) => {
    stopRequested = resolve;
  });
  const forced = new Promise<StopSignal>((resolve) => {
    forceRequested = resolve;
  });
  let signals = 0;
  const unsubscribe = io.onStopSignal((signal) => {
    signals++;
    if (signals === 1) stopRequested(signal);
    else forceRequested(signal);
  });
  try {
    let server: Awaited<ReturnType<ServerFactory>>;
    try {
      server = await createServer({
        dataDir: args.dataDir,
        origin: args.origin,
        ...(args.lateAfterSeconds === undefined ? {} : { lateAfterMs: args.lateAfterSeconds * 1000 }),
        https: args.https,
        logger: args.log ? true : { level: 'warn', stream: io.stderr },
        testHelper: { resolver: args.resolver, extraCA: args.extraCA },
        detection: {
          beaconInterval: args.detection.beaconInterval,
          measurementStep: args.detection.measurementStep,
          every: args.detection.every,
          config: args.detection.config,
        },
      });
    } catch (err) {
      io.stderr.write(
        `pharos: cannot start the server with data in ${args.dataDir}: ${(err as Error).message}\n`,
      );
      return 1;
    }
    try {
      await server.app.listen({ host: args.host, port: args.port });
    } catch (err) {
      io.stderr.write(`pharos: cannot listen on ${args.host} port ${args.port}: ${(err as Error).message}\n`);
      await server.close();
      return 1;
    }
    const url = listeningURL(server.app, args.https !== undefined);
    io.stdout.write(
      `pharos: listening on ${url}\n` +
        `  data in ${args.dataDir}${args.dataDirDefaulted ? ' (the default, ./pharos-data: --data DIR to choose)' : ''}\n` +
        `  probes submit to ${url}api/v1/measurements; the evidence log is at ${url}log/checkpoint\n` +
        `  test helper: pharos-probe run --th ${url} ...\n`,
    );
    const signal = await stopped;
    io.stderr.write(`pharos: ${signal}: stopping the server (again to stop at once)\n`);
    const closed = server.close().then(() => null);
    const force = await Promise.race([closed, forced]);
    if (force !== null) {
      io.stderr.write(`pharos: ${force}: stopped without waiting for open requests\n`);
      return EXIT_BY_SIGNAL[force];
    }
    io.stderr.write('pharos: server stopped\n');
    return 0;
  } finally {
    unsubscribe();
  }
}

/** The URL probes can use, from the address actually bound (port 0 means the kernel chose). */
function listeningURL(server: FastifyInstance, https: boolean): string {
  const address = server.server.address();
  if (address === null || typeof address === 'string') return String(address);
  const host =
    address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
  return `${https ? 'https' : 'http'}://${host}:${address.port}/`;
}
