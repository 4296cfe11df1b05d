/**
 * Measurement bodies on disk: append-only segment files DATA_DIR/bodies/NNNNNN.jsonl, each body the
 * stored canonical JSON on a line of its own, in log order. The database row of a measurement says
 * where its body is (segment, byte offset, length); the log entry commits to the body's SHA-256.
 *
 * Why not a column in DuckDB: a 10 KB string is written to DuckDB's WAL, written again and
 * compressed at every database checkpoint, and crosses into DuckDB on the main thread. Measured on
 * the project machine with 12.6 KB bodies, the store appended 3,300–3,900 measurements/s with
 * bodies in the table and 6,900–7,000/s with them in these files (evidence/append-bench.ts). A group
 * commit is one write (whole blocks with O_DIRECT, see segment-writer.ts) and one fdatasync, done
 * before the database commit that refers to the bytes: a committed row always points at durable
 * bytes. Bytes written by a commit that then failed are cut off again (`rollback`), and at start
 * anything after the last committed body (a crash between the two) is truncated.
 *
 * The files are plain JSON Lines: `jq` and any JSONL reader read them, and each line's SHA-256 is
 * what the measurement's log entry records.
 */
import { type FileHandle, open, readdir, stat, truncate, unlink } from 'node:fs/promises';
import path from 'node:path';
import { DurableWriter, fsyncDirectory } from './durable-file.js';
import { SegmentWriter } from './segment-writer.js';

export const BODIES_DIR = 'bodies';

/** A segment grows to about this size before the next one starts (a batch is never split). */
export const SEGMENT_BYTES = 1024 * 1024 * 1024;

const SEGMENT_NAME = /^(\d{6})\.jsonl$/;
const NEWLINE = Buffer.from('\n');

/** Where a body is: its segment, the offset of its first byte and its length (without the newline). */
export interface BodyLocation {
  segment: number;
  offset: number;
  length: number;
}

/** Where the next body goes; what `rollback` returns to. */
export interface BodyMark {
  segment: number;
  end: number;
}

/** The bodies cannot be brought in line with the database; the message says why. */
export class BodyFilesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BodyFilesError';
  }
}

/** A segment's path inside the data directory, as messages name it (`bodies/000000.jsonl`). */
function segmentName(segment: number): string {
  return path.join(BODIES_DIR, `${String(segment).padStart(6, '0')}.jsonl`);
}

export function segmentFile(dataDir: string, segment: number): string {
  return path.join(dataDir, segmentName(segment));
}

