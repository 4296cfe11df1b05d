/**
 * `pharos-probe upload`: send what is queued now, with progress on stderr and a summary on stdout.
 * Exits 3, saying so, when measurements are left queued because no collector could take them.
 */
import { parseArgs } from 'node:util';
import { describeParseError, UsageError } from './command-line.js';
import { EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import type { CliIO } from './io.js';
import { readCAFiles } from './run-files.js';
import { parseUploadValues, requireCollector, UPLOAD_OPTIONS, type UploadArgs } from './upload-args.js';
import { runUpload } from './upload-run.js';
import { reportingStateErrors, stateDirOf, type UploadTuning, withOutbox } from './upload-session.js';
import { UPLOAD_USAGE } from './usage.js';

const OPTIONS = {
  ...UPLOAD_OPTIONS,
  'retry-failed': { type: 'boolean' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function uploadCommand(argv: string[], io: CliIO, tuning?: UploadTuning): Promise<number> {
  let args: UploadArgs & { retryFailed: boolean; quiet: boolean };
  let extraCA: string[];
  try {
    const { values, positionals } = parse(argv);
    if (values.help) {
      io.stdout.write(UPLOAD_USAGE);
      return EXIT_OK;
    }
    if (positionals.length > 0) {
      const hint = positionals[0]!.endsWith('.jsonl')
        ? ` (to submit a file, write pharos-probe submit ${positionals[0]})`
        : '';
      throw new UsageError(`unexpected argument "${positionals[0]}"${hint}`);
    }
    args = {
      ...parseUploadValues(values),
      retryFailed: values['retry-failed'] === true,
      quiet: values.quiet === true,
    };
    requireCollector(args);
    extraCA = await readCAFiles(io.cwd, args.caFiles);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`pharos-probe: ${err.message}\nRun "pharos-probe upload --help" for usage.\n`);
    return EXIT_USAGE;
  }

  const stateDir = stateDirOf(io, args.stateDir);
  return reportingStateErrors(io, () =>
    withOutbox(stateDir, async (outbox) => {
      if (args.retryFailed) {
        const moved = await outbox.retryFailed();
        io.stderr.write(`pharos-probe: ${moved} refused measurements put back in the outbox\n`);
      }
      return runUpload({
        io,
        outbox,
        args,
        extraCA,
        tuning,
        again: 'run "pharos-probe upload" again when the network is back.',
      });
    }),
  );
}

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(describeParseError(err));
  }
}
