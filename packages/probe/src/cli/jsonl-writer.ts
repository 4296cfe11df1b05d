/**
 * Appends one JSON document per line to a file opened once for the run. Each line is written as
 * soon as its measurement finishes, so a crash or a killed process keeps everything done so far.
 * Writes are chained so concurrent measurements never interleave within a line.
 */
import { type FileHandle, open } from 'node:fs/promises';

export class JsonlWriter {
  private chain: Promise<void> = Promise.resolve();

  private constructor(private readonly handle: FileHandle) {}

  /** Opens for appending: an existing file keeps its lines. */
  static async open(path: string): Promise<JsonlWriter> {
    return new JsonlWriter(await open(path, 'a'));
  }

  write(record: unknown): Promise<void> {
    const line = `${JSON.stringify(record)}\n`;
    const written = this.chain.then(() => this.handle.appendFile(line, 'utf8'));
    // A failed write is reported to its caller; later writes still get their turn.
    this.chain = written.catch(() => {});
    return written;
  }

  async close(): Promise<void> {
    await this.chain;
    await this.handle.close();
  }
}
