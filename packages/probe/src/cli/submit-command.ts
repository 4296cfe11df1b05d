/**
 * `pharos-probe submit FILE.jsonl…`: measurements made elsewhere (an earlier run's file, OONI
 * Probe's output) checked line by line, signed with this probe's key, queued in the outbox and
 * uploaded. Bad lines are named and skipped; the good ones still go.
 */
import { constants, createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { ProbeKey } from '../identity/probe-key.js';
import { type SignedMeasurement, signMeasurement } from '../identity/sign.js';
import type { AddResult, Outbox } from '../outbox/outbox.js';
import { describeParseError, UsageError } from './command-line.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import type { CliIO } from './io.js';
import { readCAFiles } from './run-files.js';
import { checkSubmitLine } from './submit-lines.js';
import { parseUploadValues, requireCollector, UPLOAD_OPTIONS, type UploadArgs } from './upload-args.js';
import { runUpload } from './upload-run.js';
import {
  openKey,
  reportingStateErrors,
  stateDirOf,
  type UploadTuning,
  withOutbox,
} from './upload-session.js';
import { SUBMIT_USAGE } from './usage.js';

const OPTIONS = {
  ...UPLOAD_OPTIONS,
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Lines are signed and queued this many at a time: one directory fsync per chunk. */
const CHUNK = 200;

export async function submitCommand(argv: string[], io: CliIO, tuning?: UploadTuning): Promise<number> {
  let args: UploadArgs & { quiet: boolean };
  let files: string[];
  let extraCA: string[];
  try {
    const { values, positionals } = parse(argv);
    if (values.help) {
      io.stdout.write(SUBMIT_USAGE);
      return EXIT_OK;
    }
    args = { ...parseUploadValues(values), quiet: values.quiet === true };
    files = positionals;
    if (files.length === 0) throw new UsageError('nothing to submit: give a JSONL file of measurements');
    requireCollector(args);
    for (const file of files) {
      await access(path.resolve(io.cwd, file), constants.R_OK).catch((err: Error) => {
        throw new UsageError(`cannot read ${file}: ${err.message}`);
      });
    }
    extraCA = await readCAFiles(io.cwd, args.caFiles);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`pharos-probe: ${err.message}\nRun "pharos-probe submit --help" for usage.\n`);
    return EXIT_USAGE;
  }

  const stateDir = stateDirOf(io, args.stateDir);
  return reportingStateErrors(io, async () => {
    const { key } = await openKey(stateDir);
    return withOutbox(stateDir, async (outbox) => {
      let badLines = 0;
      for (const file of files) {
        const queued = await queueFile(io, outbox, key, file);
        if (queued === null) return EXIT_FAILURE;
        badLines += queued.bad;
        io.stderr.write(`pharos-probe: ${file}: ${describeQueued(queued)}\n`);
      }
      return runUpload({
        io,
        outbox,
        args,
        extraCA,
        tuning,
        again: 'run "pharos-probe upload" when the network is back.',
        earlierProblems: badLines > 0,
      });
    });
  });
}

interface Queued extends Record<AddResult, number> {
  bad: number;
}

function describeQueued(q: Queued): string {
  const parts = [`${q.queued} measurements queued`];
  if (q['already-queued'] > 0) parts.push(`${q['already-queued']} were already queued`);
  if (q['already-sent'] > 0) parts.push(`${q['already-sent']} were uploaded before (skipped)`);
  if (q.bad > 0) parts.push(`${q.bad} bad lines skipped`);
  return parts.join(', ');
}

/** Signs and queues the file's good lines, naming each bad one. Null when the file cannot be read. */
async function queueFile(io: CliIO, outbox: Outbox, key: ProbeKey, file: string): Promise<Queued | null> {
  const counts: Queued = { queued: 0, 'already-queued': 0, 'already-sent': 0, bad: 0 };
  let chunk: SignedMeasurement[] = [];
  const flush = async () => {
    const added = await outbox.addMany(chunk);
    for (const result of ['queued', 'already-queued', 'already-sent'] as const)
      counts[result] += added[result];
    chunk = [];
  };
  const bad = (lineNumber: number, reason: string) => {
    counts.bad++;
    io.stderr.write(`pharos-probe: ${file}:${lineNumber}: ${reason}; skipped\n`);
  };
  try {
    const lines = createInterface({
      input: createReadStream(path.resolve(io.cwd, file)),
      crlfDelay: Infinity,
    });
    let lineNumber = 0;
    for await (const line of lines) {
      lineNumber++;
      if (line.trim() === '') continue;
      const checked = checkSubmitLine(line);
      if (!checked.ok) {
        bad(lineNumber, checked.reason);
        continue;
      }
      try {
        chunk.push(signMeasurement(checked.measurement, key));
      } catch (err) {
        bad(lineNumber, `cannot be signed: ${(err as Error).message}`);
        continue;
      }
      if (chunk.length >= CHUNK) await flush();
    }
    await flush();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
      io.stderr.write(`pharos-probe: cannot read ${file}: ${(err as Error).message}\n`);
      // What was queued before the error is durable and will be uploaded by the next upload.
      return null;
    }
    throw err;
  }
  return counts;
}

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(describeParseError(err));
  }
}
