/**
 * Streaming MRT reader (RFC 6396, RFC 8050 add-path subtypes) over a Node Readable: plain,
 * gzip (node:zlib) or bzip2 (unbzip2-stream), detected from the first bytes.
 *
 * Framing errors (a short header or body) throw MrtFormatError naming the byte offset and record
 * number, since nothing after them can be trusted. A record whose body does not decode is yielded
 * as `{ kind: 'error' }` so callers can skip and count it.
 */
import { createReadStream } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import unbzip2 from 'unbzip2-stream';
import {
  type Afi,
  addressToString,
  type BgpMessage,
  decodeAttributes,
  decodeBgpMessage,
  ipv4ToString,
  MrtDecodeError,
  type PathAttributes,
  type Prefix,
  readPrefix,
} from './bgp.js';

export class MrtFormatError extends Error {
  constructor(
    message: string,
    readonly offset: number,
    readonly recordIndex: number,
  ) {
    super(`MRT record #${recordIndex} at byte offset ${offset}: ${message}`);
  }
}

export interface MrtHeader {
  /** Seconds since the epoch. */
  timestamp: number;
  /** Microseconds from the _ET extended header, else 0. */
  microseconds: number;
  type: number;
  subtype: number;
  /** Body length as given in the header (for _ET, includes the 4 microsecond bytes). */
  length: number;
  /** Byte offset of the header in the decompressed stream. */
  offset: number;
  /** 0-based record number in the stream. */
  index: number;
}

export interface PeerEntry {
  bgpId: string;
  address: string;
  afi: Afi;
  asn: number;
}

export interface PeerIndexTable {
  kind: 'peer_index_table';
  header: MrtHeader;
  collectorId: string;
  viewName: string;
  peers: PeerEntry[];
}

export interface RibEntry {
  peerIndex: number;
  /** The peer from the preceding PEER_INDEX_TABLE, when there was one. */
  peer?: PeerEntry;
  originatedTime: number;
  pathId?: number;
  attributes: PathAttributes;
}

export interface RibRecord {
  kind: 'rib';
  header: MrtHeader;
  sequence: number;
  prefix: Prefix;
  addPath: boolean;
  entries: RibEntry[];
}

/** TABLE_DUMP_V2 RIB_GENERIC and other subtypes we do not decode further. */
export interface RawRecord {
  kind: 'raw';
  header: MrtHeader;
  body: Uint8Array;
}

export interface TableDumpRecord {
  kind: 'table_dump';
  header: MrtHeader;
  viewNumber: number;
  sequence: number;
  prefix: Prefix;
  status: number;
  originatedTime: number;
  peerAddress: string;
  peerAs: number;
  attributes: PathAttributes;
}

export interface Bgp4mpPeer {
  peerAs: number;
  localAs: number;
  interfaceIndex: number;
  afi: Afi;
  peerAddress: string;
  localAddress: string;
}

export interface Bgp4mpStateChange extends Bgp4mpPeer {
  kind: 'bgp4mp_state';
  header: MrtHeader;
  oldState: number;
  newState: number;
}

export interface Bgp4mpMessage extends Bgp4mpPeer {
  kind: 'bgp4mp_message';
  header: MrtHeader;
  as4: boolean;
  addPath: boolean;
  message: BgpMessage;
}

export interface MrtErrorRecord {
  kind: 'error';
  header: MrtHeader;
  error: string;
}

export type MrtRecord =
  | PeerIndexTable
  | RibRecord
  | RawRecord
  | TableDumpRecord
  | Bgp4mpStateChange
  | Bgp4mpMessage
  | MrtErrorRecord;

export interface ReadMrtOptions {
  /** Default 'auto': gzip and bzip2 are recognised from their magic bytes. */
  compression?: 'auto' | 'none' | 'gzip' | 'bzip2';
  /** Largest record body accepted before the stream is declared corrupt (default 64 MiB). */
  maxRecordLength?: number;
  /**
   * Retry BGP4MP UPDATEs that fail to decode as add-path (BIRD writes add-path NLRI under the
   * plain subtypes). Default false: such records become error records.
   */
  guessAddPath?: boolean;
}

