/**
 * IP address literals and the "bogon" test (addresses that can never be a public web server).
 *
 * Pure TypeScript on purpose: core runs in the browser, so node:net is not available. The bogon
 * list follows the IANA special-purpose registries (RFC 6890 and successors), which is what
 * OONI's own bogon list is built from: a DNS answer inside these ranges is either a local
 * misconfiguration or a censor's sinkhole, never the site.
 */

/** Four octets of an IPv4 literal, or null. Leading zeros are refused: "010" is octal to some parsers. */
function parseIPv4Bytes(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes.push(value);
  }
  return bytes;
}

/** Sixteen bytes of an IPv6 literal (zone id allowed and ignored, embedded IPv4 tail allowed), or null. */
function parseIPv6Bytes(text: string): number[] | null {
  const zone = text.indexOf('%');
  const address = zone >= 0 ? text.slice(0, zone) : text;
  if (address.length === 0 || !address.includes(':')) return null;
  const halves = address.split('::');
  if (halves.length > 2) return null;

  const groupsOf = (half: string, allowV4Tail: boolean): number[] | null => {
    if (half === '') return [];
    const groups: number[] = [];
    const pieces = half.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      // An IPv4 tail ("::ffff:1.2.3.4") is only allowed as the very last piece.
      if (allowV4Tail && i === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIPv4Bytes(piece);
        if (!v4) return null;
        groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return null;
      groups.push(Number.parseInt(piece, 16));
    }
    return groups;
  };

  const head = groupsOf(halves[0]!, halves.length === 1);
  if (!head) return null;
  let groups: number[];
  if (halves.length === 2) {
    const tail = groupsOf(halves[1]!, true);
    if (!tail) return null;
    // "::" stands for at least one zero group.
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return null;
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return null;
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

/** True for a dotted-quad IPv4 literal such as "93.184.216.34". */
export function isIPv4(text: string): boolean {
  return parseIPv4Bytes(text) !== null;
}

/** True for an IPv6 literal such as "2001:db8::1" (without brackets; a zone id is allowed). */
export function isIPv6(text: string): boolean {
  return parseIPv6Bytes(text) !== null;
}

/** 4 or 6 for an IP literal, null for anything else (host names included). */
export function ipVersion(text: string): 4 | 6 | null {
  if (isIPv4(text)) return 4;
  if (isIPv6(text)) return 6;
  return null;
}

/** True for an IPv4 or IPv6 literal. */
export function isIP(text: string): boolean {
  return ipVersion(text) !== null;
}

interface Range {
  bytes: number[];
  prefix: number;
}

function range(cidr: string): Range {
  const [address, prefix] = cidr.split('/');
  const bytes = parseIPv4Bytes(address!) ?? parseIPv6Bytes(address!);
  if (!bytes) throw new Error(`bad built-in range ${cidr}`);
  return { bytes, prefix: Number(prefix) };
}

function inRange(bytes: number[], r: Range): boolean {
  if (bytes.length !== r.bytes.length) return false;
  let bits = r.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((bytes[i]! & mask) !== (r.bytes[i]! & mask)) return false;
  }
  return true;
}

/** IPv4 ranges that are not globally routable unicast (RFC 6890, 5737, 6598, 3927, 1918, 1112). */
const IPV4_BOGONS = [
  '0.0.0.0/8', // "this network", includes the unspecified address
  '10.0.0.0/8', // private
  '100.64.0.0/10', // carrier-grade NAT
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local
  '172.16.0.0/12', // private
  '192.0.0.0/24', // IETF protocol assignments
  '192.0.2.0/24', // documentation TEST-NET-1
  '192.88.99.0/24', // deprecated 6to4 relay anycast
  '192.168.0.0/16', // private
  '198.18.0.0/15', // benchmarking
  '198.51.100.0/24', // documentation TEST-NET-2
  '203.0.113.0/24', // documentation TEST-NET-3
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, includes 255.255.255.255 broadcast
].map(range);

/** IPv6 ranges that are not globally routable unicast (RFC 6890, 4193, 4291, 3849, 9637). */
const IPV6_BOGONS = [
  '::/128', // unspecified
  '::1/128', // loopback
  '100::/64', // discard-only
  '2001:10::/28', // deprecated ORCHID
  '2001:db8::/32', // documentation
  '3fff::/20', // documentation (RFC 9637)
  'fc00::/7', // unique local
  'fe80::/10', // link-local
  'fec0::/10', // deprecated site-local
  'ff00::/8', // multicast
].map(range);

const IPV4_LOOPBACK = range('127.0.0.0/8');
const IPV6_LOOPBACK = range('::1/128');
const IPV4_MAPPED = range('::ffff:0:0/96');
const IPV4_COMPATIBLE = range('::/96');

/**
 * The bytes to judge: an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is judged as the IPv4 address it
 * carries, because resolvers and sockets hand such addresses out for plain IPv4 destinations.
 */
function judgedBytes(text: string): number[] | null {
  const v4 = parseIPv4Bytes(text);
  if (v4) return v4;
  const v6 = parseIPv6Bytes(text);
  if (!v6) return null;
  if (inRange(v6, IPV4_MAPPED)) return v6.slice(12);
  return v6;
}

/**
 * True when the address can never be a public server: private, loopback, link-local, CGNAT,
 * multicast, reserved, unspecified, documentation, IPv6 ULA and friends. False for non-IP text.
 */
export function isBogon(ip: string): boolean {
  const bytes = judgedBytes(ip);
  if (!bytes) return false;
  const list = bytes.length === 4 ? IPV4_BOGONS : IPV6_BOGONS;
  if (list.some((r) => inRange(bytes, r))) return true;
  // Deprecated IPv4-compatible addresses (::a.b.c.d) are never routed; :: and ::1 are caught above.
  return bytes.length === 16 && inRange(bytes, IPV4_COMPATIBLE);
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback. False for non-IP text. */
export function isLoopback(ip: string): boolean {
  const bytes = judgedBytes(ip);
  if (!bytes) return false;
  return bytes.length === 4 ? inRange(bytes, IPV4_LOOPBACK) : inRange(bytes, IPV6_LOOPBACK);
}
