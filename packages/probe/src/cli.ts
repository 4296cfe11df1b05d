#!/usr/bin/env node
/** The `pharos-probe` executable: runs the command and turns its result into the exit code. */
import { main } from './cli/main.js';
import { EXIT_FAILURE, EXIT_INTERRUPTED } from './cli/run.js';

try {
  const code = await main(process.argv.slice(2));
  // After Ctrl-C, sockets of aborted measurements may still hold the event loop; the user asked
  // to stop and everything is flushed, so leave now.
  if (code === EXIT_INTERRUPTED) process.exit(code);
  process.exitCode = code;
} catch (err) {
  process.stderr.write(`pharos-probe: unexpected error (please report it): ${(err as Error).stack ?? err}\n`);
  process.exitCode = EXIT_FAILURE;
}
