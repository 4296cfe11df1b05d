/**
 * `pharos incidents export|import`: incidents out as STOP CSV or JSON, and Access Now STOP sheets
 * in. Imports are confirmed incidents (people documented them), each logged in the evidence log by
 * `import:<file name>` like any other change; importing a file again skips the rows it brought.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseCommandLine } from './command-line.js';
import { INCIDENTS_USAGE } from './incidents-usage.js';
import type { CliIO } from './io.js';
import { UsageError } from './usage-error.js';

const OPTIONS = {
  data: { type: 'string', multiple: true },
  format: { type: 'string', multiple: true },
  stop: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

type Request =
  | { kind: 'help' }
  | { kind: 'export'; dataDir: string; format: 'stop-csv' | 'json' }
  | { kind: 'import'; dataDir: string; file: string };

function parseIncidentsArgs(argv: string[], cwd: string): Request {
  const { values, positionals } = parseCommandLine(argv, OPTIONS);
  if (values.help) return { kind: 'help' };
  const [command, ...rest] = positionals;
  if (command !== 'export' && command !== 'import') {
    throw new UsageError(
      command ? `unknown incidents command "${command}" (export or import)` : 'say export or import',
    );
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
  if (values.data?.length !== 1) throw new UsageError('give the data directory once: --data DIR');
  const dataDir = path.resolve(cwd, values.data[0]!);
  if (command === 'export') {
    if (values.stop) throw new UsageError('--stop is for import');
    if (values.format && values.format.length > 1) throw new UsageError('--format may be given only once');
    const format = values.format?.[0] ?? 'stop-csv';
    if (format !== 'stop-csv' && format !== 'json')
      throw new UsageError(`--format must be stop-csv or json, not "${format}"`);
    return { kind: 'export', dataDir, format };
  }
  if (values.format) throw new UsageError('--format is for export');
  if (values.stop?.length !== 1) throw new UsageError('give the STOP sheet to import once: --stop FILE');
  return { kind: 'import', dataDir, file: path.resolve(cwd, values.stop[0]!) };
}

function lockMessage(err: unknown, dataDir: string): string | null {
  const message = (err as Error).message ?? '';
  return /lock/i.test(message)
    ? `the data directory ${dataDir} is in use by a running server; stop it first (or read GET /api/v1/incidents.csv from it)`
    : null;
}

export async function incidentsCommand(argv: string[], io: CliIO): Promise<number> {
  let request: Request;
  try {
    request = parseIncidentsArgs(argv, io.cwd);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`pharos incidents: ${err.message}\nRun "pharos incidents --help" for usage.\n`);
    return 2;
  }
  if (request.kind === 'help') {
    io.stdout.write(INCIDENTS_USAGE);
    return 0;
  }
  // Loaded here: DuckDB's native module is only needed when a command runs.
  const { SignalsDatabase } = await import('../signals/database.js');
  const { IncidentStore } = await import('../incidents/store.js');
  const { exportStop, importStop, StopFormatError } = await import('../incidents/stop-csv.js');

  if (request.kind === 'export') {
    let db: Awaited<ReturnType<typeof SignalsDatabase.open>>;
    try {
      db = await SignalsDatabase.open(request.dataDir);
    } catch (err) {
      io.stderr.write(`pharos incidents: ${lockMessage(err, request.dataDir) ?? (err as Error).message}\n`);
      return 1;
    }
    try {
      const store = await IncidentStore.open(db, {
        appendRecord: () => Promise.reject(new Error('exporting changes nothing')),
      });
      const incidents = await store.list({ limit: Number.MAX_SAFE_INTEGER });
      if (request.format === 'stop-csv') io.stdout.write(exportStop(incidents));
      else {
        const full = [];
        for (const i of incidents) {
          const found = await store.get(i.id);
          full.push({ incident: i, changes: found?.changes.map(({ snapshot: _s, ...c }) => c) ?? [] });
        }
        io.stdout.write(`${JSON.stringify({ incidents: full }, null, 2)}\n`);
      }
      return 0;
    } finally {
      await db.close();
    }
  }

  let text: string;
  try {
    text = await readFile(request.file, 'utf8');
  } catch (err) {
    io.stderr.write(
      `pharos incidents: cannot read --stop ${request.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`,
    );
    return 1;
  }
  const fileName = path.basename(request.file);
  let imported: ReturnType<typeof importStop>;
  try {
    imported = importStop(text, fileName);
  } catch (err) {
    if (!(err instanceof StopFormatError) && (err as Error).name !== 'CsvError') throw err;
    io.stderr.write(`pharos incidents: ${(err as Error).message}\n`);
    return 1;
  }
  for (const w of imported.warnings) io.stderr.write(`warning: ${w}\n`);
  const { openEvidenceStore } = await import('../evidence/store.js');
  let evidence: Awaited<ReturnType<typeof openEvidenceStore>>;
  try {
    evidence = await openEvidenceStore({ dataDir: request.dataDir });
  } catch (err) {
    io.stderr.write(`pharos incidents: ${lockMessage(err, request.dataDir) ?? (err as Error).message}\n`);
    return 1;
  }
  let db: Awaited<ReturnType<typeof SignalsDatabase.open>> | undefined;
  try {
    db = await SignalsDatabase.open(request.dataDir);
    const store = await IncidentStore.open(db, evidence);
    const have = await store.ids();
    const fresh = imported.incidents.filter((i) => !have.has(i.id));
    const by = `import:${fileName}`;
    const logged = await store.apply(
      fresh.map((snapshot) => ({
        incident: snapshot.id,
        change: 'opened' as const,
        by,
        at: snapshot.opened_at,
        snapshot,
      })),
    );
    const span =
      logged.length > 0 ? `, log entries ${logged[0]!.log_index}..${logged.at(-1)!.log_index}` : '';
    io.stdout.write(
      `imported ${logged.length} incidents from ${fileName} (${imported.schema} layout; ${imported.incidents.length - fresh.length} were already there${span})\n`,
    );
    return 0;
  } catch (err) {
    const lock = lockMessage(err, request.dataDir);
    if (!lock) throw err;
    io.stderr.write(`pharos incidents: ${lock}\n`);
    return 1;
  } finally {
    await db?.close();
    await evidence.close();
  }
}
