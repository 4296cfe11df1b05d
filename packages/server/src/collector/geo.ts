/**
 * The network a submission comes from, derived from the client address with two public datasets
 * (ip-location-db, frozen npm snapshots): @ip-location-db/asn (RouteViews, NRO and DB-IP data,
 * CC BY 4.0) for the AS number and @ip-location-db/geo-whois-asn-country (NRO, CC0) for the
 * country. The address itself goes no further than this module's lookup.
 *
 * About 1.1 million ranges are parsed once, in slices that yield to the event loop, so the server
 * keeps answering while they load (about a second on the project machine; logged at start).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { isBogon } from '@pharos/core';
import { parseDecimalAt, parseIPv4, parseIPv6, parseIPv6At, RangeTable, type Words } from './ip-ranges.js';

export interface NetworkOrigin {
  /** ISO 3166-1 alpha-2, or null when unknown (private address, not in the dataset). */
  cc: string | null;
  asn: number | null;
}

export interface IPLocator {
  lookup(ip: string): NetworkOrigin;
}

export const UNKNOWN_ORIGIN: NetworkOrigin = Object.freeze({ cc: null, asn: null });

export interface IPDatasetFiles {
  asnV4: string;
  asnV6: string;
  countryV4: string;
  countryV6: string;
}

/** The CSV files inside the installed dataset packages. */
export function defaultDatasetFiles(): IPDatasetFiles {
  const require = createRequire(import.meta.url);
  const dir = (pkg: string) => path.dirname(require.resolve(`${pkg}/package.json`));
  const asn = dir('@ip-location-db/asn');
  const country = dir('@ip-location-db/geo-whois-asn-country');
  return {
    asnV4: path.join(asn, 'asn-ipv4-num.csv'),
    asnV6: path.join(asn, 'asn-ipv6.csv'),
    countryV4: path.join(country, 'geo-whois-asn-country-ipv4-num.csv'),
    countryV6: path.join(country, 'geo-whois-asn-country-ipv6.csv'),
  };
}

/** Lookups over loaded tables. */
export class RangeLocator implements IPLocator {
  constructor(
    private readonly tables: { asnV4: RangeTable; asnV6: RangeTable; ccV4: RangeTable; ccV6: RangeTable },
  ) {}

  lookup(ip: string): NetworkOrigin {
    if (isBogon(ip)) return UNKNOWN_ORIGIN;
    const v4 = parseIPv4(ip);
    if (v4 !== null) return this.found(this.tables.asnV4.lookup([v4]), this.tables.ccV4.lookup([v4]));
    const v6 = parseIPv6(ip);
    if (v6 === null) return UNKNOWN_ORIGIN;
    // ::ffff:a.b.c.d is an IPv4 client on a dual-stack socket.
    if (v6[0] === 0 && v6[1] === 0 && v6[2] === 0xffff) {
      return this.found(this.tables.asnV4.lookup([v6[3]!]), this.tables.ccV4.lookup([v6[3]!]));
    }
    return this.found(this.tables.asnV6.lookup(v6), this.tables.ccV6.lookup(v6));
  }

  private found(asn: number | null, cc: number | null): NetworkOrigin {
    return {
      asn: asn === null || asn === 0 ? null : asn,
      cc: cc === null ? null : String.fromCharCode(cc >> 8, cc & 0xff),
    };
  }
}

/** Loads the four CSV files into a locator, yielding to the event loop every few milliseconds. */
export async function loadIPDatasets(files: IPDatasetFiles = defaultDatasetFiles()): Promise<RangeLocator> {
  const [asnV4, asnV6, ccV4, ccV6] = await Promise.all([
    readFile(files.asnV4, 'latin1'),
    readFile(files.asnV6, 'latin1'),
    readFile(files.countryV4, 'latin1'),
    readFile(files.countryV6, 'latin1'),
  ]);
  return new RangeLocator({
    asnV4: await parseTable(asnV4, 1, files.asnV4, parseASN),
    asnV6: await parseTable(asnV6, 4, files.asnV6, parseASN),
    ccV4: await parseTable(ccV4, 1, files.countryV4, parseCountry),
    ccV6: await parseTable(ccV6, 4, files.countryV6, parseCountry),
  });
}

