/**
 * BGP UPDATE and path attribute decoding (RFC 4271, 4760, 6793, 7911, 1997), written from the RFCs.
 * Every reader checks its bounds and throws MrtDecodeError with a message; callers attach the record.
 */

export class MrtDecodeError extends Error {}

export type Afi = 1 | 2;

export interface Prefix {
  afi: Afi;
  /** Network address with bits past the length cleared (e.g. "10.0.0.0" or "2001:db8::"). */
  address: string;
  length: number;
  /** ADD-PATH path identifier (RFC 7911) when the session or record carries one. */
  pathId?: number;
  /** True when the encoded prefix had host bits set beyond its length (they are cleared). */
  trailingBits?: boolean;
}

export type AsPathSegmentType = 'set' | 'sequence' | 'confed_sequence' | 'confed_set';

export interface AsPathSegment {
  type: AsPathSegmentType;
  asns: number[];
}

export interface Aggregator {
  asn: number;
  address: string;
}

export interface MpReach {
  afi: number;
  safi: number;
  nextHops: string[];
  nlri: Prefix[];
  /** NLRI of other SAFIs (e.g. L3VPN), undecoded. */
  rawNlri?: Uint8Array;
}

export interface MpUnreach {
  afi: number;
  safi: number;
  withdrawn: Prefix[];
  rawNlri?: Uint8Array;
}

export interface PathAttributes {
  origin?: 'IGP' | 'EGP' | 'INCOMPLETE';
  /** AS_PATH as encoded; see `asPath` for the AS4_PATH-merged view. */
  rawAsPath?: AsPathSegment[];
  as4Path?: AsPathSegment[];
  /** Effective AS path: AS_PATH merged with AS4_PATH per RFC 6793 section 4.2.3. */
  asPath?: AsPathSegment[];
  nextHop?: string;
  med?: number;
  localPref?: number;
  atomicAggregate?: boolean;
  aggregator?: Aggregator;
  as4Aggregator?: Aggregator;
  communities?: number[];
  mpReach?: MpReach;
  mpUnreach?: MpUnreach;
  /** Attribute type codes seen but not decoded, with their raw bytes. */
  unknown?: { type: number; flags: number; data: Uint8Array }[];
}

export interface BgpUpdate {
  type: 'update';
  withdrawn: Prefix[];
  attributes: PathAttributes;
  nlri: Prefix[];
  /** Path identifiers were found although the record subtype did not announce add-path. */
  addPathGuessed?: boolean;
}

export interface BgpOtherMessage {
  type: 'open' | 'notification' | 'keepalive' | 'route-refresh' | 'unknown';
  code: number;
  body: Uint8Array;
}

export type BgpMessage = BgpUpdate | BgpOtherMessage;

export interface DecodeOptions {
  /** AS numbers in AS_PATH and AGGREGATOR are 4 bytes (AS4 sessions, TABLE_DUMP_V2). */
  as4: boolean;
  /** Prefixes carry a 4-byte path identifier (RFC 7911). */
  addPath: boolean;
  /** TABLE_DUMP_V2 RIB entries may abbreviate MP_REACH_NLRI to next-hop length + next hop. */
  ribEntry?: boolean;
  /** Retry an UPDATE that fails to decode as if it carried add-path identifiers (see below). */
  guessAddPath?: boolean;
}

function need(buf: Uint8Array, at: number, n: number, what: string): void {
  if (at + n > buf.length) {
    throw new MrtDecodeError(`${what}: needs ${n} bytes at ${at} but only ${buf.length - at} remain`);
  }
}

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

export function ipv4ToString(b: Uint8Array, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/**
 * IPv6 text as bgpdump prints it: lower-case hex, the longest run of zero groups (even a single
 * one, first on ties) as "::", and ::ffff:a.b.c.d / ::a.b.c.d for IPv4-mapped and -compatible.
 */
export function ipv6ToString(b: Uint8Array, at = 0): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(((b[at + 2 * i] ?? 0) << 8) | (b[at + 2 * i + 1] ?? 0));
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (curBase === -1) {
        curBase = i;
        curLen = 1;
      } else curLen++;
      if (curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
    } else curBase = -1;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      out += ipv4ToString(b, at + 12);
      break;
    }
    out += (words[i] as number).toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) out += ':';
  return out;
}

export function addressToString(afi: number, b: Uint8Array, at = 0): string {
  return afi === 2 ? ipv6ToString(b, at) : ipv4ToString(b, at);
}

