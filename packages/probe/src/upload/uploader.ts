/**
 * Moves measurements from the outbox to the collectors: batches, tried on each collector in the
 * order given, retried with backoff and full jitter while none takes them. An item leaves the
 * outbox only through Outbox.markSent (acknowledged with a log index) or Outbox.markFailed
 * (refused for good); everything else, including every network failure, leaves it queued.
 */
import type { Outbox, QueuedFile } from '../outbox/outbox.js';
import { acquireUploadLock } from '../outbox/upload-lock.js';
import { SOFTWARE_VERSION } from '../webconnectivity/software.js';
import { type BackoffPolicy, DEFAULT_BACKOFF, fullJitterDelay, sleep } from './backoff.js';
import { DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_BATCH_ITEMS, encodeBatch } from './batch.js';
import type { Collector } from './collector-url.js';
import { Agents, NetworkError, post } from './http-post.js';
import { type Acknowledgement, type BatchOutcome, classifyResponse } from './response.js';

export interface UploaderOptions {
  collectors: Collector[];
  /** PEM texts of extra CAs to trust for https collectors. */
  extraCA?: string[];
  maxBatchItems?: number;
  maxBatchBytes?: number;
  /** How long a connection may stay silent before the request is given up (default 30 s). */
  idleTimeoutMs?: number;
  backoff?: BackoffPolicy;
  random?: () => number;
  now?: () => Date;
  onEvent?: (event: UploadEvent) => void;
}

export type UploadEvent =
  | {
      type: 'batch-sent';
      collector: string;
      acknowledged: number;
      duplicates: number;
      bytesSent: number;
      rawBytes: number;
      bytesReceived: number;
    }
  | { type: 'collector-failed'; collector: string; reason: string }
  | { type: 'refused'; id: string; collector: string | null; status: number | null; reason: string }
  | { type: 'waiting'; ms: number; attempt: number };

export interface UploadTotals {
  /** Measurements acknowledged, including those the collector already had. */
  acknowledged: number;
  duplicates: number;
  /** Moved to failed/ (refused by a collector, or damaged on disk). */
  refused: number;
  batches: number;
  /** Request body bytes (compressed), what the upload cost in payload. */
  bytesSent: number;
  rawBytes: number;
  bytesReceived: number;
  /** The last reason no collector took a batch; null after a success. */
  lastProblem: string | null;
}

/** How a drain may be steered while it runs (the background upload of `run` changes it). */
export interface DrainControl {
  /**
   * Give up after this long without any batch delivered (or refused); null: never, keep trying
   * until aborted. Counted from the last progress or from `since`, whichever is later.
   */
  patienceMs: number | null;
  since: number;
  /** Stops the drain; in-flight requests are cut and their items stay queued. */
  abort?: AbortSignal;
  /** Cuts a backoff wait short (so a changed patience applies at once). */
  wake?: AbortSignal;
}

export type DrainResult =
  | { outcome: 'empty' }
  | { outcome: 'gave-up'; problem: string }
  | { outcome: 'aborted' }
  | { outcome: 'locked'; holder: number };

type SendResult = 'progress' | 'unavailable';

/** What one request cost in bytes. */
interface Cost {
  bytesSent: number;
  rawBytes: number;
  bytesReceived: number;
}

export class Uploader {
  readonly totals: UploadTotals = {
    acknowledged: 0,
    duplicates: 0,
    refused: 0,
    batches: 0,
    bytesSent: 0,
    rawBytes: 0,
    bytesReceived: 0,
    lastProblem: null,
  };
  private readonly agents: Agents;
  private readonly maxItems: number;
  private readonly maxBytes: number;
  private readonly now: () => Date;
  private readonly random: () => number;
  /** Shrinks after a refusal that names no item, to isolate the bad one; grows back on success. */
  private batchLimit: number;
  /**
   * Per collector: no request before this time (its Retry-After, or its own backoff after a
   * failure), so a dead first collector is skipped instead of costing every batch a timeout.
   */
  private readonly notBefore: number[];
  /** Per collector: failures in a row, for its backoff. */
  private readonly failures: number[];
  /** Files listed but not yet sent, oldest first; re-listed when used up. */
  private pending: QueuedFile[] = [];

  constructor(
    private readonly outbox: Outbox,
    private readonly options: UploaderOptions,
  ) {
    if (options.collectors.length === 0) throw new Error('no collector to upload to');
    this.agents = new Agents(options.extraCA);
    this.maxItems = options.maxBatchItems ?? DEFAULT_MAX_BATCH_ITEMS;
    this.maxBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    this.batchLimit = this.maxItems;
    this.now = options.now ?? (() => new Date());
    this.random = options.random ?? Math.random;
    this.notBefore = options.collectors.map(() => 0);
    this.failures = options.collectors.map(() => 0);
  }

