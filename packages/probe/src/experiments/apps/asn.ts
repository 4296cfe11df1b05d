/**
 * Address ownership for checks such as Messenger's (is every answer in Facebook's AS32934?): an
 * IP→ASN table from a CSV file (`start,end,asn` per line, IPv4 or IPv6, inclusive) and the
 * catalog's `asn_prefixes`. The file wins where both know an address.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

interface Range {
  start: bigint;
  end: bigint;
  asn: number;
}

/** An IPv4 or IPv6 literal as a number in one space (IPv4 mapped into ::ffff:0:0/96); null if not one. */
export function ipToBigInt(ip: string): bigint | null {
  const family = isIP(ip);
  if (family === 4) {
    const v4 = ip.split('.').reduce((n, part) => (n << 8n) | BigInt(Number(part)), 0n);
    return 0xffff00000000n | v4;
  }
  if (family !== 6) return null;
  let text = ip.split('%')[0]!.toLowerCase();
  // A dotted IPv4 tail becomes two groups.
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const n = tail[1]!.split('.').map(Number);
    text = `${text.slice(0, -tail[1]!.length)}${((n[0]! << 8) | n[1]!).toString(16)}:${((n[2]! << 8) | n[3]!).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const left = groups(head);
  const right = groups(rest);
  const all =
    rest === undefined
      ? left
      : [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  if (all.length !== 8) return null;
  return all.reduce((n, g) => (n << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}

/** "1.2.3.0/24" (or a single address) as an inclusive range. */
export function prefixRange(prefix: string): { start: bigint; end: bigint } | null {
  const [ip, bitsText] = prefix.split('/');
  const start = ip ? ipToBigInt(ip) : null;
  if (start === null || !ip) return null;
  const width = isIP(ip) === 4 ? 32 : 128;
  const bits = bitsText === undefined ? width : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > width) return null;
  const hostBits = BigInt(width - bits);
  const mask = (1n << hostBits) - 1n;
  return { start: start & ~mask, end: (start & ~mask) | mask };
}

export class AsnTable {
  private readonly ranges: Range[] = [];

  /** Adds a range; later additions win over earlier ones where they overlap. */
  add(start: bigint, end: bigint, asn: number): void {
    this.ranges.push({ start, end, asn });
  }

  addPrefixes(prefixes: Record<string, string[]>): void {
    for (const [asn, list] of Object.entries(prefixes))
      for (const p of list) {
        const range = prefixRange(p);
        if (range) this.add(range.start, range.end, Number(asn));
      }
  }

  /**
   * Reads a CSV of `start,end,asn` lines (a header line, blank lines and `#` comments are
   * skipped; `AS` before the number is allowed). Throws naming the first bad line.
   */
  addCSV(text: string, file = '(asn table)'): void {
    text.split(/\r?\n/).forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const [startText, endText, asnText] = line.split(',').map((s) => s.trim());
      const start = startText ? ipToBigInt(startText) : null;
      const end = endText ? ipToBigInt(endText) : null;
      const asn = Number((asnText ?? '').replace(/^AS/i, ''));
      if (start === null || end === null || !Number.isInteger(asn) || asn < 0) {
        if (i === 0) return; // a header
        throw new Error(`${file}:${i + 1}: expected start,end,asn (two IP addresses and a number)`);
      }
      this.add(start, end, asn);
    });
  }

  /** The ASN of IP, or null when no range covers it. The most recently added covering range wins. */
  lookup(ip: string): number | null {
    const value = ipToBigInt(ip);
    if (value === null) return null;
    for (let i = this.ranges.length - 1; i >= 0; i--) {
      const r = this.ranges[i]!;
      if (value >= r.start && value <= r.end) return r.asn;
    }
    return null;
  }

  get size(): number {
    return this.ranges.length;
  }
}

/** The catalog's prefixes, then the CSV file's ranges (which win). */
export function loadAsnTable(prefixes: Record<string, string[]>, csvFile?: string): AsnTable {
  const table = new AsnTable();
  table.addPrefixes(prefixes);
  if (csvFile !== undefined) table.addCSV(readFileSync(csvFile, 'utf8'), csvFile);
  return table;
}
