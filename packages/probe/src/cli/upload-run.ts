/**
 * The upload step `upload` and `submit` share: drain the outbox with progress lines, Ctrl-C to
 * stop (what is unsent stays queued), a summary, and an exit code that says what is left.
 */
import type { Outbox } from '../outbox/outbox.js';
import type { DrainResult } from '../upload/uploader.js';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_QUEUED } from './exit-codes.js';
import type { CliIO } from './io.js';
import type { UploadArgs } from './upload-args.js';
import { describeUploadEvent, formatUploadSummary, leftQueuedMessage } from './upload-report.js';
import { countQueued, createUploader, type UploadTuning } from './upload-session.js';

export async function runUpload(run: {
  io: CliIO;
  outbox: Outbox;
  args: UploadArgs & { quiet: boolean };
  extraCA: string[];
  tuning: UploadTuning | undefined;
  /** What to do later, when measurements are left queued. */
  again: string;
  /** Problems found before the upload (bad lines): the exit code is at least EXIT_FAILURE. */
  earlierProblems?: boolean;
}): Promise<number> {
  const { io, outbox, args } = run;
  const failedDir = `${outbox.layout.failed}/`;
  const say = (message: string) => {
    if (!args.quiet) io.stderr.write(`pharos-probe: ${message}\n`);
  };
  const uploader = createUploader(outbox, {
    collectors: args.collectors,
    extraCA: run.extraCA,
    tuning: run.tuning,
    now: io.now,
    onEvent: (event) => say(describeUploadEvent(event, failedDir)),
  });
  const queuedBefore = await countQueued(outbox);
  say(
    queuedBefore === 0
      ? `nothing queued in ${outbox.layout.outbox}`
      : `uploading ${queuedBefore} queued measurement${queuedBefore === 1 ? '' : 's'} from ${outbox.layout.outbox} ` +
          `to ${args.collectors.map((c) => c.base).join(', ')}`,
  );
  const stop = new AbortController();
  const unsubscribe = io.onInterrupt(() => {
    if (!stop.signal.aborted) say('interrupted: stopping the upload; what is not sent stays queued');
    stop.abort();
  });
  let result: DrainResult;
  try {
    result = await uploader.drain({
      patienceMs: args.uploadTimeoutSeconds * 1000,
      since: Date.now(),
      abort: stop.signal,
    });
  } catch (err) {
    // The disk, not the network: what was not recorded as sent is still queued.
    io.stderr.write(`pharos-probe: the upload stopped on an error: ${(err as Error).message}\n`);
    return EXIT_FAILURE;
  } finally {
    unsubscribe();
    uploader.close();
  }
  const queued = await countQueued(outbox);
  io.stdout.write(formatUploadSummary(uploader.totals, queued, failedDir));
  const left = leftQueuedMessage(result, queued, outbox.layout.outbox, run.again);
  if (left) io.stderr.write(`pharos-probe: ${left}`);
  if (result.outcome === 'aborted') return EXIT_INTERRUPTED;
  if (queued > 0) return EXIT_QUEUED;
  if (uploader.totals.refused > 0 || run.earlierProblems) return EXIT_FAILURE;
  return EXIT_OK;
}
