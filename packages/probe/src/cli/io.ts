/**
 * What the CLI touches in the outside world, passed in so tests can run a whole command in
 * process: capture its output, fake the clock and send it a Ctrl-C.
 */
export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface CliIO {
  stdout: OutputStream;
  stderr: OutputStream;
  /** Relative paths in arguments are resolved against this. */
  cwd: string;
  now(): Date;
  /** Environment variables (PHAROS_PROBE_STATE, XDG_STATE_HOME, HOME); process.env when absent. */
  env?: Record<string, string | undefined>;
  /** Calls `handler` on each user interrupt (SIGINT); returns a function that unsubscribes. */
  onInterrupt(handler: () => void): () => void;
}

export function processIO(): CliIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    cwd: process.cwd(),
    now: () => new Date(),
    env: process.env,
    onInterrupt(handler) {
      // A listener replaces Node's default (exit at once), so the run can flush and summarise.
      process.on('SIGINT', handler);
      return () => process.off('SIGINT', handler);
    },
  };
}