/** Reads one encoded prefix (length byte + minimal bytes) at `at`; returns the prefix and its end. */
export function readPrefix(
  buf: Uint8Array,
  at: number,
  afi: Afi,
  addPath: boolean,
): { prefix: Prefix; end: number } {
  let pos = at;
  let pathId: number | undefined;
  if (addPath) {
    need(buf, pos, 4, 'NLRI path identifier');
    pathId = view(buf).getUint32(pos);
    pos += 4;
  }
  need(buf, pos, 1, 'NLRI prefix length');
  const length = buf[pos] as number;
  pos++;
  const maxBits = afi === 2 ? 128 : 32;
  if (length > maxBits) {
    throw new MrtDecodeError(`NLRI prefix length ${length} exceeds ${maxBits} bits at ${pos - 1}`);
  }
  const nbytes = (length + 7) >> 3;
  need(buf, pos, nbytes, `NLRI prefix /${length}`);
  const addr = new Uint8Array(afi === 2 ? 16 : 4);
  addr.set(buf.subarray(pos, pos + nbytes));
  let trailingBits = false;
  if (length % 8 !== 0) {
    const mask = (0xff << (8 - (length % 8))) & 0xff;
    const last = nbytes - 1;
    if (((addr[last] as number) & ~mask) !== 0) trailingBits = true;
    addr[last] = (addr[last] as number) & mask;
  }
  const prefix: Prefix = { afi, address: addressToString(afi, addr), length };
  if (pathId !== undefined) prefix.pathId = pathId;
  if (trailingBits) prefix.trailingBits = true;
  return { prefix, end: pos + nbytes };
}

export function readPrefixes(buf: Uint8Array, afi: Afi, addPath: boolean): Prefix[] {
  const out: Prefix[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const { prefix, end } = readPrefix(buf, pos, afi, addPath);
    out.push(prefix);
    pos = end;
  }
  return out;
}

const SEGMENT_TYPES: Record<number, AsPathSegmentType> = {
  1: 'set',
  2: 'sequence',
  3: 'confed_sequence',
  4: 'confed_set',
};

function readAsPath(data: Uint8Array, asSize: 2 | 4, what: string): AsPathSegment[] {
  const dv = view(data);
  const segs: AsPathSegment[] = [];
  let pos = 0;
  while (pos < data.length) {
    need(data, pos, 2, `${what} segment header`);
    const t = data[pos] as number;
    const count = data[pos + 1] as number;
    pos += 2;
    const type = SEGMENT_TYPES[t];
    if (!type) throw new MrtDecodeError(`${what} has unknown segment type ${t}`);
    need(data, pos, count * asSize, `${what} segment of ${count} ASNs`);
    const asns: number[] = [];
    for (let i = 0; i < count; i++) {
      asns.push(asSize === 4 ? dv.getUint32(pos) : dv.getUint16(pos));
      pos += asSize;
    }
    segs.push({ type, asns });
  }
  return segs;
}

/** Path length counted per RFC 4271 9.1.2.2: a set counts 1, confederation segments 0. */
function pathLength(segs: AsPathSegment[]): number {
  let n = 0;
  for (const s of segs) {
    if (s.type === 'sequence') n += s.asns.length;
    else if (s.type === 'set') n += 1;
  }
  return n;
}

/** RFC 6793 4.2.3: keep the leading AS_PATH ASNs and replace the tail with AS4_PATH. */
export function mergeAs4Path(asPath: AsPathSegment[], as4Path: AsPathSegment[]): AsPathSegment[] {
  const n = pathLength(asPath);
  const m = pathLength(as4Path);
  if (n < m) return asPath;
  let keep = n - m;
  const out: AsPathSegment[] = [];
  for (const seg of asPath) {
    if (keep <= 0) break;
    if (seg.type === 'sequence') {
      const take = seg.asns.slice(0, keep);
      out.push({ type: 'sequence', asns: take });
      keep -= take.length;
    } else if (seg.type === 'set') {
      out.push(seg);
      keep -= 1;
    } else out.push(seg);
  }
  for (const seg of as4Path) {
    const last = out[out.length - 1];
    if (seg.type === 'sequence' && last && last.type === 'sequence') {
      out[out.length - 1] = { type: 'sequence', asns: [...last.asns, ...seg.asns] };
    } else out.push(seg);
  }
  return out;
}

