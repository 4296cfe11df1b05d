/**
 * Zstandard bodies, decompressed without trusting them (RFC 8878).
 *
 * fzstd (pure JS; Node 20 has no zstd) allocates what a frame header declares, up to 2 GiB, before
 * decoding anything, so a few crafted bytes could claim gigabytes. The frames and block headers
 * are therefore walked first: that costs no decoding and bounds the output exactly enough (a
 * compressed block never regenerates more than min(window, 128 KiB)) to refuse a bomb before a
 * byte of it is expanded.
 */
import { decompress } from 'fzstd';

/** Above this a frame's window is refused: zstd's levels 1–19 never use more than 8 MiB. */
export const MAX_ZSTD_WINDOW = 8 * 1024 * 1024;
const MAX_BLOCK = 128 * 1024;

export class ZstdBodyError extends Error {
  /** True when the body is well-formed but would expand beyond the limit. */
  readonly tooLarge: boolean;
  constructor(message: string, tooLarge = false) {
    super(message);
    this.name = 'ZstdBodyError';
    this.tooLarge = tooLarge;
  }
}

/** Decompresses `data` if it would produce at most `limit` bytes; throws ZstdBodyError otherwise. */
export function decompressZstd(data: Uint8Array, limit: number): Uint8Array {
  const bound = outputBound(data, limit);
  if (bound === 0) return new Uint8Array(0);
  let out: Uint8Array;
  try {
    out = decompress(data);
  } catch (err) {
    throw new ZstdBodyError(`not valid zstd: ${(err as Error).message}`);
  }
  if (out.length > limit) throw new ZstdBodyError(`decompresses to more than ${limit} bytes`, true);
  return out;
}

/**
 * The most bytes the frames in `data` can decompress to, after checking their structure.
 * Throws as soon as the running bound passes `limit`.
 */
export function outputBound(data: Uint8Array, limit: number): number {
  let pos = 0;
  let total = 0;
  const need = (n: number, what: string) => {
    if (pos + n > data.length) throw new ZstdBodyError(`not valid zstd: truncated ${what}`);
  };
  const add = (n: number) => {
    total += n;
    if (total > limit) throw new ZstdBodyError(`decompresses to more than ${limit} bytes`, true);
  };
  if (data.length === 0) throw new ZstdBodyError('not valid zstd: empty body');
  while (pos < data.length) {
    need(4, 'frame magic');
    const magic = readLE(data, pos, 4);
    pos += 4;
    if (magic >>> 4 === 0x184d2a5) {
      // A skippable frame: its bytes are user data, never output.
      need(4, 'skippable frame size');
      const size = readLE(data, pos, 4);
      pos += 4;
      need(size, 'skippable frame');
      pos += size;
      continue;
    }
    if (magic !== 0xfd2fb528) throw new ZstdBodyError('not valid zstd: bad frame magic number');
    need(1, 'frame header');
    const descriptor = data[pos++]!;
    const fcsFlag = descriptor >> 6;
    const singleSegment = (descriptor >> 5) & 1;
    const checksum = (descriptor >> 2) & 1;
    const dictFlag = descriptor & 3;
    if (descriptor & 8) throw new ZstdBodyError('not valid zstd: reserved frame header bit set');
    let window = 0;
    if (!singleSegment) {
      need(1, 'window descriptor');
      const wd = data[pos++]!;
      const base = 2 ** (10 + (wd >> 3));
      window = base + (base / 8) * (wd & 7);
    }
    const dictBytes = [0, 1, 2, 4][dictFlag]!;
    need(dictBytes, 'dictionary id');
    if (dictBytes > 0 && readLE(data, pos, dictBytes) !== 0) {
      throw new ZstdBodyError('zstd dictionaries are not supported: compress without one');
    }
    pos += dictBytes;
    const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
    need(fcsBytes, 'frame content size');
    let contentSize: number | undefined;
    if (fcsBytes > 0) {
      contentSize =
        fcsBytes === 8
          ? readLE(data, pos, 4) + readLE(data, pos + 4, 4) * 2 ** 32
          : readLE(data, pos, fcsBytes);
      if (fcsBytes === 2) contentSize += 256;
      if (contentSize > limit) throw new ZstdBodyError(`decompresses to more than ${limit} bytes`, true);
    }
    pos += fcsBytes;
    if (singleSegment) window = contentSize ?? 0;
    if (window > MAX_ZSTD_WINDOW) {
      throw new ZstdBodyError(
        `zstd window of ${window} bytes is larger than ${MAX_ZSTD_WINDOW}: use a level up to 19, without --long`,
      );
    }
    const blockMax = Math.min(window, MAX_BLOCK);
    for (let last = 0; !last; ) {
      need(3, 'block header');
      const header = readLE(data, pos, 3);
      pos += 3;
      last = header & 1;
      const type = (header >> 1) & 3;
      const size = header >>> 3;
      if (type === 3) throw new ZstdBodyError('not valid zstd: reserved block type');
      if (size > blockMax) throw new ZstdBodyError('not valid zstd: block larger than the window allows');
      if (type === 0) {
        need(size, 'raw block');
        pos += size;
        add(size);
      } else if (type === 1) {
        need(1, 'RLE block');
        pos += 1;
        add(size);
      } else {
        need(size, 'compressed block');
        pos += size;
        add(blockMax);
      }
    }
    if (checksum) {
      need(4, 'content checksum');
      pos += 4;
    }
  }
  return total;
}

function readLE(data: Uint8Array, pos: number, n: number): number {
  let value = 0;
  for (let i = n - 1; i >= 0; i--) value = value * 256 + data[pos + i]!;
  return value;
}
