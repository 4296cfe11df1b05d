/**
 * The upload side of `pharos-probe run --collector`: each finished measurement is signed and
 * queued durably in the outbox, a background upload sends it on, and at the end one last drain
 * with a bounded wait. Kept apart from run.ts so a run without --collector never touches it.
 */
import type { ProbeKey } from '../identity/probe-key.js';
import { signMeasurement } from '../identity/sign.js';
import type { Outbox } from '../outbox/outbox.js';
import { BackgroundUpload } from '../upload/background-upload.js';
import type { DrainResult, Uploader } from '../upload/uploader.js';
import type { CliIO } from './io.js';
import type { UploadArgs } from './upload-args.js';
import { formatUploadSummary, leftQueuedMessage, runUploadNotes } from './upload-report.js';
import {
  countQueued,
  createUploader,
  openKey,
  openOutbox,
  stateDirOf,
  type UploadTuning,
} from './upload-session.js';

export class RunUpload {
  /** Where upload notes go; run.ts points it at the progress display while that is shown. */
  note: (message: string) => void;
  private readonly stop = new AbortController();
  private readonly background: BackgroundUpload;

  private constructor(
    private readonly io: CliIO,
    private readonly args: UploadArgs,
    private readonly key: ProbeKey,
    private readonly outbox: Outbox,
    private readonly uploader: Uploader,
    tuning: UploadTuning | undefined,
  ) {
    this.note = (message) => io.stderr.write(message);
    this.background = new BackgroundUpload(uploader, {
      abort: this.stop.signal,
      ...(tuning?.lingerMs !== undefined ? { lingerMs: tuning.lingerMs } : {}),
    });
  }

  /** Opens the key (created on first use) and the outbox before anything is measured. Throws StateError. */
  static async start(options: {
    io: CliIO;
    args: UploadArgs;
    extraCA: string[];
    tuning: UploadTuning | undefined;
  }): Promise<RunUpload> {
    const { io, args } = options;
    const stateDir = stateDirOf(io, args.stateDir);
    const { key, created } = await openKey(stateDir);
    if (created)
      io.stderr.write(
        `pharos-probe: created this probe's signing key in ${stateDir} (fingerprint ${key.fingerprint})\n`,
      );
    const outbox = await openOutbox(stateDir);
    let self: RunUpload | undefined;
    const notes = runUploadNotes((message) => self?.note(message), `${outbox.layout.failed}/`);
    const uploader = createUploader(outbox, {
      collectors: args.collectors,
      extraCA: options.extraCA,
      tuning: options.tuning,
      now: io.now,
      onEvent: notes,
    });
    self = new RunUpload(io, args, key, outbox, uploader, options.tuning);
    return self;
  }

  /** Signs the measurement and queues it durably; resolves once it is safe on disk. */
  async queue(measurement: unknown): Promise<void> {
    await this.outbox.add(signMeasurement(measurement, this.key));
    this.background.notify();
  }

  /**
   * Ends the upload: one last drain within --upload-timeout (Ctrl-C cuts it short), or none when
   * the run was aborted. Returns the summary for stdout and, when measurements are left, why.
   */
  async finish(options: {
    aborted: boolean;
    quiet: boolean;
  }): Promise<{ summary: string; left: string | null }> {
    const unsubscribe = this.io.onInterrupt(() => this.stop.abort());
    try {
      if (options.aborted) this.stop.abort();
      const queued = await countQueued(this.outbox);
      if (!options.aborted && queued > 0 && !options.quiet) {
        this.note(
          `pharos-probe: uploading ${queued} queued measurement${queued === 1 ? '' : 's'} (trying for up to ${this.args.uploadTimeoutSeconds}s; Ctrl-C to leave them queued)\n`,
        );
      }
      let result: DrainResult;
      try {
        result = await this.background.finish(this.args.uploadTimeoutSeconds * 1000);
      } catch (err) {
        // The disk, not the network: what was not recorded as sent is still queued.
        result = { outcome: 'gave-up', problem: `the upload stopped on an error: ${(err as Error).message}` };
      }
      const left = await countQueued(this.outbox);
      const failedDir = `${this.outbox.layout.failed}/`;
      return {
        summary: formatUploadSummary(this.uploader.totals, left, failedDir),
        left: leftQueuedMessage(
          result,
          left,
          this.outbox.layout.outbox,
          'run "pharos-probe upload --collector URL" when the network is back.',
        ),
      };
    } finally {
      unsubscribe();
      this.uploader.close();
      await this.outbox.close();
    }
  }
}
