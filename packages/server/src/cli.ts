#!/usr/bin/env node
/** The `pharos` executable: runs the command and turns its result into the exit code. */
import './threadpool.js';
import { main } from './cli/main.js';

try {
  const code = await main(process.argv.slice(2));
  // Stopped by a second signal: open connections must not keep the process alive.
  if (code >= 128) process.exit(code);
  process.exitCode = code;
} catch (err) {
  process.stderr.write(`pharos: unexpected error (please report it): ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
}