/** An AS number field (0: none). */
function parseASN(text: string, start: number, end: number): number | null {
  const n = parseDecimalAt(text, start, end);
  return n < 0 ? null : n;
}

/** A country field, two capital letters packed in 16 bits. */
function parseCountry(text: string, start: number, end: number): number | null {
  const a = text.charCodeAt(start);
  const b = text.charCodeAt(start + 1);
  const upper = (c: number) => c >= 65 && c <= 90;
  return end - start === 2 && upper(a) && upper(b) ? (a << 8) | b : null;
}

/** `start,end,value[,...]` lines; IPv4 files are numeric, IPv6 files are text addresses. */
async function parseTable(
  text: string,
  width: 1 | 4,
  file: string,
  parseValue: (text: string, start: number, end: number) => number | null,
): Promise<RangeTable> {
  const table = new RangeTable(width, 1 << 16);
  // IPv4 numbers go through two reused one-word arrays: no allocation per line.
  const v4Start: Words = [0];
  const v4End: Words = [0];
  const address = (from: number, to: number, into: Words): Words | null => {
    if (width === 4) return parseIPv6At(text, from, to);
    const n = parseDecimalAt(text, from, to);
    if (!(n >= 0 && n <= 0xffffffff)) return null;
    into[0] = n;
    return into;
  };
  let pos = 0;
  let line = 0;
  let sliceStarted = performance.now();
  while (pos < text.length) {
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = text.length;
    line++;
    const c1 = text.indexOf(',', pos);
    const c2 = c1 < 0 ? -1 : text.indexOf(',', c1 + 1);
    if (c1 > 0 && c2 > 0 && c2 < eol) {
      let c3 = text.indexOf(',', c2 + 1);
      if (c3 < 0 || c3 > eol) c3 = text.charCodeAt(eol - 1) === 13 ? eol - 1 : eol;
      const start = address(pos, c1, v4Start);
      const end = address(c1 + 1, c2, v4End);
      const value = parseValue(text, c2 + 1, c3);
      if (!start || !end || value === null) throw new Error(`${file}:${line}: not start,end,value`);
      table.add(start, end, value);
    } else if (eol > pos && text.slice(pos, eol).trim() !== '') {
      throw new Error(`${file}:${line}: not start,end,value`);
    }
    pos = eol + 1;
    // Let requests in between slices: a few ms of parsing at a time.
    if ((line & 0x3ff) === 0 && performance.now() - sliceStarted > 8) {
      await yieldToLoop();
      sliceStarted = performance.now();
    }
  }
  return table;
}

/**
 * Starts loading on first use (or when `start()` is called) and hands out the locator once it is
 * there. If the datasets cannot be loaded, every address derives to unknown and `error` says why:
 * a missing dataset must not stop the collector from taking evidence.
 */
export class LazyIPLocator {
  private loading: Promise<IPLocator> | undefined;
  loadMs: number | undefined;
  error: Error | undefined;

  constructor(
    private readonly load: () => Promise<IPLocator> = () => loadIPDatasets(),
    private readonly onLoaded: (info: { ms: number; error?: Error }) => void = () => {},
  ) {}

  start(): Promise<IPLocator> {
    if (!this.loading) {
      const started = performance.now();
      this.loading = this.load().then(
        (locator) => {
          this.loadMs = performance.now() - started;
          this.onLoaded({ ms: this.loadMs });
          return locator;
        },
        (err: Error) => {
          this.loadMs = performance.now() - started;
          this.error = err;
          this.onLoaded({ ms: this.loadMs, error: err });
          return { lookup: () => UNKNOWN_ORIGIN };
        },
      );
    }
    return this.loading;
  }

  async lookup(ip: string): Promise<NetworkOrigin> {
    return (await this.start()).lookup(ip);
  }
}
