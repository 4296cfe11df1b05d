/** OONI's "maybe binary" values: UTF-8 text as is, anything else as base64. */
import type { MaybeBinary } from '@pharos/core';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function maybeBinary(bytes: Uint8Array, truncated = false): MaybeBinary {
  const text = decodeUTF8(bytes) ?? (truncated ? decodeTruncatedUTF8(bytes) : null);
  return text ?? { format: 'base64', data: Buffer.from(bytes).toString('base64') };
}

/** Header values arrive as latin1 strings from node:http; recover their bytes to judge them. */
export function maybeBinaryHeader(value: string): MaybeBinary {
  return maybeBinary(Buffer.from(value, 'latin1'));
}

function decodeUTF8(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/** A body cut at the snapshot cap may end inside a multi-byte character: drop that tail. */
function decodeTruncatedUTF8(bytes: Uint8Array): string | null {
  for (let cut = 1; cut <= 3 && cut < bytes.length; cut++) {
    const text = decodeUTF8(bytes.subarray(0, bytes.length - cut));
    if (text !== null) return text;
  }
  return null;
}