export const MRT_TYPES = {
  TABLE_DUMP: 12,
  TABLE_DUMP_V2: 13,
  BGP4MP: 16,
  BGP4MP_ET: 17,
} as const;

/** Yields the stream's bytes, decompressed according to `compression` or its magic bytes. */
async function* decompressed(
  input: Readable,
  compression: NonNullable<ReadMrtOptions['compression']>,
): AsyncGenerator<Buffer> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const head: Buffer[] = [];
  let headLen = 0;
  let done = false;
  while (compression === 'auto' && headLen < 3 && !done) {
    const r = await it.next();
    if (r.done) done = true;
    else {
      const b = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
      head.push(b);
      headLen += b.length;
    }
  }
  const first = Buffer.concat(head);
  let mode = compression;
  if (mode === 'auto') {
    if (first[0] === 0x1f && first[1] === 0x8b) mode = 'gzip';
    else if (first.subarray(0, 3).toString('latin1') === 'BZh') mode = 'bzip2';
    else mode = 'none';
  }
  async function* rest(): AsyncGenerator<Buffer> {
    if (first.length > 0) yield first;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    }
  }
  if (mode === 'none') {
    yield* rest();
    return;
  }
  const source = Readable.from(rest());
  // unbzip2-stream returns an old-style through stream; a PassThrough gives it async iteration.
  const decoder = mode === 'gzip' ? createGunzip() : unbzip2();
  const out = new PassThrough();
  source.on('error', (e) => out.destroy(e));
  decoder.on('error', (e: Error) => out.destroy(e));
  source.pipe(decoder).pipe(out);
  try {
    for await (const chunk of out as AsyncIterable<Buffer>) yield chunk;
  } catch (e) {
    throw new Error(`${mode} decompression failed: ${(e as Error).message}`);
  } finally {
    source.destroy();
  }
}

/** Reads MRT records from a Readable (plain, gzip or bzip2), destroying it when done or abandoned. */
export async function* readMrt(input: Readable, options: ReadMrtOptions = {}): AsyncGenerator<MrtRecord> {
  const maxLen = options.maxRecordLength ?? 64 * 1024 * 1024;
  const state: DecodeState = { guessAddPath: options.guessAddPath ?? false };
  let buf: Buffer = Buffer.alloc(0);
  let offset = 0; // stream offset of buf[0]
  let index = 0;
  try {
    yield* frame();
  } finally {
    // Also when the caller stops early: release the file or socket behind the input.
    input.destroy();
  }

  async function* frame(): AsyncGenerator<MrtRecord> {
    for await (const chunk of decompressed(input, options.compression ?? 'auto')) {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      let pos = 0;
      for (;;) {
        if (buf.length - pos < 12) break;
        const length = buf.readUInt32BE(pos + 8);
        if (length > maxLen) {
          throw new MrtFormatError(
            `record length ${length} exceeds the ${maxLen}-byte limit (corrupt header?)`,
            offset + pos,
            index,
          );
        }
        if (buf.length - pos < 12 + length) break;
        const header: MrtHeader = {
          timestamp: buf.readUInt32BE(pos),
          microseconds: 0,
          type: buf.readUInt16BE(pos + 4),
          subtype: buf.readUInt16BE(pos + 6),
          length,
          offset: offset + pos,
          index,
        };
        const body = buf.subarray(pos + 12, pos + 12 + length);
        yield decodeRecord(header, body, state);
        pos += 12 + length;
        index++;
      }
      buf = buf.subarray(pos);
      offset += pos;
    }
    if (buf.length > 0) {
      if (buf.length < 12) {
        throw new MrtFormatError(
          `truncated header: ${buf.length} of 12 bytes before end of input`,
          offset,
          index,
        );
      }
      throw new MrtFormatError(
        `truncated body: ${buf.length - 12} of ${buf.readUInt32BE(8)} bytes before end of input`,
        offset,
        index,
      );
    }
  }
}

