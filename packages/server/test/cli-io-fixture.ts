/** A CliIO for running `pharos` commands in process: it records output and lets a test send SIGINT/SIGTERM. */
import type { CliIO, StopSignal } from '../src/cli/io.js';

export function recordingIO(cwd: string) {
  let stdout = '';
  let stderr = '';
  const handlers = new Set<(signal: StopSignal) => void>();
  const io: CliIO = {
    stdout: { write: (chunk) => (stdout += chunk) },
    stderr: { write: (chunk) => (stderr += chunk) },
    cwd,
    onStopSignal(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
  };
  return {
    io,
    stdout: () => stdout,
    stderr: () => stderr,
    signal: (signal: StopSignal) => {
      for (const handler of handlers) handler(signal);
    },
  };
}
