/**
 * The writer of one body segment (body-files.ts): appends bytes at the file's end, cuts it back,
 * makes it durable.
 *
 * Whole 4 KiB blocks are written with O_DIRECT, straight from our memory to the disk, and only the
 * last partial block goes through the page cache. Why: a buffered write copies every byte into
 * page-cache pages the machine has not touched yet (the bodies are written once and read rarely),
 * and on the project machine, a virtual machine, a first-touched page costs the kernel far more
 * than the copy. Measured with groups of 450 bodies of 12.6 KB each followed by fdatasync, as the
 * sequencer writes them: 24–26 µs of CPU per body buffered into fresh pages (5–6 µs into reused
 * ones), 4–6 µs with O_DIRECT, much of it the copy into the aligned buffer below.
 *
 * O_DIRECT needs the memory, the file offset and the length aligned to the device's block size.
 * The bytes are copied into a buffer that is a WebAssembly memory (its pages are mapped by
 * themselves, so it starts on a page boundary), which also keeps the file's last partial block:
 * each append rewrites that block whole, with the new bytes after it. The file never holds more
 * than the bytes appended (no padding), so it stays plain JSON Lines while the server runs.
 *
 * On a file system without O_DIRECT (it refuses the flag at open, as tmpfs did before Linux 6.6,
 * or the first write) every block goes through the page cache instead; nothing else changes. A
 * failed append may leave the staging buffer without the last partial block: the sequencer then
 * cuts the file back (`truncate`), which reads that block again.
 */
import { constants, type FileHandle, open } from 'node:fs/promises';

/** The alignment O_DIRECT needs on any block device we may meet (logical blocks of 512 or 4096). */
const BLOCK = 4096;
/** Bytes staged before they are written; larger appends are written in pieces of this size. */
const STAGING_BYTES = 8 * 1024 * 1024;
const WASM_PAGE = 64 * 1024;

const alignDown = (n: number) => n - (n % BLOCK);

// Node has WebAssembly; the server's TypeScript libraries (ES2023 without DOM) do not declare it.
declare const WebAssembly: {
  Memory: new (descriptor: { initial: number; maximum: number }) => { buffer: ArrayBuffer };
};

export class SegmentWriter {
  private constructor(
    /** The same file opened O_DIRECT for whole blocks; null when the file system refuses it. */
    private direct: FileHandle | null,
    private readonly buffered: FileHandle,
    private readonly staging: Buffer,
    /** Where the file ends: the last partial block's bytes are staging[0, end % BLOCK). */
    private end: number,
  ) {}

  /**
   * Opens a segment to append at `end` (its size): `create` makes a new, empty file. `directIO:
   * false` sends every block through the page cache, as on a file system without O_DIRECT.
   */
  static async open(
    file: string,
    end: number,
    create: boolean,
    options: { directIO?: boolean } = {},
  ): Promise<SegmentWriter> {
    const buffered = await open(file, create ? 'w+' : 'r+');
    let direct: FileHandle | null = null;
    if (options.directIO !== false) {
      try {
        direct = await open(file, constants.O_RDWR | constants.O_DIRECT);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EINVAL') {
          await buffered.close();
          throw err;
        }
      }
    }
    const memory = new WebAssembly.Memory({
      initial: STAGING_BYTES / WASM_PAGE,
      maximum: STAGING_BYTES / WASM_PAGE,
    });
    const writer = new SegmentWriter(direct, buffered, Buffer.from(memory.buffer), end);
    try {
      await writer.loadPartialBlock();
    } catch (err) {
      await writer.close();
      throw err;
    }
    return writer;
  }

  /** Whether whole blocks bypass the page cache (false on a file system without O_DIRECT). */
  get directIO(): boolean {
    return this.direct !== null;
  }

  /** Appends the buffers' bytes in order at the file's end; not yet durable (see `datasync`). */
  async append(buffers: readonly Uint8Array[]): Promise<void> {
    let start = alignDown(this.end);
    let at = this.end - start;
    const { staging } = this;
    for (const b of buffers) {
      let from = 0;
      while (from < b.byteLength) {
        const n = Math.min(b.byteLength - from, staging.length - at);
        staging.set(from === 0 && n === b.byteLength ? b : b.subarray(from, from + n), at);
        at += n;
        from += n;
        if (at === staging.length) {
          await this.writeBlocks(at, start);
          start += at;
          at = 0;
        }
      }
    }
    const whole = alignDown(at);
    if (whole > 0) await this.writeBlocks(whole, start);
    if (at > whole) await writeAll(this.buffered, staging, whole, at - whole, start + whole);
    // The new last partial block goes to the front, for the next append to rewrite whole.
    staging.copyWithin(0, whole, at);
    this.end = start + at;
  }

  /** fdatasync: the appended bytes (and the file's size) are on the disk. */
  async datasync(): Promise<void> {
    await this.buffered.datasync();
  }

  /** Cuts the file back to `end` bytes (not yet durable). */
  async truncate(end: number): Promise<void> {
    await this.buffered.truncate(end);
    this.end = end;
    await this.loadPartialBlock();
  }

  async close(): Promise<void> {
    await Promise.all([this.direct?.close(), this.buffered.close()].map((p) => p?.catch(() => {})));
  }

  /** Writes staging[0, length) at `position`; both are whole blocks. */
  private async writeBlocks(length: number, position: number): Promise<void> {
    if (this.direct) {
      try {
        await writeAll(this.direct, this.staging, 0, length, position);
        return;
      } catch (err) {
        // Opened O_DIRECT, but this file system wants other alignment: use the page cache.
        if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
        await this.direct.close().catch(() => {});
        this.direct = null;
      }
    }
    await writeAll(this.buffered, this.staging, 0, length, position);
  }

  /** Reads the file's last partial block into the front of the staging buffer. */
  private async loadPartialBlock(): Promise<void> {
    const start = alignDown(this.end);
    const length = this.end - start;
    let got = 0;
    while (got < length) {
      const { bytesRead } = await this.buffered.read(this.staging, got, length - got, start + got);
      if (bytesRead === 0) throw new Error(`the body file ends before byte ${this.end}`);
      got += bytesRead;
    }
  }
}

/** Writes until every byte is written (a file may take fewer bytes at a time, e.g. near full). */
async function writeAll(
  handle: FileHandle,
  data: Buffer,
  offset: number,
  length: number,
  position: number,
): Promise<void> {
  let written = 0;
  while (written < length) {
    const { bytesWritten } = await handle.write(data, offset + written, length - written, position + written);
    if (bytesWritten === 0) throw new Error('the body file took no bytes');
    written += bytesWritten;
  }
}
