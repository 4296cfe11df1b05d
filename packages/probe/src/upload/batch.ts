/**
 * Submission bodies: the queued items' JSON texts spliced into the envelope unchanged (they were
 * checked when read), gzip-compressed because measurements are repetitive JSON and a volunteer's
 * data plan pays for every byte.
 */
import { gzipSync } from 'node:zlib';

export const SUBMISSION_FORMAT = 'pharos-submission/v1';
export const DEFAULT_MAX_BATCH_ITEMS = 50;
export const DEFAULT_MAX_BATCH_BYTES = 1024 * 1024;

export interface EncodedBatch {
  body: Buffer;
  /** Bytes before compression. */
  rawBytes: number;
}

export function encodeBatch(itemTexts: string[]): EncodedBatch {
  const json = `{"format":"${SUBMISSION_FORMAT}","measurements":[${itemTexts.join(',')}]}`;
  const raw = Buffer.from(json, 'utf8');
  return { body: gzipSync(raw, { level: 9 }), rawBytes: raw.length };
}
