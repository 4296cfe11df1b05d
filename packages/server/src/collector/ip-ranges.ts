/**
 * IP range tables for address-to-network lookups: sorted, inclusive [start, end] ranges in typed
 * arrays (a few MB for the whole IPv4 and IPv6 Internet) and a binary search.
 *
 * The datasets nest ranges (a /24 inside the /16 of another country) and sometimes overlap, so a
 * lookup takes the last range starting at or before the address that still covers it: the most
 * specific one. A prefix maximum of the ends stops that backwards walk as soon as no earlier
 * range can reach the address.
 */

/** An address as 32-bit words, most significant first: 1 word for IPv4, 4 for IPv6. */
export type Words = number[];

export function parseIPv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    value = value * 256 + n;
  }
  return value;
}

/** IPv6 text (with ::, and a trailing dotted IPv4) as four 32-bit words; null if malformed. */
export function parseIPv6(text: string): Words | null {
  return parseIPv6At(text, 0, text.length);
}

/**
 * parseIPv6 of text[start, end), by character codes: the datasets hold a third of a million IPv6
 * addresses, and splitting each into strings and regular expressions took most of the load time.
 */
export function parseIPv6At(text: string, start: number, end: number): Words | null {
  const groups: number[] = [];
  let gap = -1;
  let i = start;
  if (end - start < 2 || end - start > 45) return null;
  if (text.charCodeAt(i) === COLON) {
    if (text.charCodeAt(i + 1) !== COLON) return null;
    gap = 0;
    i += 2;
  }
  while (i < end) {
    let value = 0;
    let j = i;
    for (; j < end; j++) {
      const h = hexValue(text.charCodeAt(j));
      if (h < 0) break;
      value = value * 16 + h;
    }
    if (j < end && text.charCodeAt(j) === DOT) {
      // A dotted IPv4 tail (::ffff:1.2.3.4) fills the last two groups.
      const v4 = parseIPv4(text.slice(i, end));
      if (v4 === null) return null;
      groups.push(v4 >>> 16, v4 & 0xffff);
      break;
    }
    if (j === i || j - i > 4) return null;
    groups.push(value);
    if (j === end) break;
    if (text.charCodeAt(j) !== COLON) return null;
    if (text.charCodeAt(j + 1) === COLON) {
      if (gap >= 0) return null;
      gap = groups.length;
      i = j + 2;
    } else {
      i = j + 1;
      if (i === end) return null;
    }
  }
  if (gap < 0 ? groups.length !== 8 : groups.length > 7) return null;
  if (gap >= 0) groups.splice(gap, 0, ...new Array<number>(8 - groups.length).fill(0));
  return [
    groups[0]! * 0x10000 + groups[1]!,
    groups[2]! * 0x10000 + groups[3]!,
    groups[4]! * 0x10000 + groups[5]!,
    groups[6]! * 0x10000 + groups[7]!,
  ];
}

const COLON = 58;
const DOT = 46;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** A decimal number of text[start, end) (digits only, at most 10), or -1. */
export function parseDecimalAt(text: string, start: number, end: number): number {
  if (end <= start || end - start > 10) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/** Sorted ranges of one address family, each with a 32-bit value (an ASN, or a packed country). */
export class RangeTable {
  private count = 0;
  private starts: Uint32Array;
  private ends: Uint32Array;
  private maxEnds: Uint32Array;
  private values: Uint32Array;

  /** `width`: words per address (1 for IPv4, 4 for IPv6). */
  constructor(
    readonly width: 1 | 4,
    capacity = 1024,
  ) {
    this.starts = new Uint32Array(capacity * width);
    this.ends = new Uint32Array(capacity * width);
    this.maxEnds = new Uint32Array(capacity * width);
    this.values = new Uint32Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Appends a range; ranges must come sorted by start (the datasets are). */
  add(start: Words, end: Words, value: number): void {
    const w = this.width;
    if (this.count === this.values.length) this.grow();
    const i = this.count;
    if (i > 0 && compareAt(this.starts, (i - 1) * w, start, w) > 0) {
      throw new Error(`ranges are not sorted by start (range ${i + 1})`);
    }
    // The running maximum of the ends: the previous one, unless this range reaches further.
    const keepPrevious = i > 0 && compareAt(this.maxEnds, (i - 1) * w, end, w) > 0;
    for (let k = 0; k < w; k++) {
      this.starts[i * w + k] = start[k]!;
      this.ends[i * w + k] = end[k]!;
      this.maxEnds[i * w + k] = keepPrevious ? this.maxEnds[(i - 1) * w + k]! : end[k]!;
    }
    this.values[i] = value;
    this.count++;
  }

  /** The value of the most specific range covering the address, or null. */
  lookup(address: Words): number | null {
    const w = this.width;
    // Last range whose start ≤ address.
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (compareAt(this.starts, mid * w, address, w) <= 0) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    for (let i = found; i >= 0; i--) {
      if (compareAt(this.maxEnds, i * w, address, w) < 0) return null;
      if (compareAt(this.ends, i * w, address, w) >= 0) return this.values[i]!;
    }
    return null;
  }

  private grow(): void {
    const w = this.width;
    const capacity = this.values.length * 2;
    const larger = (old: Uint32Array, size: number) => {
      const next = new Uint32Array(size);
      next.set(old);
      return next;
    };
    this.starts = larger(this.starts, capacity * w);
    this.ends = larger(this.ends, capacity * w);
    this.maxEnds = larger(this.maxEnds, capacity * w);
    this.values = larger(this.values, capacity);
  }
}

/** Sign of (table[at..at+w] − address), comparing words most significant first. */
function compareAt(table: Uint32Array, at: number, address: Words, w: number): number {
  for (let k = 0; k < w; k++) {
    const a = table[at + k]!;
    const b = address[k]!;
    if (a !== b) return a < b ? -1 : 1;
  }
  return 0;
}
