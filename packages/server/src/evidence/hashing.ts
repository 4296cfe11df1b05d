/**
 * SHA-256 on the server's hot path, with node:crypto (OpenSSL). Core's hashes are pure JS so they
 * run in the browser; here a 10 KB measurement is hashed several times faster natively. Both are
 * SHA-256, so the results are the same bytes (the tests compare them with core's).
 */
import { createHash } from 'node:crypto';

const LEAF_PREFIX = Buffer.from([0x00]);

/** Lower-case hex SHA-256 of a string's UTF-8 bytes, or of bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** RFC 6962 leaf hash SHA-256(0x00 || entry). */
export function leafHashOf(entry: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(LEAF_PREFIX).update(entry).digest());
}
