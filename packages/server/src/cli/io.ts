/**
 * What the `pharos` CLI touches in the outside world, passed in so tests can run a command in
 * process, read its output and stop it as a signal would.
 */
export interface OutputStream {
  write(chunk: string): unknown;
}

export type StopSignal = 'SIGINT' | 'SIGTERM';

export interface CliIO {
  stdout: OutputStream;
  stderr: OutputStream;
  /** Relative paths in arguments are resolved against this. */
  cwd: string;
  /** Calls `handler` when the process is asked to stop; returns a function that unsubscribes. */
  onStopSignal(handler: (signal: StopSignal) => void): () => void;
}

export function processIO(): CliIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    cwd: process.cwd(),
    onStopSignal(handler) {
      const signals: StopSignal[] = ['SIGINT', 'SIGTERM'];
      for (const signal of signals) process.on(signal, handler);
      return () => {
        for (const signal of signals) process.off(signal, handler);
      };
    },
  };
}
