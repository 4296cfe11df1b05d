/**
 * The request body as JSON text: Content-Encoding undone (gzip or zstd) with a hard cap on the
 * output, then strict UTF-8. Everything here answers 4xx, never 5xx: a bad body is the client's.
 */
import { isUtf8 } from 'node:buffer';
import { gunzip } from 'node:zlib';
import { SubmissionError } from './errors.js';
import { decompressZstd, ZstdBodyError } from './zstd.js';

export type BodyEncoding = 'identity' | 'gzip' | 'zstd';

/** The encoding named by a Content-Encoding header; 415 for anything else (one encoding only). */
export function parseContentEncoding(header: string | string[] | undefined): BodyEncoding {
  const value = (Array.isArray(header) ? header.join(',') : (header ?? '')).trim().toLowerCase();
  if (value === '' || value === 'identity') return 'identity';
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  if (value === 'zstd') return 'zstd';
  throw new SubmissionError(
    415,
    'encoding',
    `Content-Encoding "${value.slice(0, 40)}" is not supported: send the body as is, or with gzip or zstd`,
  );
}

/** Decompressed bytes of the body, at most `limit` of them (413 beyond). */
export async function decodeBody(raw: Buffer, encoding: BodyEncoding, limit: number): Promise<Buffer> {
  const tooLarge = () =>
    new SubmissionError(
      413,
      'body-size',
      `body decompresses to more than ${limit} bytes: send smaller batches`,
    );
  switch (encoding) {
    case 'identity':
      if (raw.length > limit) throw tooLarge();
      return raw;
    case 'gzip':
      return new Promise((resolve, reject) => {
        // maxOutputLength makes zlib stop and fail at the cap instead of inflating a bomb.
        gunzip(raw, { maxOutputLength: limit }, (err, out) => {
          if (!err) return resolve(out);
          if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return reject(tooLarge());
          reject(new SubmissionError(400, 'encoding', `body is not valid gzip: ${err.message}`));
        });
      });
    case 'zstd':
      try {
        const out = decompressZstd(raw, limit);
        return Buffer.from(out.buffer, out.byteOffset, out.length);
      } catch (err) {
        if (!(err instanceof ZstdBodyError)) throw err;
        if (err.tooLarge) throw tooLarge();
        throw new SubmissionError(400, 'encoding', `body is ${err.message}`);
      }
  }
}

/** The body as text; 400 unless it is valid UTF-8 (a byte order mark is tolerated and dropped). */
export function bodyText(body: Buffer): string {
  // Checked first (simdutf, native): toString alone would replace bad bytes with U+FFFD.
  if (!isUtf8(body)) throw new SubmissionError(400, 'json', 'body is not valid UTF-8 JSON text');
  const hasBOM = body.length >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf;
  return body.toString('utf8', hasBOM ? 3 : 0);
}
