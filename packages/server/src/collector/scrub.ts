/**
 * Removing the submitter's address from a measurement, as OONI does (ooni/probe-cli
 * ScrubMeasurement): every occurrence of the address in a string, a member name, or an HTTP body
 * carried as base64 is replaced by "[scrubbed]".
 *
 * Unlike OONI's plain byte replacement, an occurrence counts only where it is the whole address:
 * with a client at 1.2.3.4, a DNS answer 11.2.3.45 is another host's address and stays as it is
 * (evidence must not be damaged beyond what privacy needs). IPv6 is matched in any letter case.
 */
import { isLoopback } from '@pharos/core';
import { parseIPv4, parseIPv6 } from './ip-ranges.js';

export const SCRUBBED = '[scrubbed]';

/** What to look for: the address as the socket gave it, and the IPv4 inside an IPv4-mapped one. */
export interface Needles {
  patterns: RegExp[];
  /** Fast pre-check on the canonical text: can any pattern be in it at all? */
  mayContain(text: string): boolean;
}

/**
 * The needles for a client address, or null when there is nothing to scrub: a loopback client
 * (the lab, tests, a local probe) has no public address to hide, and replacing 127.0.0.1 would
 * only destroy probe_ip and every local resolver address.
 */
export function needlesFor(clientIP: string): Needles | null {
  if (isLoopback(clientIP)) return null;
  const forms = new Set<string>();
  const v6 = parseIPv6(clientIP);
  if (v6 && v6[0] === 0 && v6[1] === 0 && v6[2] === 0xffff) {
    const v4 = v6[3]!;
    forms.add([v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255].join('.'));
  } else if (parseIPv4(clientIP) !== null || v6) {
    forms.add(clientIP.toLowerCase());
  } else {
    return null;
  }
  const patterns = [...forms].map((form) => {
    const escaped = form.replace(/[.]/g, '\\.');
    // Not part of a longer address: no digit (IPv4) or hex digit or colon (IPv6) on either side,
    // and no dot that continues a dotted quad.
    return form.includes(':')
      ? new RegExp(`(?<![0-9A-Fa-f:])${escaped}(?![0-9A-Fa-f:])`, 'gi')
      : new RegExp(`(?<![0-9]|[0-9]\\.)${escaped}(?![0-9]|\\.[0-9])`, 'g');
  });
  const lowered = [...forms];
  return {
    patterns,
    mayContain(text) {
      if (text.includes('"format":"base64"')) return true;
      const lower = lowered.some((f) => f.includes(':')) ? text.toLowerCase() : text;
      return lowered.some((f) => lower.includes(f));
    },
  };
}

export class ScrubError extends Error {}

/** The value with the address scrubbed (a copy where anything changed), and whether it changed. */
export function scrubValue(value: unknown, needles: Needles): { value: unknown; changed: boolean } {
  let changed = false;
  const scrubText = (text: string): string => {
    let out = text;
    for (const pattern of needles.patterns) {
      pattern.lastIndex = 0;
      if (pattern.test(out)) {
        pattern.lastIndex = 0;
        out = out.replace(pattern, SCRUBBED);
      }
    }
    if (out !== text) changed = true;
    return out;
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return scrubText(v);
    if (v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map(walk);
    const obj = v as Record<string, unknown>;
    if (obj.format === 'base64' && typeof obj.data === 'string' && Object.keys(obj).length === 2) {
      // An HTTP body or header that was not UTF-8: scrub its bytes (latin1 maps them 1:1).
      const bytes = Buffer.from(obj.data, 'base64').toString('latin1');
      const scrubbed = scrubText(bytes);
      return scrubbed === bytes
        ? obj
        : { format: 'base64', data: Buffer.from(scrubbed, 'latin1').toString('base64') };
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(obj)) {
      const name = scrubText(key);
      if (name !== key && Object.hasOwn(obj, name)) {
        throw new ScrubError(
          `member name ${JSON.stringify(key.slice(0, 60))} cannot be scrubbed without a clash`,
        );
      }
      Object.defineProperty(out, name, {
        value: walk(obj[key]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  };
  const result = walk(value);
  return { value: result, changed };
}