function readMpNextHops(afi: number, data: Uint8Array, at: number, len: number, safi = 1): string[] {
  need(data, at, len, 'MP_REACH_NLRI next hop');
  const hops: string[] = [];
  // SAFI 128/129 (L3VPN, RFC 4364) put an 8-byte route distinguisher before each address.
  const rd = safi === 128 || safi === 129 ? 8 : 0;
  const width = (afi === 2 ? 16 : 4) + rd;
  for (let p = at; p + width <= at + len; p += width) hops.push(addressToString(afi, data, p + rd));
  return hops;
}

/** Only unicast and multicast NLRI are plain prefixes; other SAFIs are kept as raw bytes. */
function isPlainPrefixes(afi: number, safi: number): afi is Afi {
  return (afi === 1 || afi === 2) && (safi === 1 || safi === 2);
}

function decodeMpReach(data: Uint8Array, opts: DecodeOptions): MpReach {
  // TABLE_DUMP_V2 may store only "next hop length, next hop" (RFC 6396 4.3.4).
  if (opts.ribEntry && data.length >= 1 && (data[0] as number) + 1 === data.length) {
    const len = data[0] as number;
    const afi = len === 4 ? 1 : 2;
    return { afi, safi: 1, nextHops: readMpNextHops(afi, data, 1, len), nlri: [] };
  }
  need(data, 0, 4, 'MP_REACH_NLRI header');
  const dv = view(data);
  const afi = dv.getUint16(0);
  const safi = data[2] as number;
  const nhLen = data[3] as number;
  const nextHops = readMpNextHops(afi, data, 4, nhLen, safi);
  let pos = 4 + nhLen;
  need(data, pos, 1, 'MP_REACH_NLRI reserved byte');
  pos += 1;
  if (!isPlainPrefixes(afi, safi)) return { afi, safi, nextHops, nlri: [], rawNlri: data.slice(pos) };
  return { afi, safi, nextHops, nlri: readPrefixes(data.subarray(pos), afi, opts.addPath) };
}

function decodeMpUnreach(data: Uint8Array, opts: DecodeOptions): MpUnreach {
  need(data, 0, 3, 'MP_UNREACH_NLRI header');
  const afi = view(data).getUint16(0);
  const safi = data[2] as number;
  if (!isPlainPrefixes(afi, safi)) return { afi, safi, withdrawn: [], rawNlri: data.slice(3) };
  return { afi, safi, withdrawn: readPrefixes(data.subarray(3), afi, opts.addPath) };
}

function readAggregator(data: Uint8Array, asSize: 2 | 4, what: string): Aggregator {
  need(data, 0, asSize + 4, what);
  const dv = view(data);
  const asn = asSize === 4 ? dv.getUint32(0) : dv.getUint16(0);
  return { asn, address: ipv4ToString(data, asSize) };
}

const ORIGINS = ['IGP', 'EGP', 'INCOMPLETE'] as const;

export function decodeAttributes(buf: Uint8Array, opts: DecodeOptions): PathAttributes {
  const attrs: PathAttributes = {};
  const dv = view(buf);
  const asSize: 2 | 4 = opts.as4 ? 4 : 2;
  let pos = 0;
  while (pos < buf.length) {
    need(buf, pos, 2, 'path attribute header');
    const flags = buf[pos] as number;
    const type = buf[pos + 1] as number;
    pos += 2;
    const extended = (flags & 0x10) !== 0;
    need(buf, pos, extended ? 2 : 1, `path attribute ${type} length`);
    const len = extended ? dv.getUint16(pos) : (buf[pos] as number);
    pos += extended ? 2 : 1;
    need(buf, pos, len, `path attribute ${type} value`);
    const data = buf.subarray(pos, pos + len);
    pos += len;
    switch (type) {
      case 1: {
        need(data, 0, 1, 'ORIGIN');
        const o = ORIGINS[data[0] as number];
        if (!o) throw new MrtDecodeError(`ORIGIN has unknown value ${data[0]}`);
        attrs.origin = o;
        break;
      }
      case 2:
        attrs.rawAsPath = readAsPath(data, asSize, 'AS_PATH');
        break;
      case 3:
        need(data, 0, 4, 'NEXT_HOP');
        attrs.nextHop = ipv4ToString(data);
        break;
      case 4:
        need(data, 0, 4, 'MULTI_EXIT_DISC');
        attrs.med = view(data).getUint32(0);
        break;
      case 5:
        need(data, 0, 4, 'LOCAL_PREF');
        attrs.localPref = view(data).getUint32(0);
        break;
      case 6:
        attrs.atomicAggregate = true;
        break;
      case 7:
        // Some 2-byte sessions still send 8-byte AGGREGATOR; trust the length.
        attrs.aggregator = readAggregator(data, len === 8 ? 4 : len === 6 ? 2 : asSize, 'AGGREGATOR');
        break;
      case 8: {
        if (len % 4 !== 0) throw new MrtDecodeError(`COMMUNITIES length ${len} is not a multiple of 4`);
        const cv = view(data);
        const list: number[] = [];
        for (let i = 0; i < len; i += 4) list.push(cv.getUint32(i));
        attrs.communities = list;
        break;
      }
      case 14:
        attrs.mpReach = decodeMpReach(data, opts);
        break;
      case 15:
        attrs.mpUnreach = decodeMpUnreach(data, opts);
        break;
      case 17:
        attrs.as4Path = readAsPath(data, 4, 'AS4_PATH');
        break;
      case 18:
        attrs.as4Aggregator = readAggregator(data, 4, 'AS4_AGGREGATOR');
        break;
      default:
        if (!attrs.unknown) attrs.unknown = [];
        attrs.unknown.push({ type, flags, data: data.slice() });
    }
  }
  if (attrs.rawAsPath) {
    attrs.asPath =
      attrs.as4Path && !opts.as4 ? mergeAs4Path(attrs.rawAsPath, attrs.as4Path) : attrs.rawAsPath;
  }
  return attrs;
}

