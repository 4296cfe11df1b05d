/**
 * Signed submission items (docs/evidence-log.md, "Probe identity and signatures"): the signature
 * and the id both cover exactly the UTF-8 bytes of the measurement's RFC 8785 canonical JSON.
 */
import { createHash, sign } from 'node:crypto';
import { canonicalJSON } from '@pharos/core';
import type { ProbeKey } from './probe-key.js';

/** One element of a submission's `measurements` array. */
export interface SubmissionItem {
  measurement: Record<string, unknown>;
  /** Base64 of the 32-byte Ed25519 public key. */
  probe_key: string;
  /** Base64 of the 64-byte Ed25519 signature over canonicalJSON(measurement). */
  signature: string;
}

export interface SignedMeasurement {
  /** Lowercase hex SHA-256 of the canonical bytes: the content address the collector dedupes by. */
  id: string;
  item: SubmissionItem;
}

/**
 * The measurement as it travels: what JSON text carries, so the bytes signed here are the bytes a
 * collector (or a later `submit` of the same JSONL line) canonicalizes. Undefined members vanish
 * as JSON.stringify drops them; anything JSON cannot carry throws.
 */
export function asJSONObject(measurement: unknown): Record<string, unknown> {
  const text = JSON.stringify(measurement);
  const value: unknown = text === undefined ? undefined : JSON.parse(text);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError('a measurement must be a JSON object');
  }
  return value as Record<string, unknown>;
}

export function canonicalBytes(measurement: Record<string, unknown>): Buffer {
  return Buffer.from(canonicalJSON(measurement), 'utf8');
}

export function measurementId(measurement: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalBytes(measurement)).digest('hex');
}

/** Signs a measurement with the probe's key. Throws (CanonicalJSONError) on non-JSON content. */
export function signMeasurement(measurement: unknown, key: ProbeKey): SignedMeasurement {
  const text = canonicalJSON(asJSONObject(measurement));
  const bytes = Buffer.from(text, 'utf8');
  return {
    id: createHash('sha256').update(bytes).digest('hex'),
    item: {
      // In canonical member order, so the outbox file and the wire carry the JCS text as is and a
      // collector can canonicalize by checking the order instead of sorting.
      measurement: JSON.parse(text) as Record<string, unknown>,
      probe_key: key.publicKeyBase64,
      // Ed25519 takes no separate digest: the algorithm argument must be null.
      signature: sign(null, bytes, key.privateKey).toString('base64'),
    },
  };
}
