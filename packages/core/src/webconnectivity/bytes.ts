import type { MaybeBinary } from '../measurement.js';

/**
 * OONI carries bodies and header values as text when they are valid UTF-8 and as base64 otherwise.
 * Lengths are compared in bytes (the test helper reports bytes), so both forms become bytes here.
 */

const encoder = new TextEncoder();
// Lossy on purpose: a binary body still yields text for titles and fingerprints.
const decoder = new TextDecoder('utf-8', { fatal: false });

function base64Bytes(data: string): Uint8Array {
  const binary = atob(data);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Byte length of a body or header value. */
export function byteLength(value: MaybeBinary | null | undefined): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'string') return encoder.encode(value).length;
  try {
    return base64Bytes(value.data).length;
  } catch {
    return 0;
  }
}

/** Text of a body or header value (base64 decoded and read as UTF-8). */
export function asText(value: MaybeBinary | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  try {
    return decoder.decode(base64Bytes(value.data));
  } catch {
    return '';
  }
}

/** Byte length of a string in UTF-8 (OONI's title rule counts bytes, not characters). */
export function utf8Length(text: string): number {
  return encoder.encode(text).length;
}
