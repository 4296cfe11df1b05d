/**
 * Publishing: after commits, write the new tiles and bundles (fsynced), then the checkpoint file,
 * then start serving that checkpoint. A checkpoint is therefore only ever served when everything
 * a client needs to check it is on disk, and it was stored in the database (in the commit of the
 * entries it covers) before that. Publishing runs beside the sequencer and coalesces: commits that
 * land while tiles are being written, or within MIN_INTERVAL_MS of the last publication's start,
 * are published together next.
 */
import { DurableWriter, writeFileDurably } from './durable-file.js';
import type { TileData, TileEdge } from './tile-edge.js';
import { relativeTilePath, type TileFiles, type TileLevel } from './tile-files.js';
import { type EvidenceLogger, EvidenceUnavailableError } from './types.js';

export interface PublishedState {
  size: number;
  /** The signed checkpoint note served at /log/checkpoint. */
  checkpoint: string;
  /** The incomplete rightmost tile of each level (and the last bundle) at `size`. */
  partials: ReadonlyMap<TileLevel, TileData>;
}

export interface CommittedState {
  size: number;
  checkpoint: string;
}

/** Least time between the starts of two publications. */
const MIN_INTERVAL_MS = 200;

export class Publisher {
  private current: PublishedState | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;
  private failures = 0;
  private readonly waiters = new Set<{ size: number; resolve: () => void }>();
  private gcHolds = 0;
  private deferred: TileData[] = [];
  private lastStarted = Number.NEGATIVE_INFINITY;
  /** Ends the loop's current pause at once (close). */
  private wake: (() => void) | null = null;

  constructor(
    private readonly files: TileFiles,
    private readonly edge: TileEdge,
    private readonly committed: () => CommittedState,
    private readonly logger: EvidenceLogger,
  ) {}

  get state(): PublishedState {
    if (!this.current) throw new Error('the log has not been published yet');
    return this.current;
  }

  /**
   * A pause of the publishing loop. Its timer does not keep the process alive, and `close` ends it:
   * a close that waited for an unreferenced timer would never finish in a process with nothing
   * else to do (a script that appends and closes the store exited half-way, with code 13).
   */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms).unref();
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }

  /** Publishes what is committed now (used at startup, before anything is served). */
  async publishNow(): Promise<void> {
    await this.publishOnce();
  }

  /** Asks for a publication of the latest commit; returns at once. */
  schedule(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = null;
    });
  }

  private async loop(): Promise<void> {
    do {
      // Under steady ingest, commits come every few tens of milliseconds; publishing each (a dozen
      // files, each fsynced) cost more than it is worth. Later commits are published together.
      const wait = this.lastStarted + MIN_INTERVAL_MS - performance.now();
      if (wait > 0 && !this.closed) await this.pause(wait);
      this.lastStarted = performance.now();
      this.again = false;
      try {
        await this.publishOnce();
        this.failures = 0;
      } catch (err) {
        this.failures++;
        this.logger.error({ err }, 'publishing tiles and checkpoint failed; retrying');
        if (!this.closed) await this.pause(Math.min(5000, 50 * 2 ** this.failures));
        this.again = !this.closed;
      }
    } while (this.again);
  }

  /** Resolves once a checkpoint of at least `size` is served; rejects after `timeoutMs`. */
  waitForSize(size: number, timeoutMs: number): Promise<void> {
    if (this.current && this.current.size >= size) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        size,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(
          new EvidenceUnavailableError(
            `no checkpoint covering entry ${size - 1} was published within ${timeoutMs} ms; retry shortly`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Keeps superseded partial files on disk until released (an integrity check is reading them). */
  holdRemovals(): () => void {
    this.gcHolds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.gcHolds--;
      if (this.gcHolds === 0) void this.remove(this.deferred.splice(0));
    };
  }

  /** Stops scheduling, and publishes whatever was committed last. */
  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.running;
    const { size, checkpoint } = this.committed();
    if (this.current?.size !== size || this.current.checkpoint !== checkpoint) await this.publishOnce();
  }

  private async publishOnce(): Promise<void> {
    // Read synchronously: the sequencer updates the edge and the committed state together.
    const { size, checkpoint } = this.committed();
    if (this.edge.size !== size) throw new Error(`tile edge at ${this.edge.size}, committed ${size}`);
    const previous = this.current;
    if (previous && previous.size === size && previous.checkpoint === checkpoint) return;
    const completed = [...this.edge.completed];
    const partials = this.edge.partials();
    const unchanged = (t: TileData) => {
      const old = previous?.partials.get(t.level);
      return old !== undefined && old.index === t.index && old.width === t.width;
    };

    const writer = new DurableWriter();
    const toWrite = [...completed, ...partials.filter((t) => !unchanged(t))];
    await Promise.all(
      toWrite.map((t) => writer.write(this.files.file(relativeTilePath(t.level, t.index, t.width)), t.data)),
    );
    await writer.commit();
    await writeFileDurably(this.files.checkpointFile, checkpoint);

    this.edge.drop(completed);
    const next = new Map(partials.map((t) => [t.level, t]));
    this.current = { size, checkpoint, partials: next };
    for (const w of this.waiters) {
      if (w.size <= size) {
        this.waiters.delete(w);
        w.resolve();
      }
    }
    // An old partial is superseded once its level's edge moved on (wider, or the tile is complete).
    const superseded = [...(previous?.partials.values() ?? [])].filter((old) => {
      const now = next.get(old.level);
      return now === undefined || now.index !== old.index || now.width !== old.width;
    });
    if (this.gcHolds > 0) this.deferred.push(...superseded);
    else await this.remove(superseded);
  }

  private async remove(tiles: TileData[]): Promise<void> {
    await Promise.all(tiles.map((t) => this.files.removePartial(t.level, t.index, t.width)));
  }
}