/** Opens a file (plain, .gz or .bz2, detected by content) and reads its records. */
export function readMrtFile(file: string, options: ReadMrtOptions = {}): AsyncGenerator<MrtRecord> {
  return readMrt(createReadStream(file, { highWaterMark: 256 * 1024 }), options);
}

export interface DecodeState {
  /** Peers of the latest PEER_INDEX_TABLE. */
  peers?: PeerEntry[];
  guessAddPath?: boolean;
}

/** Decodes one record body; decoding problems become an error record rather than a throw. */
export function decodeRecord(header: MrtHeader, body: Uint8Array, state: DecodeState = {}): MrtRecord {
  try {
    return decodeRecordOrThrow(header, body, state);
  } catch (e) {
    if (e instanceof MrtDecodeError) {
      return {
        kind: 'error',
        header,
        error: `MRT record #${header.index} (type ${header.type}/${header.subtype}) at byte offset ${header.offset}: ${e.message}`,
      };
    }
    throw e;
  }
}

class Cursor {
  pos = 0;
  private readonly dv: DataView;
  constructor(
    readonly buf: Uint8Array,
    readonly what: string,
  ) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  need(n: number, field: string): void {
    if (this.pos + n > this.buf.length) {
      throw new MrtDecodeError(
        `${this.what} ${field}: needs ${n} bytes at body offset ${this.pos} but only ${this.buf.length - this.pos} remain`,
      );
    }
  }
  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.pos++] as number;
  }
  u16(field: string): number {
    this.need(2, field);
    const v = this.dv.getUint16(this.pos);
    this.pos += 2;
    return v;
  }
  u32(field: string): number {
    this.need(4, field);
    const v = this.dv.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  bytes(n: number, field: string): Uint8Array {
    this.need(n, field);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  addr(afi: number, field: string): string {
    return addressToString(afi, this.bytes(afi === 2 ? 16 : 4, field));
  }
}

function afiOf(n: number, what: string): Afi {
  if (n !== 1 && n !== 2) throw new MrtDecodeError(`${what}: unsupported AFI ${n}`);
  return n;
}

function decodeRecordOrThrow(header: MrtHeader, body: Uint8Array, state: DecodeState): MrtRecord {
  const { type, subtype } = header;
  if (type === 12) {
    const afi = afiOf(subtype, 'TABLE_DUMP');
    const c = new Cursor(body, 'TABLE_DUMP');
    const viewNumber = c.u16('view number');
    const sequence = c.u16('sequence');
    const address = c.addr(afi, 'prefix');
    const length = c.u8('prefix length');
    const status = c.u8('status');
    const originatedTime = c.u32('originated time');
    const peerAddress = c.addr(afi, 'peer address');
    const peerAs = c.u16('peer AS');
    const alen = c.u16('attribute length');
    const attributes = decodeAttributes(c.bytes(alen, 'attributes'), { as4: false, addPath: false });
    return {
      kind: 'table_dump',
      header,
      viewNumber,
      sequence,
      prefix: { afi, address, length },
      status,
      originatedTime,
      peerAddress,
      peerAs,
      attributes,
    };
  }
  if (type === 13) {
    const c = new Cursor(body, 'TABLE_DUMP_V2');
    if (subtype === 1) {
      const collectorId = ipv4ToString(c.bytes(4, 'collector BGP ID'));
      const nameLen = c.u16('view name length');
      const viewName = Buffer.from(c.bytes(nameLen, 'view name')).toString('utf8');
      const count = c.u16('peer count');
      const peers: PeerEntry[] = [];
      for (let i = 0; i < count; i++) {
        const t = c.u8('peer type');
        const bgpId = ipv4ToString(c.bytes(4, 'peer BGP ID'));
        const afi: Afi = t & 1 ? 2 : 1;
        const address = c.addr(afi, 'peer address');
        const asn = t & 2 ? c.u32('peer AS') : c.u16('peer AS');
        peers.push({ bgpId, address, afi, asn });
      }
      state.peers = peers;
      return { kind: 'peer_index_table', header, collectorId, viewName, peers };
    }
    if (subtype >= 2 && subtype <= 5) return decodeRib(header, c, subtype <= 3 ? 1 : 2, false, state);
    if (subtype >= 8 && subtype <= 11) return decodeRib(header, c, subtype <= 9 ? 1 : 2, true, state);
    if (subtype === 6 || subtype === 12) {
      // RIB_GENERIC(_ADDPATH): decoded when the AFI/SAFI pair is plain unicast or multicast.
      c.pos = 4;
      const afi = c.u16('AFI');
      const safi = c.u8('SAFI');
      if ((afi === 1 || afi === 2) && (safi === 1 || safi === 2)) {
        return decodeRib(header, c, afi, subtype === 12, state, true);
      }
    }
    return { kind: 'raw', header, body: body.slice() };
  }
  if (type === 16 || type === 17) {
    let b = body;
    if (type === 17) {
      if (b.length < 4) throw new MrtDecodeError('BGP4MP_ET microsecond field is missing');
      header.microseconds = new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
      b = b.subarray(4);
    }
    const c = new Cursor(b, 'BGP4MP');
    const as4 = subtype === 4 || subtype === 5 || subtype === 7 || subtype === 9 || subtype === 11;
    const isState = subtype === 0 || subtype === 5;
    const isMessage = [1, 4, 6, 7, 8, 9, 10, 11].includes(subtype);
    if (!isState && !isMessage) return { kind: 'raw', header, body: body.slice() };
    const peerAs = as4 ? c.u32('peer AS') : c.u16('peer AS');
    const localAs = as4 ? c.u32('local AS') : c.u16('local AS');
    const interfaceIndex = c.u16('interface index');
    const afi = afiOf(c.u16('address family'), 'BGP4MP');
    const peerAddress = c.addr(afi, 'peer address');
    const localAddress = c.addr(afi, 'local address');
    const peer = { peerAs, localAs, interfaceIndex, afi, peerAddress, localAddress };
    if (isState) {
      const oldState = c.u16('old state');
      const newState = c.u16('new state');
      return { kind: 'bgp4mp_state', header, ...peer, oldState, newState };
    }
    const addPath = subtype >= 8;
    const message = decodeBgpMessage(c.bytes(b.length - c.pos, 'BGP message'), {
      as4,
      addPath,
      guessAddPath: state.guessAddPath ?? false,
    });
    return { kind: 'bgp4mp_message', header, ...peer, as4, addPath, message };
  }
  return { kind: 'raw', header, body: body.slice() };
}

function decodeRib(
  header: MrtHeader,
  c: Cursor,
  afi: Afi,
  addPath: boolean,
  state: DecodeState,
  generic = false,
): RibRecord {
  c.pos = 0;
  const sequence = c.u32('sequence number');
  if (generic) c.pos += 3;
  const { prefix, end } = readPrefix(c.buf, c.pos, afi, false);
  c.pos = end;
  const count = c.u16('entry count');
  const entries: RibEntry[] = [];
  for (let i = 0; i < count; i++) {
    const peerIndex = c.u16('peer index');
    const originatedTime = c.u32('originated time');
    const pathId = addPath ? c.u32('path identifier') : undefined;
    const alen = c.u16('attribute length');
    const attributes = decodeAttributes(c.bytes(alen, 'attributes'), {
      as4: true,
      addPath: false,
      ribEntry: true,
    });
    const entry: RibEntry = { peerIndex, originatedTime, attributes };
    const peer = state.peers?.[peerIndex];
    if (peer) entry.peer = peer;
    if (pathId !== undefined) entry.pathId = pathId;
    entries.push(entry);
  }
  return { kind: 'rib', header, sequence, prefix, addPath, entries };
}
