/**
 * Checks an outbox file's text before it is uploaded: a submission item whose measurement hashes
 * to the id in the file's name. The disk is not trusted to have kept every byte.
 */
import { measurementId, type SubmissionItem } from '../identity/sign.js';

export type ItemCheck = { ok: true; item: SubmissionItem } | { ok: false; reason: string };

export function checkItem(text: string, id: string): ItemCheck {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `the outbox file is not JSON (${(err as Error).message})` };
  }
  const item = value as Partial<SubmissionItem> | null;
  if (
    typeof item !== 'object' ||
    item === null ||
    typeof item.measurement !== 'object' ||
    item.measurement === null ||
    Array.isArray(item.measurement) ||
    typeof item.probe_key !== 'string' ||
    typeof item.signature !== 'string'
  ) {
    return {
      ok: false,
      reason: 'the outbox file is not a submission item {measurement, probe_key, signature}',
    };
  }
  let actual: string;
  try {
    actual = measurementId(item.measurement);
  } catch (err) {
    return { ok: false, reason: `the measurement cannot be canonicalized: ${(err as Error).message}` };
  }
  if (actual !== id) {
    return {
      ok: false,
      reason: `the outbox file is damaged: its measurement hashes to ${actual}, not ${id}`,
    };
  }
  return { ok: true, item: item as SubmissionItem };
}
