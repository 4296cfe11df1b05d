/**
 * Small byte helpers for the evidence log: hex, standard base64 (RFC 4648 §4, padded) and UTF-8.
 *
 * Core runs in the browser too, so there is no Buffer here. Decoders are strict on purpose: a
 * signature or hash that could be spelled two ways would let two different texts carry "the same"
 * value, which is exactly the ambiguity a tamper-evident format must not have.
 */

const HEX = '0123456789abcdef';

/** Lowercase hex of the bytes. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += HEX[b >> 4]! + HEX[b & 15]!;
  return out;
}

/** Bytes of a hex string (either case, even length, nothing else). Throws on anything malformed. */
export function fromHex(text: string): Uint8Array {
  if (text.length % 2 !== 0) throw new Error(`hex text has an odd length (${text.length})`);
  if (!/^[0-9a-fA-F]*$/.test(text)) throw new Error('hex text has a character outside 0-9 a-f');
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUE = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_VALUE[B64.charCodeAt(i)] = i;

/** Standard padded base64 (RFC 4648 §4) of the bytes. */
export function toBase64(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += B64[n >> 18]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + B64[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += `${B64[n >> 18]!}${B64[(n >> 12) & 63]!}==`;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += `${B64[n >> 18]!}${B64[(n >> 12) & 63]!}${B64[(n >> 6) & 63]!}=`;
  }
  return out;
}

/**
 * Bytes of standard padded base64. Strict: the length must be a multiple of 4, padding only at the
 * end, no whitespace, no URL-safe alphabet, and the unused bits of the last character must be zero
 * (so every byte string has exactly one accepted spelling). Throws with a plain reason otherwise.
 */
export function fromBase64(text: string): Uint8Array {
  if (text.length % 4 !== 0) throw new Error(`base64 text length ${text.length} is not a multiple of 4`);
  let pad = 0;
  if (text.endsWith('==')) pad = 2;
  else if (text.endsWith('=')) pad = 1;
  const body = text.length - pad;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const quad = [0, 0, 0, 0];
    for (let j = 0; j < 4; j++) {
      const pos = i + j;
      if (pos >= body) continue;
      const code = text.charCodeAt(pos);
      const v = code < 128 ? B64_VALUE[code]! : -1;
      if (v < 0) throw new Error(`base64 text has an invalid character at position ${pos}`);
      quad[j] = v;
    }
    const n = (quad[0]! << 18) | (quad[1]! << 12) | (quad[2]! << 6) | quad[3]!;
    if (o < out.length) out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
    if (i + 4 === text.length) {
      // The last group: bits that padding discards must be zero, or the spelling is not canonical.
      if ((pad === 1 && (n & 0xff) !== 0) || (pad === 2 && (n & 0xffff) !== 0)) {
        throw new Error('base64 text is not canonical (non-zero padding bits)');
      }
    }
  }
  return out;
}

const utf8Encoder = new TextEncoder();
const utf8StrictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/** Text of UTF-8 bytes; throws on invalid UTF-8 (a byte order mark is kept as text, not dropped). */
export function fromUtf8(bytes: Uint8Array): string {
  return utf8StrictDecoder.decode(bytes);
}

/** One array holding all the parts, in order. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** True when both arrays hold the same bytes. Runs in time independent of where they differ. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