  /** Uploads until the outbox is empty, patience runs out, or the drain is aborted. */
  async drain(control: DrainControl): Promise<DrainResult> {
    const lock = await acquireUploadLock(this.outbox.layout.lock);
    if (!lock.ok) return { outcome: 'locked', holder: lock.holder };
    try {
      await this.outbox.reconcile();
      this.pending = [];
      return await this.drainLocked(control);
    } finally {
      await lock.release();
    }
  }

  private async drainLocked(control: DrainControl): Promise<DrainResult> {
    let lastProgress = Date.now();
    const deadline = () =>
      control.patienceMs === null ? null : Math.max(lastProgress, control.since) + control.patienceMs;
    for (;;) {
      if (control.abort?.aborted) return { outcome: 'aborted' };
      const batch = await this.nextBatch();
      if (batch.length === 0) return { outcome: 'empty' };
      const result = await this.sendBatch(batch, control, deadline());
      if (result === 'progress') {
        lastProgress = Date.now();
        continue;
      }
      this.pending.unshift(...batch.map((b) => b.file));
      if (control.abort?.aborted) return { outcome: 'aborted' };
      // Every collector failed or asked to wait: sleep until the first may be tried again.
      const now = Date.now();
      const delay = Math.max(0, Math.min(...this.notBefore) - now);
      const limit = deadline();
      if (limit !== null && now + delay >= limit) {
        return { outcome: 'gave-up', problem: this.totals.lastProblem ?? 'no collector answered' };
      }
      this.options.onEvent?.({ type: 'waiting', ms: delay, attempt: Math.min(...this.failures) });
      await sleep(delay, control.abort, control.wake);
    }
  }

  /** Up to batchLimit items and maxBytes (one item always, however large), read and checked. */
  private async nextBatch(): Promise<{ file: QueuedFile; text: string }[]> {
    const batch: { file: QueuedFile; text: string }[] = [];
    let bytes = 0;
    while (batch.length < this.batchLimit) {
      if (this.pending.length === 0) {
        if (batch.length > 0) break;
        this.pending = (await this.outbox.list()).filter((f) => !this.outbox.isSent(f.id));
        if (this.pending.length === 0) break;
      }
      const file = this.pending[0]!;
      const read = await this.outbox.read(file);
      if (read === null) {
        this.pending.shift();
        continue;
      }
      if (!read.ok) {
        this.pending.shift();
        await this.refuse(file.id, null, null, read.reason, read.text);
        continue;
      }
      const size = Buffer.byteLength(read.text);
      if (batch.length > 0 && bytes + size > this.maxBytes) break;
      this.pending.shift();
      batch.push({ file, text: read.text });
      bytes += size;
    }
    return batch;
  }

