/** `pharos-probe status`: what is queued, uploaded and refused, and which key this probe signs with. */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type OutboxStatus, readOutboxStatus } from '../outbox/status.js';
import { describeParseError, UsageError } from './command-line.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import type { CliIO } from './io.js';
import { formatTable } from './table.js';
import { stateDirOf } from './upload-session.js';
import { STATUS_USAGE } from './usage.js';

const OPTIONS = {
  'state-dir': { type: 'string', multiple: true },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function statusCommand(argv: string[], io: CliIO): Promise<number> {
  let values: { 'state-dir'?: string[]; json?: boolean; help?: boolean };
  try {
    const parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument "${parsed.positionals[0]}"`);
    values = parsed.values;
    if ((values['state-dir']?.length ?? 0) > 1) throw new UsageError('--state-dir may be given only once');
  } catch (err) {
    const message = err instanceof UsageError ? err.message : describeParseError(err);
    io.stderr.write(`pharos-probe: ${message}\nRun "pharos-probe status --help" for usage.\n`);
    return EXIT_USAGE;
  }
  if (values.help) {
    io.stdout.write(STATUS_USAGE);
    return EXIT_OK;
  }
  const stateDir = stateDirOf(io, values['state-dir']?.[0]);
  let status: OutboxStatus;
  try {
    status = await readOutboxStatus(stateDir);
  } catch (err) {
    io.stderr.write(`pharos-probe: cannot read the state directory ${stateDir}: ${(err as Error).message}\n`);
    return EXIT_FAILURE;
  }
  io.stdout.write(values.json ? `${JSON.stringify(statusJSON(status), null, 2)}\n` : formatStatus(status));
  return EXIT_OK;
}

function statusJSON(s: OutboxStatus) {
  return {
    state_dir: s.stateDir,
    probe_key: s.key ? { fingerprint: s.key.fingerprint, public_key: s.key.publicKeyBase64 } : null,
    key_problem: s.keyProblem,
    queued: s.queued,
    oldest_queued: s.oldestQueued,
    uploaded: s.uploaded,
    last_upload: s.lastUpload,
    failed: s.failed,
    failed_reasons: s.failedReasons,
  };
}

function formatStatus(s: OutboxStatus): string {
  if (!s.exists) {
    return (
      `State directory: ${s.stateDir} (not created yet)\n` +
      'Nothing queued or uploaded. It is created, with the probe key, by "run --collector", "upload" or "submit".\n'
    );
  }
  let keyLine = s.key ? `${s.key.fingerprint} (sha256 of public key ${s.key.publicKeyBase64})` : 'none yet';
  if (s.keyProblem) keyLine = `unusable: ${s.keyProblem.split('\n')[0]}`;
  const rows: string[][] = [
    ['state directory', s.stateDir],
    ['probe key', keyLine],
    [
      'queued',
      s.queued > 0 && s.oldestQueued ? `${s.queued} (oldest measured ${s.oldestQueued} UTC)` : `${s.queued}`,
    ],
    ['uploaded', s.lastUpload ? `${s.uploaded} (last at ${s.lastUpload})` : `${s.uploaded}`],
    ['failed', s.failed > 0 ? `${s.failed} (see ${path.join(s.stateDir, 'failed')}/)` : '0'],
  ];
  const width = Math.max(...rows.map(([label]) => label!.length)) + 1;
  let text = rows.map(([label, value]) => `${`${label}:`.padEnd(width)}  ${value}\n`).join('');
  if (s.keyProblem) text += `\n${s.keyProblem}\n`;
  if (s.failedReasons.length > 0) {
    text += `\nRefused by a collector, not retried (pharos-probe upload --retry-failed sends them again):\n`;
    text += formatTable(
      ['count', 'reason'],
      s.failedReasons.slice(0, 5).map((r) => [String(r.count), r.reason]),
      ['right', 'left'],
    );
  }
  return text;
}
