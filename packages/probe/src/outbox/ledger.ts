/**
 * `sent.jsonl`: one line per uploaded measurement, appended and fsynced before the measurement's
 * outbox file is removed. It is what makes an upload exactly-once from the user's side: after a
 * crash, an outbox file whose id is already here was delivered and is only cleaned up.
 */
import { type FileHandle, open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { syncDirectory } from './durable-file.js';

export interface LedgerEntry {
  id: string;
  /** The collector's log index for the measurement. */
  log_index: number;
  /** The collector already had it (a retry after a lost acknowledgement, or another upload). */
  duplicate: boolean;
  /** Base URL of the collector that acknowledged it. */
  collector: string;
  /** ISO 8601 UTC. */
  uploaded_at: string;
}

export interface LedgerContents {
  entries: LedgerEntry[];
  /** Lines that do not parse: a line torn by a power cut (its measurement is still queued). */
  damaged: number;
}

function isEntry(value: unknown): value is LedgerEntry {
  const e = value as Partial<LedgerEntry> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.id === 'string' &&
    /^[0-9a-f]{64}$/.test(e.id) &&
    typeof e.log_index === 'number'
  );
}

/** The file's text, or null when there is no ledger yet. */
async function readText(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export async function readLedger(file: string): Promise<LedgerContents> {
  return parseLedger((await readText(file)) ?? '');
}

function parseLedger(text: string): LedgerContents {
  const entries: LedgerEntry[] = [];
  let damaged = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const value: unknown = JSON.parse(line);
      if (isEntry(value)) entries.push(value);
      else damaged++;
    } catch {
      damaged++;
    }
  }
  return { entries, damaged };
}

/** The ledger open for appending, with the ids it holds. */
export class Ledger {
  private constructor(
    private readonly handle: FileHandle,
    private readonly known: Set<string>,
    /** False when the file's last line lacks its newline (a torn write): the next append starts one. */
    private endsClean: boolean,
  ) {}

  static async open(file: string): Promise<Ledger> {
    const text = await readText(file);
    const { entries } = parseLedger(text ?? '');
    const handle = await open(file, 'a', 0o600);
    // A new file's name must be durable too, or a crash could lose every line in it.
    if (text === null) await syncDirectory(path.dirname(file));
    return new Ledger(
      handle,
      new Set(entries.map((e) => e.id)),
      text === null || text === '' || text.endsWith('\n'),
    );
  }

  has(id: string): boolean {
    return this.known.has(id);
  }

  get size(): number {
    return this.known.size;
  }

  /** Appends the entries in one write and fsyncs; when this resolves they survive a crash. */
  async append(entries: LedgerEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const lines = entries.map((e) => `${JSON.stringify(e)}\n`).join('');
    await this.handle.write(this.endsClean ? lines : `\n${lines}`);
    this.endsClean = true;
    await this.handle.sync();
    for (const e of entries) this.known.add(e.id);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
