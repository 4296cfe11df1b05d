/**
 * `pharos verify`: offline checks of evidence with nothing but the log's vkey (no network, no
 * server): a measurement or a record (an incident's state change) against its `.tlog-proof`, or two checkpoints against the consistency
 * proof between them. Prints "verified: …" and exits 0, or says what does not hold and exits 1.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  verifyConsistencyEvidence,
  verifyMeasurementEvidence,
  verifyRecordEvidence,
} from '../evidence/verify-evidence.js';
import { once, parseCommandLine } from './command-line.js';
import type { CliIO } from './io.js';
import { UsageError } from './usage-error.js';
import { VERIFY_USAGE } from './verify-usage.js';

const OPTIONS = {
  measurement: { type: 'string', multiple: true },
  record: { type: 'string', multiple: true },
  proof: { type: 'string', multiple: true },
  vkey: { type: 'string', multiple: true },
  checkpoint: { type: 'string', multiple: true },
  'consistency-proof': { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

type Request =
  | { kind: 'help' }
  | { kind: 'measurement'; measurement: string; proof: string; vkey: string }
  | { kind: 'record'; record: string; proof: string; vkey: string }
  | { kind: 'consistency'; older: string; newer: string; proof: string; vkey: string };

function parseVerifyArgs(argv: string[]): Request {
  const { values, positionals } = parseCommandLine(argv, OPTIONS);
  if (values.help) return { kind: 'help' };
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const measurement = once(values, 'measurement');
  const record = once(values, 'record');
  const proof = once(values, 'proof');
  const vkey = once(values, 'vkey');
  const consistency = once(values, 'consistency-proof');
  const checkpoints = values.checkpoint ?? [];
  if (record !== undefined) {
    if (measurement !== undefined || checkpoints.length > 0 || consistency !== undefined) {
      throw new UsageError('verify one thing at a time: a record, a measurement or a consistency proof');
    }
    if (proof === undefined || vkey === undefined) {
      throw new UsageError(
        'verifying a record needs --record FILE.json, --proof FILE.tlog-proof and --vkey VKEY_FILE',
      );
    }
    return { kind: 'record', record, proof, vkey };
  }
  if (measurement !== undefined || proof !== undefined) {
    if (checkpoints.length > 0 || consistency !== undefined) {
      throw new UsageError(
        'verify either a measurement (--measurement, --proof) or a consistency proof (--checkpoint, --consistency-proof), not both',
      );
    }
    if (measurement === undefined || proof === undefined || vkey === undefined) {
      throw new UsageError(
        'verifying a measurement needs --measurement FILE.json, --proof FILE.tlog-proof and --vkey VKEY_FILE',
      );
    }
    return { kind: 'measurement', measurement, proof, vkey };
  }
  if (checkpoints.length > 0 || consistency !== undefined) {
    if (checkpoints.length !== 2 || consistency === undefined || vkey === undefined) {
      throw new UsageError(
        'verifying consistency needs --checkpoint OLD --checkpoint NEW (two, older first), --consistency-proof FILE and --vkey VKEY_FILE',
      );
    }
    return { kind: 'consistency', older: checkpoints[0]!, newer: checkpoints[1]!, proof: consistency, vkey };
  }
  throw new UsageError(
    'nothing to verify: give --measurement, --proof and --vkey, or --checkpoint twice, --consistency-proof and --vkey',
  );
}

async function readInput(cwd: string, option: string, file: string): Promise<string> {
  try {
    return await readFile(path.resolve(cwd, file), 'utf8');
  } catch (err) {
    throw new UsageError(
      `cannot read ${option} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

export async function verifyCommand(argv: string[], io: CliIO): Promise<number> {
  let request: Request;
  const inputs: Record<string, string> = {};
  try {
    request = parseVerifyArgs(argv);
    if (request.kind === 'help') {
      io.stdout.write(VERIFY_USAGE);
      return 0;
    }
    if (request.kind === 'measurement') {
      inputs.measurement = await readInput(io.cwd, '--measurement', request.measurement);
      inputs.proof = await readInput(io.cwd, '--proof', request.proof);
    } else if (request.kind === 'record') {
      inputs.record = await readInput(io.cwd, '--record', request.record);
      inputs.proof = await readInput(io.cwd, '--proof', request.proof);
    } else {
      inputs.older = await readInput(io.cwd, '--checkpoint', request.older);
      inputs.newer = await readInput(io.cwd, '--checkpoint', request.newer);
      inputs.proof = await readInput(io.cwd, '--consistency-proof', request.proof);
    }
    inputs.vkey = await readInput(io.cwd, '--vkey', request.vkey);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`pharos verify: ${err.message}\nRun "pharos verify --help" for usage.\n`);
    return 2;
  }
  const verdict =
    request.kind === 'measurement'
      ? verifyMeasurementEvidence({
          measurementFile: inputs.measurement!,
          proof: inputs.proof!,
          vkey: inputs.vkey!,
        })
      : request.kind === 'record'
        ? verifyRecordEvidence({ recordFile: inputs.record!, proof: inputs.proof!, vkey: inputs.vkey! })
        : verifyConsistencyEvidence({
            older: inputs.older!,
            newer: inputs.newer!,
            proof: inputs.proof!,
            vkey: inputs.vkey!,
          });
  if (!verdict.ok) {
    io.stderr.write(`pharos verify: NOT verified: ${verdict.reason}\n`);
    return 1;
  }
  io.stdout.write(`verified: ${verdict.summary}\n`);
  for (const note of verdict.notes) io.stdout.write(`note: ${note}\n`);
  return 0;
}
