/**
 * The upload that runs beside `pharos-probe run --collector`: measurements go out as they finish
 * (a short linger groups those finishing together into one batch), and when the run ends, one last
 * drain with a bounded patience. Whatever is not delivered by then stays in the outbox.
 */
import { sleep } from './backoff.js';
import type { DrainControl, DrainResult, Uploader } from './uploader.js';

/** Long enough to group measurements that finish together, short enough to feel immediate. */
export const DEFAULT_LINGER_MS = 1000;

export class BackgroundUpload {
  private dirty = false;
  private finishing = false;
  private wakeIdle: () => void = () => {};
  /** Aborted once, when the run ends: stops the linger. */
  private readonly finished = new AbortController();
  /** Cuts the drain's current backoff wait short; replaced after use so later waits still wait. */
  private wake = new AbortController();
  private readonly control: DrainControl;
  private readonly loop: Promise<DrainResult>;

  constructor(
    private readonly uploader: Uploader,
    options: { lingerMs?: number; abort?: AbortSignal } = {},
  ) {
    this.control = { patienceMs: null, since: Date.now(), wake: this.wake.signal };
    if (options.abort) this.control.abort = options.abort;
    this.loop = this.run(options.lingerMs ?? DEFAULT_LINGER_MS);
    // A failure is reported by finish(); until then it must not be an unhandled rejection.
    this.loop.catch(() => {});
  }

  /** A measurement was queued. */
  notify(): void {
    this.dirty = true;
    this.wakeIdle();
  }

  /**
   * Stops waiting for new measurements and drains what is queued, giving up after `patienceMs`
   * without progress. Resolves with how the last drain ended.
   */
  finish(patienceMs: number): Promise<DrainResult> {
    this.finishing = true;
    this.control.patienceMs = patienceMs;
    this.control.since = Date.now();
    // Cuts a backoff wait short: the run is over, so try now, then within the patience.
    const wake = this.wake;
    this.wake = new AbortController();
    this.control.wake = this.wake.signal;
    wake.abort();
    this.finished.abort();
    this.wakeIdle();
    return this.loop;
  }

  private async run(lingerMs: number): Promise<DrainResult> {
    for (;;) {
      if (!this.finishing && !this.dirty) {
        await new Promise<void>((resolve) => {
          this.wakeIdle = resolve;
        });
      }
      if (!this.finishing) await sleep(lingerMs, this.finished.signal, this.control.abort);
      this.dirty = false;
      const result = await this.uploader.drain(this.control);
      if (this.finishing || result.outcome === 'aborted') return result;
      // Another process is uploading from this state directory; it will take ours too. Look
      // again a little later in case it stops.
      if (result.outcome === 'locked') await sleep(30_000, this.finished.signal, this.control.abort);
    }
  }
}
