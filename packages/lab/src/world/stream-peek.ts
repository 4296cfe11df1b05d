import type net from 'node:net';
import { normalizeName } from './names.js';

/**
 * Reads from SOCKET until COMPLETE(buffered) is true, MAX_BYTES arrived, the peer ends, or
 * TIMEOUT_MS passes; then pauses the socket and resolves with what arrived (to be replayed).
 */
export function peek(
  socket: net.Socket,
  complete: (buffered: Buffer) => boolean,
  options: { maxBytes: number; timeoutMs: number },
): Promise<Buffer> {
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0);
    const finish = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', finish);
      socket.off('close', finish);
      socket.pause();
      resolve(buffered);
    };
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length >= options.maxBytes || complete(buffered)) finish();
    };
    const timer = setTimeout(finish, options.timeoutMs);
    socket.on('data', onData);
    socket.once('end', finish);
    socket.once('close', finish);
  });
}

export const HEAD_END = Buffer.from('\r\n\r\n');

export function headComplete(buffered: Buffer): boolean {
  return buffered.includes(HEAD_END);
}

/** The Host of an HTTP/1.x request head (normalized, without port), if any. */
export function httpHost(head: Buffer): string | undefined {
  const end = head.indexOf(HEAD_END);
  const text = head.subarray(0, end < 0 ? head.length : end).toString('latin1');
  for (const line of text.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === 'host') {
      const value = line.slice(colon + 1).trim();
      return normalizeName(value.replace(/:\d+$/, ''));
    }
  }
  return undefined;
}

/** True once the first TLS record is complete (or the bytes are clearly not TLS). */
export function tlsRecordComplete(buffered: Buffer): boolean {
  if (buffered.length >= 1 && buffered[0] !== 0x16) return true;
  if (buffered.length < 5) return false;
  return buffered.length >= 5 + buffered.readUInt16BE(3);
}

/** The server name (SNI) of a TLS ClientHello, if the bytes hold one. */
export function tlsServerName(data: Buffer): string | undefined {
  try {
    if (data[0] !== 0x16 || data.length < 9) return undefined;
    let at = 5; // record header
    if (data[at] !== 0x01) return undefined; // ClientHello
    at += 4; // handshake type + length
    at += 2 + 32; // client_version + random
    at += 1 + data.readUInt8(at); // session_id
    at += 2 + data.readUInt16BE(at); // cipher_suites
    at += 1 + data.readUInt8(at); // compression_methods
    const extensionsEnd = at + 2 + data.readUInt16BE(at);
    at += 2;
    while (at + 4 <= extensionsEnd && at + 4 <= data.length) {
      const type = data.readUInt16BE(at);
      const length = data.readUInt16BE(at + 2);
      at += 4;
      if (type === 0x0000) {
        let entry = at + 2; // server_name_list length
        const listEnd = Math.min(at + length, data.length);
        while (entry + 3 <= listEnd) {
          const nameType = data[entry];
          const nameLength = data.readUInt16BE(entry + 1);
          if (nameType === 0)
            return normalizeName(data.subarray(entry + 3, entry + 3 + nameLength).toString('latin1'));
          entry += 3 + nameLength;
        }
        return undefined;
      }
      at += length;
    }
  } catch {
    // truncated: no name
  }
  return undefined;
}

/**
 * Joins CLIENT and UPSTREAM both ways after replaying FIRST (the peeked bytes) upstream. A reset on
 * one side is passed on as a reset on the other.
 */
export function splice(client: net.Socket, upstream: net.Socket, first: Buffer): void {
  if (first.length > 0) upstream.write(first);
  client.pipe(upstream);
  upstream.pipe(client);
  client.resume();
  upstream.on('error', () => {
    if (!client.destroyed) client.resetAndDestroy();
  });
  client.on('error', () => {
    if (!upstream.destroyed) upstream.resetAndDestroy();
  });
}
