/**
 * `pharos check --data DIR`: the evidence store's integrity check, offline (the server stopped):
 * every measurement against its log entry, every entry against its leaf hash, the tree rebuilt
 * from the entries against the tiles on disk and every stored checkpoint. Lists each problem in
 * plain words and exits 1 when there is any.
 */
import path from 'node:path';
import type { IntegrityReport } from '../evidence/types.js';
import { CHECK_USAGE } from './check-usage.js';
import { parseCommandLine } from './command-line.js';
import type { CliIO } from './io.js';
import { UsageError } from './usage-error.js';

const OPTIONS = {
  data: { type: 'string', multiple: true },
  'no-signatures': { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function formatReport(report: IntegrityReport): string {
  const c = report.checked;
  let out =
    `checked ${count(c.entries, 'log entry', 'log entries')}, ${count(c.measurements, 'measurement')} ` +
    `(${count(c.signatures, 'signature')}), ${c.records > 0 ? `${count(c.records, 'record')}, ` : ''}` +
    `${count(c.tiles, 'tile')}, ${count(c.entryBundles, 'entry bundle')} ` +
    `and ${count(c.checkpoints, 'checkpoint')}\n`;
  for (const note of report.notes) out += `note: ${note}\n`;
  for (const p of report.problems) out += `problem: ${p.where}: ${p.problem}\n`;
  if (report.problemsOmitted > 0) out += `… and ${report.problemsOmitted} more problems\n`;
  const total = report.problems.length + report.problemsOmitted;
  out += report.ok ? 'no problems found\n' : `${count(total, 'problem')} found\n`;
  return out;
}

export async function checkCommand(argv: string[], io: CliIO): Promise<number> {
  let dataDir: string;
  let values: { 'no-signatures'?: boolean; json?: boolean; help?: boolean; data?: string[] };
  try {
    let positionals: string[];
    ({ values, positionals } = parseCommandLine(argv, OPTIONS));
    if (values.help) {
      io.stdout.write(CHECK_USAGE);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    if (values.data?.length !== 1) throw new UsageError('give the data directory once: --data DIR');
    dataDir = path.resolve(io.cwd, values.data[0]!);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`pharos check: ${err.message}\nRun "pharos check --help" for usage.\n`);
    return 2;
  }
  // Loaded here: DuckDB's native module is only needed when a check actually runs.
  const { checkDataDirectory, DataDirectoryError } = await import('../evidence/offline-check.js');
  let report: IntegrityReport;
  try {
    report = await checkDataDirectory(dataDir, { signatures: !values['no-signatures'] });
  } catch (err) {
    if (!(err instanceof DataDirectoryError)) throw err;
    io.stderr.write(`pharos check: ${err.message}\n`);
    return 1;
  }
  io.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return report.ok ? 0 : 1;
}
