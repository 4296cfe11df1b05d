/** `failed/<id>.json`: an item a collector refused for good, with the reason, kept for people to read. */
import { readFile } from 'node:fs/promises';
import type { SubmissionItem } from '../identity/sign.js';

export interface FailedRecord {
  /** ISO 8601 UTC. */
  failed_at: string;
  /** Base URL of the collector that refused it; null when the probe itself found it damaged. */
  collector: string | null;
  /** The HTTP status of the refusal, when there was one. */
  status: number | null;
  reason: string;
  /** The signed item as it was queued; null when the outbox file was damaged. */
  item: SubmissionItem | null;
  /** The damaged file's text, when it was damaged. */
  damaged_text?: string;
}

export async function readFailedRecord(file: string): Promise<FailedRecord | null> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as FailedRecord;
    return typeof value === 'object' && value !== null && typeof value.reason === 'string' ? value : null;
  } catch {
    return null;
  }
}
