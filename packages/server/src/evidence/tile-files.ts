/**
 * Tiles and entry bundles as static files under DATA_DIR/log, at their C2SP tlog-tiles paths
 * (`tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`) beside `checkpoint`, so the directory can be
 * served by any static file server or copied to object storage as it is.
 *
 * Only the widest partial of each tile is kept (older widths are removed once a wider one is
 * published): a partial tile is a prefix of every wider one, so a narrower width is read from a
 * wider file or the full tile. Reads fall back that way, which also keeps a reader working while
 * the publisher replaces a partial file.
 */
import { readdir, readFile, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import {
  decodeEntryBundle,
  encodeEntryBundle,
  entryBundlePath,
  HASH_SIZE,
  parseTilePath,
  TILE_WIDTH,
  tilePath,
} from '@pharos/core';
import { TEMP_MARK } from './durable-file.js';

export const LOG_DIR = 'log';
export const CHECKPOINT_FILE = 'checkpoint';

/** A hash tile (`level` ≥ 0) or an entry bundle (`level` = 'entries'). */
export type TileLevel = number | 'entries';

export function relativeTilePath(level: TileLevel, index: number, width: number): string {
  return level === 'entries' ? entryBundlePath(index, width) : tilePath({ level, index, width });
}

async function readOrNull(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** The first `width` entries of a bundle, re-encoded; null when it has fewer. */
function bundlePrefix(data: Uint8Array, width: number): Uint8Array | null {
  let entries: Uint8Array[];
  try {
    entries = decodeEntryBundle(data);
  } catch {
    return null;
  }
  return entries.length < width ? null : encodeEntryBundle(entries.slice(0, width));
}

function prefix(level: TileLevel, data: Uint8Array, width: number): Uint8Array | null {
  if (level === 'entries') return bundlePrefix(data, width);
  return data.length < width * HASH_SIZE ? null : data.subarray(0, width * HASH_SIZE);
}

export class TileFiles {
  readonly logDir: string;
  constructor(dataDir: string) {
    this.logDir = path.join(dataDir, LOG_DIR);
  }

  get checkpointFile(): string {
    return path.join(this.logDir, CHECKPOINT_FILE);
  }

  file(relative: string): string {
    return path.join(this.logDir, relative);
  }

  /** The file's bytes as stored at exactly this path, or null. */
  async readExact(level: TileLevel, index: number, width: number): Promise<Buffer | null> {
    return readOrNull(this.file(relativeTilePath(level, index, width)));
  }

  /**
   * The tile or bundle at this width, from its own file, else as a prefix of the full file or of
   * a wider partial. Null when none is on disk.
   */
  async read(level: TileLevel, index: number, width: number): Promise<Uint8Array | null> {
    const exact = await this.readExact(level, index, width);
    if (exact) return exact;
    if (width < TILE_WIDTH) {
      const full = await this.readExact(level, index, TILE_WIDTH);
      if (full) return prefix(level, full, width);
    }
    for (const wider of await this.partialWidths(level, index)) {
      if (wider <= width) continue;
      const data = await this.readExact(level, index, wider);
      if (data) return prefix(level, data, width);
    }
    return null;
  }

  /** Widths of the partial files on disk for this tile, narrowest first. */
  async partialWidths(level: TileLevel, index: number): Promise<number[]> {
    const dir = this.file(path.dirname(relativeTilePath(level, index, 1)));
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return [];
    }
    return names
      .filter((n) => /^[1-9][0-9]*$/.test(n) && Number(n) < TILE_WIDTH)
      .map(Number)
      .sort((a, b) => a - b);
  }

  /** Removes a superseded partial file, and its `.p` directory once empty. Never throws. */
  async removePartial(level: TileLevel, index: number, width: number): Promise<void> {
    const file = this.file(relativeTilePath(level, index, width));
    await rm(file, { force: true }).catch(() => {});
    await rmdir(path.dirname(file)).catch(() => {});
  }

  /** Every file under tile/, as paths relative to the log directory (temporary files skipped). */
  async listTileFiles(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (relative: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await readdir(this.file(relative), { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const child = `${relative}/${e.name}`;
        if (e.isDirectory()) await walk(child);
        else if (!e.name.includes(TEMP_MARK)) out.push(child);
      }
    };
    await walk('tile');
    return out;
  }
}

export { parseTilePath };