/**
 * Decodes one BGP message starting with its 16-byte marker. Some writers (BIRD) store add-path
 * NLRI under the non-add-path BGP4MP subtypes; with `guessAddPath`, an UPDATE that fails to decode
 * without path identifiers is retried with them, and `addPathGuessed` marks such a success. Off by
 * default, because the guess can also turn a corrupt record into a plausible one.
 */
export function decodeBgpMessage(buf: Uint8Array, opts: DecodeOptions): BgpMessage {
  try {
    return decodeBgpMessageAs(buf, opts);
  } catch (e) {
    if (opts.addPath || !opts.guessAddPath || !(e instanceof MrtDecodeError)) throw e;
    let retry: BgpMessage;
    try {
      retry = decodeBgpMessageAs(buf, { ...opts, addPath: true });
    } catch {
      throw e;
    }
    // Accept the guess only when every prefix is then well formed (no stray host bits).
    if (retry.type !== 'update' || hasTrailingBits(retry)) throw e;
    retry.addPathGuessed = true;
    return retry;
  }
}

function hasTrailingBits(u: BgpUpdate): boolean {
  const all = [
    ...u.withdrawn,
    ...u.nlri,
    ...(u.attributes.mpReach?.nlri ?? []),
    ...(u.attributes.mpUnreach?.withdrawn ?? []),
  ];
  return all.some((p) => p.trailingBits);
}

function decodeBgpMessageAs(buf: Uint8Array, opts: DecodeOptions): BgpMessage {
  need(buf, 0, 19, 'BGP message header');
  const dv = view(buf);
  const length = dv.getUint16(16);
  const code = buf[18] as number;
  if (length < 19 || length > buf.length) {
    throw new MrtDecodeError(`BGP message length ${length} does not fit the ${buf.length} bytes`);
  }
  const body = buf.subarray(19, length);
  if (code !== 2) {
    const names = { 1: 'open', 3: 'notification', 4: 'keepalive', 5: 'route-refresh' } as const;
    const type = names[code as keyof typeof names] ?? 'unknown';
    return { type, code, body: body.slice() };
  }
  const bv = view(body);
  need(body, 0, 2, 'UPDATE withdrawn routes length');
  const wlen = bv.getUint16(0);
  need(body, 2, wlen, 'UPDATE withdrawn routes');
  const withdrawn = readPrefixes(body.subarray(2, 2 + wlen), 1, opts.addPath);
  let pos = 2 + wlen;
  need(body, pos, 2, 'UPDATE path attribute length');
  const alen = bv.getUint16(pos);
  pos += 2;
  need(body, pos, alen, 'UPDATE path attributes');
  const attributes = decodeAttributes(body.subarray(pos, pos + alen), opts);
  pos += alen;
  const nlri = readPrefixes(body.subarray(pos), 1, opts.addPath);
  return { type: 'update', withdrawn, attributes, nlri };
}
