import { spawn, spawnSync } from 'node:child_process';

export interface CommandResult {
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  constructor(
    readonly argv: string[],
    readonly code: number | null,
    readonly stderr: string,
    input?: string,
  ) {
    const shown = input ? `\n--- input ---\n${input.trimEnd()}\n---` : '';
    super(`\`${argv.join(' ')}\` failed (exit ${code}): ${stderr.trim() || '(no output)'}${shown}`);
    this.name = 'CommandError';
  }
}

/** Runs a system command (no shell) and resolves with its output; rejects with its stderr when it fails. */
export function run(
  argv: string[],
  options: { input?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (!file) return Promise.reject(new Error('empty command'));
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${options.timeoutMs ?? 20_000} ms)`;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 20_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run \`${argv.join(' ')}\`: ${error.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else reject(new CommandError(argv, code, stderr, options.input));
    });
    if (options.input !== undefined) {
      child.stdin?.on('error', () => {});
      child.stdin?.end(options.input);
    }
  });
}

/** The same, synchronously, never throwing (for teardown while the process exits). */
export function runSync(argv: string[], input?: string): { ok: boolean; stdout: string; stderr: string } {
  const [file, ...args] = argv;
  if (!file) return { ok: false, stdout: '', stderr: 'empty command' };
  const result = spawnSync(file, args, { input, encoding: 'utf8', timeout: 10_000 });
  return { ok: result.status === 0, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

/** `ip netns exec NS argv…` */
export function inNamespace(ns: string, argv: string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...argv];
}