  /** Tries the collectors in order (those not asking to wait first); the first to answer decides. */
  private async sendBatch(
    batch: { file: QueuedFile; text: string }[],
    control: DrainControl,
    deadline: number | null,
  ): Promise<SendResult> {
    const ids = batch.map((b) => b.file.id);
    const encoded = encodeBatch(batch.map((b) => b.text));
    const collectors = this.options.collectors;
    for (let i = 0; i < collectors.length; i++) {
      const collector = collectors[i]!;
      if (this.notBefore[i]! > Date.now()) continue;
      const signals = [
        control.abort,
        deadline === null ? undefined : AbortSignal.timeout(Math.max(1, deadline - Date.now())),
      ];
      const live = signals.filter((s): s is AbortSignal => s !== undefined);
      let outcome: BatchOutcome;
      let cost: Cost;
      try {
        const result = await post(collector.endpoint, encoded.body, {
          agents: this.agents,
          headers: {
            'content-type': 'application/json',
            'content-encoding': 'gzip',
            accept: 'application/json',
            'accept-encoding': 'gzip',
            'user-agent': `pharos-probe/${SOFTWARE_VERSION}`,
          },
          idleTimeoutMs: this.options.idleTimeoutMs ?? 30_000,
          ...(live.length > 0 ? { signal: AbortSignal.any(live) } : {}),
        });
        cost = {
          bytesSent: result.bytesSent,
          rawBytes: encoded.rawBytes,
          bytesReceived: result.bytesReceived,
        };
        this.count(cost);
        outcome = classifyResponse(result, ids, this.now());
      } catch (err) {
        if (!(err instanceof NetworkError)) throw err;
        // Cut off mid-request: the collector may have stored the batch, or not. The items stay
        // queued; sent again, they carry the same ids and the collector answers "duplicate".
        this.count({
          bytesSent: err.bytesSent,
          rawBytes: err.bytesSent > 0 ? encoded.rawBytes : 0,
          bytesReceived: 0,
        });
        if (control.abort?.aborted) return 'unavailable';
        if (deadline !== null && Date.now() >= deadline) {
          // Our own time limit cut it: the reason to report is whatever kept us waiting before.
          this.totals.lastProblem ??= `${collector.base}: no answer before the upload timeout`;
          return 'unavailable';
        }
        this.collectorFailed(i, err.message, null);
        continue;
      }
      // It answered about the batch: whatever the answer, this collector works.
      if (outcome.kind !== 'unavailable') this.failures[i] = 0;
      switch (outcome.kind) {
        case 'accepted':
          await this.acknowledge(collector, batch, outcome.acknowledged, cost);
          return 'progress';
        case 'item-refused':
          await this.refuse(ids[outcome.index]!, collector.base, outcome.status, outcome.reason);
          // The others were refused only because they shared a batch with it.
          this.pending.unshift(...batch.filter((_, k) => k !== outcome.index).map((b) => b.file));
          return 'progress';
        case 'batch-refused':
          if (batch.length === 1) {
            await this.refuse(ids[0]!, collector.base, outcome.status, outcome.reason);
          } else {
            this.batchLimit = Math.ceil(batch.length / 2);
            this.pending.unshift(...batch.map((b) => b.file));
          }
          return 'progress';
        case 'unavailable':
          this.collectorFailed(i, outcome.reason, outcome.retryAfterMs);
          continue;
      }
    }
    return 'unavailable';
  }

  private async acknowledge(
    collector: Collector,
    batch: { file: QueuedFile; text: string }[],
    acknowledged: Acknowledgement[],
    cost: Cost,
  ): Promise<void> {
    const uploadedAt = this.now().toISOString();
    await this.outbox.markSent(
      acknowledged.map((a) => ({
        id: a.id,
        log_index: a.log_index,
        duplicate: a.duplicate,
        collector: collector.base,
        uploaded_at: uploadedAt,
      })),
    );
    const done = new Set(acknowledged.map((a) => a.id));
    // Not acknowledged although the batch was answered: keep them for the next batch.
    this.pending.unshift(...batch.filter((b) => !done.has(b.file.id)).map((b) => b.file));
    const duplicates = acknowledged.filter((a) => a.duplicate).length;
    this.totals.acknowledged += acknowledged.length;
    this.totals.duplicates += duplicates;
    this.totals.batches++;
    this.totals.lastProblem = null;
    this.batchLimit = Math.min(this.maxItems, this.batchLimit * 2);
    this.options.onEvent?.({
      type: 'batch-sent',
      collector: collector.base,
      acknowledged: acknowledged.length,
      duplicates,
      ...cost,
    });
  }

  private async refuse(
    id: string,
    collector: string | null,
    status: number | null,
    reason: string,
    damagedText?: string | null,
  ): Promise<void> {
    let item = null;
    if (damagedText === undefined) {
      const read = await this.outbox.read({ id, path: this.outbox.fileOf(id), mtimeMs: 0 });
      item = read?.ok ? read.item : null;
    }
    await this.outbox.markFailed(id, {
      failed_at: this.now().toISOString(),
      collector,
      status,
      reason,
      item,
      ...(damagedText ? { damaged_text: damagedText } : {}),
    });
    this.totals.refused++;
    this.options.onEvent?.({ type: 'refused', id, collector, status, reason });
  }

  private count(cost: Cost): void {
    this.totals.bytesSent += cost.bytesSent;
    this.totals.rawBytes += cost.rawBytes;
    this.totals.bytesReceived += cost.bytesReceived;
  }

  /** Records why collector i failed and when it may be tried again: its Retry-After, else its backoff. */
  private collectorFailed(i: number, reason: string, retryAfterMs: number | null): void {
    const collector = this.options.collectors[i]!;
    this.failures[i]!++;
    const wait =
      retryAfterMs ??
      fullJitterDelay(this.failures[i]!, this.options.backoff ?? DEFAULT_BACKOFF, this.random);
    this.notBefore[i] = Math.max(this.notBefore[i]!, Date.now() + wait);
    this.totals.lastProblem = `${collector.base}: ${reason}`;
    this.options.onEvent?.({ type: 'collector-failed', collector: collector.base, reason });
  }

  /** Closes the connections kept open for the next batch. */
  close(): void {
    this.agents.destroy();
  }
}