/** The segment numbers present in the bodies directory, in order. */
async function segmentsOnDisk(dir: string): Promise<number[]> {
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  return names
    .map((n) => SEGMENT_NAME.exec(n)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** Removes the segments after `segment` (written by commits that never happened), durably. */
async function removeSegmentsAfter(dataDir: string, segment: number): Promise<void> {
  const dir = path.join(dataDir, BODIES_DIR);
  for (const later of await segmentsOnDisk(dir)) {
    if (later > segment) await unlink(segmentFile(dataDir, later));
  }
  await fsyncDirectory(dir);
}

/** Reads bodies; shared by the store and the offline check. */
export class BodyReader {
  private readonly handles = new Map<number, Promise<FileHandle>>();

  constructor(readonly dataDir: string) {}

  /** The body's bytes; a string saying what is wrong when the file does not hold them. */
  async read(at: BodyLocation): Promise<Buffer | string> {
    let handle: FileHandle;
    try {
      handle = await this.handle(at.segment);
    } catch (err) {
      this.handles.delete(at.segment);
      return (err as NodeJS.ErrnoException).code === 'ENOENT'
        ? `its body file ${segmentName(at.segment)} is missing`
        : `its body file cannot be read: ${(err as Error).message}`;
    }
    const data = Buffer.allocUnsafe(at.length);
    let got = 0;
    while (got < at.length) {
      const { bytesRead } = await handle.read(data, got, at.length - got, at.offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    if (got < at.length) {
      return `its body (bytes ${at.offset}..${at.offset + at.length} of ${segmentName(at.segment)}) is missing: the file ends at byte ${at.offset + got}`;
    }
    return data;
  }

  private handle(segment: number): Promise<FileHandle> {
    let h = this.handles.get(segment);
    if (!h) {
      h = open(segmentFile(this.dataDir, segment), 'r');
      this.handles.set(segment, h);
    }
    return h;
  }

  async close(): Promise<void> {
    const handles = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(handles.map((h) => h.then((f) => f.close()).catch(() => {})));
  }
}

/** The one writer of the body files (the sequencer's), and a reader. */
export class BodyFiles extends BodyReader {
  private constructor(
    dataDir: string,
    private writer: SegmentWriter,
    private segment: number,
    private end: number,
    private readonly segmentBytes: number,
  ) {
    super(dataDir);
  }

  /**
   * Opens the bodies for appending after `committed`: the end of the last body the database refers
   * to (null when it holds no measurement). Bytes beyond it, and later segments, were written by a
   * commit that never happened and are removed; a file shorter than that is lost evidence and
   * stops the start.
   */
  static async open(
    dataDir: string,
    committed: BodyMark | null,
    segmentBytes = SEGMENT_BYTES,
  ): Promise<BodyFiles> {
    const dirs = new DurableWriter();
    await dirs.ensureDir(path.join(dataDir, BODIES_DIR));
    await dirs.commit();
    const at = committed ?? { segment: 0, end: 0 };
    const file = segmentFile(dataDir, at.segment);
    const found = await stat(file).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    const size = found?.size ?? 0;
    if (size < at.end) {
      throw new BodyFilesError(
        `${segmentName(at.segment)} ${found ? `has ${size} bytes` : 'is missing'}, but the stored measurements' bodies reach byte ${at.end}: measurement bodies were lost; restore the data directory from a backup`,
      );
    }
    if (size > at.end) await truncate(file, at.end);
    const writer = await SegmentWriter.open(file, at.end, !found);
    try {
      if (size > at.end) await writer.datasync();
      // Also makes the name of a segment just created durable.
      await removeSegmentsAfter(dataDir, at.segment);
    } catch (err) {
      await writer.close();
      throw err;
    }
    return new BodyFiles(dataDir, writer, at.segment, at.end, segmentBytes);
  }

  /** Where the next body goes. */
  get mark(): BodyMark {
    return { segment: this.segment, end: this.end };
  }

  /**
   * Appends the bodies, each followed by a newline, and makes them durable (fdatasync) before
   * resolving with their locations. A batch never spans two segments.
   */
  async append(bodies: readonly Uint8Array[]): Promise<BodyLocation[]> {
    let total = 0;
    for (const b of bodies) total += b.byteLength + 1;
    if (this.end > 0 && this.end + total > this.segmentBytes) await this.nextSegment();
    const locations: BodyLocation[] = [];
    const buffers: Uint8Array[] = [];
    let at = this.end;
    for (const b of bodies) {
      locations.push({ segment: this.segment, offset: at, length: b.byteLength });
      buffers.push(b, NEWLINE);
      at += b.byteLength + 1;
    }
    await this.writer.append(buffers);
    await this.writer.datasync();
    this.end = at;
    return locations;
  }

  /**
   * Cuts off what was appended after `mark` (the commits it was for failed), so no unreferenced
   * bytes stay; segments started since are removed.
   */
  async rollback(mark: BodyMark): Promise<void> {
    if (mark.segment !== this.segment) {
      await this.writer.close();
      await removeSegmentsAfter(this.dataDir, mark.segment);
      this.writer = await SegmentWriter.open(segmentFile(this.dataDir, mark.segment), mark.end, false);
      this.segment = mark.segment;
    }
    await this.writer.truncate(mark.end);
    await this.writer.datasync();
    this.end = mark.end;
  }

  private async nextSegment(): Promise<void> {
    const next = await SegmentWriter.open(segmentFile(this.dataDir, this.segment + 1), 0, true);
    await fsyncDirectory(path.join(this.dataDir, BODIES_DIR));
    const previous = this.writer;
    this.writer = next;
    this.segment += 1;
    this.end = 0;
    await previous.close();
  }

  override async close(): Promise<void> {
    await super.close();
    await this.writer.close().catch(() => {});
  }
}
