/**
 * `pharos analyst add|list|remove`: the people who may confirm, dismiss and annotate incidents
 * through the API. `add` prints the new token once; the data directory keeps only its SHA-256
 * (analysts.json, mode 0600), so a token that is lost is replaced, never recovered.
 */
import path from 'node:path';
import { AnalystError, AnalystRegistry } from '../incidents/analysts.js';
import { ANALYST_USAGE } from './analyst-usage.js';
import { parseCommandLine } from './command-line.js';
import type { CliIO } from './io.js';
import { UsageError } from './usage-error.js';

const OPTIONS = {
  data: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

type Request =
  | { kind: 'help' }
  | { kind: 'add' | 'remove'; name: string; dataDir: string }
  | { kind: 'list'; dataDir: string };

function parseAnalystArgs(argv: string[], cwd: string): Request {
  const { values, positionals } = parseCommandLine(argv, OPTIONS);
  if (values.help) return { kind: 'help' };
  const [command, name, ...rest] = positionals;
  if (command !== 'add' && command !== 'list' && command !== 'remove') {
    throw new UsageError(
      command ? `unknown analyst command "${command}" (add, list or remove)` : 'say add, list or remove',
    );
  }
  if (values.data?.length !== 1) throw new UsageError('give the data directory once: --data DIR');
  const dataDir = path.resolve(cwd, values.data[0]!);
  if (command === 'list') {
    if (name !== undefined) throw new UsageError(`unexpected argument "${name}"`);
    return { kind: 'list', dataDir };
  }
  if (name === undefined) throw new UsageError(`pharos analyst ${command} needs the analyst's NAME`);
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
  return { kind: command, name, dataDir };
}

export async function analystCommand(argv: string[], io: CliIO): Promise<number> {
  let request: Request;
  try {
    request = parseAnalystArgs(argv, io.cwd);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`pharos analyst: ${err.message}\nRun "pharos analyst --help" for usage.\n`);
    return 2;
  }
  if (request.kind === 'help') {
    io.stdout.write(ANALYST_USAGE);
    return 0;
  }
  const registry = new AnalystRegistry(request.dataDir);
  try {
    if (request.kind === 'add') {
      const token = await registry.add(request.name);
      io.stdout.write(`${token}\n`);
      io.stderr.write(
        `analyst ${request.name} added; the token above is shown only now: give it to them over a safe channel\n`,
      );
      return 0;
    }
    if (request.kind === 'remove') {
      if (!(await registry.remove(request.name))) {
        io.stderr.write(`pharos analyst: there is no analyst named ${request.name}\n`);
        return 1;
      }
      io.stdout.write(`analyst ${request.name} removed; their token no longer works\n`);
      return 0;
    }
    const analysts = await registry.list();
    if (analysts.length === 0) io.stdout.write('no analysts (pharos analyst add NAME --data DIR)\n');
    for (const a of analysts) io.stdout.write(`${a.name}\tsince ${a.created}\n`);
    return 0;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (err instanceof AnalystError || code === 'ENOENT' || code === 'EACCES') {
      io.stderr.write(`pharos analyst: ${(err as Error).message}\n`);
      return 1;
    }
    throw err;
  }
}
