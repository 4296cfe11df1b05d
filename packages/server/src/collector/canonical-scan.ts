/**
 * The collector's fast path: a batch body whose measurements are already RFC 8785 (JCS) canonical
 * JSON, as probes send them (they sign and keep the canonical text), is recognised in one pass
 * over its bytes, without building the measurements as objects and writing them out again.
 *
 * The scan is a strict JSON validator that accepts only canonical text inside each measurement:
 * no whitespace, members in code-unit order with no repeats, strings escaped exactly as JCS
 * escapes them, numbers exactly as ECMAScript's Number::toString writes them. When it accepts a
 * measurement, the measurement's bytes in the body are its canonical JSON: the very bytes the
 * probe signed, hashed and stored as they are. Anything it is unsure of (whitespace inside a
 * measurement, escapes in member names, non-ASCII member names, deep nesting, an unexpected
 * wrapper) makes it answer null, and the general path (parse, check, canonicalize) decides, with
 * its precise error messages; both paths accept the same batches and produce the same bytes.
 */
import { MAX_DEPTH } from './canonical.js';
import { SUBMISSION_FORMAT } from './schema.js';

/** One item of a batch, found by the scan; ranges are byte offsets into the body. */
export interface ScannedItem {
  /** The measurement's canonical JSON is body[start, end). */
  start: number;
  end: number;
  /** Where its top-level test_keys object is, or -1 when it has none (or it is not an object). */
  testKeysStart: number;
  testKeysEnd: number;
  /**
   * The members of that object, four offsets each: name start and end (inside the quotes, printable
   * ASCII), value start and end. Empty when there is no test_keys object.
   */
  testKeysMembers: number[];
  probeKey: string;
  signature: string;
}

/**
 * The scanner, made by a function that uses nothing from outside it (but JavaScript's globals and
 * Buffer): the signature threads run the same code from its source text (verify-threads.ts).
 */
export function canonicalScanner(
  maxDepth: number,
  submissionFormat: string,
): (body: Uint8Array, maxItems: number) => ScannedItem[] | null {
  const QUOTE = 0x22;
  const BACKSLASH = 0x5c;
  const COMMA = 0x2c;
  const COLON = 0x3a;
  const OPEN_OBJECT = 0x7b;
  const CLOSE_OBJECT = 0x7d;
  const OPEN_ARRAY = 0x5b;
  const CLOSE_ARRAY = 0x5d;
  const ZERO = 0x30;
  const NINE = 0x39;
  const MINUS = 0x2d;

  /** 1 for the bytes a canonical string holds as they are: U+0020 and up, but `"` and `\`. */
  const LITERAL = new Uint8Array(256);
  for (let c = 0x20; c < 256; c++) LITERAL[c] = 1;
  LITERAL[QUOTE] = 0;
  LITERAL[BACKSLASH] = 0;

  const ascii = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
  const KEY_FORMAT = ascii('format');
  const KEY_MEASUREMENTS = ascii('measurements');
  const KEY_MEASUREMENT = ascii('measurement');
  const KEY_PROBE_KEY = ascii('probe_key');
  const KEY_SIGNATURE = ascii('signature');
  const KEY_TEST_KEYS = ascii('test_keys');
  const FORMAT_VALUE = ascii(`"${submissionFormat}"`);

  /** Not canonical, or not what the fast path handles: let the general path decide. */
  const NO = -1;

  // The items of a batch body (see scanCanonicalBatch below).
  function scanCanonicalBatch(body: Uint8Array, maxItems: number): ScannedItem[] | null {
    const items: ScannedItem[] = [];
    let i = skipSpace(body, 0);
    if (body[i] !== OPEN_OBJECT) return null;
    let sawFormat = false;
    let sawMeasurements = false;
    i = skipSpace(body, i + 1);
    for (;;) {
      const keyEnd = plainKey(body, i);
      if (keyEnd === NO) return null;
      const key = [i + 1, keyEnd - 1] as const;
      i = skipSpace(body, keyEnd);
      if (body[i] !== COLON) return null;
      i = skipSpace(body, i + 1);
      if (bytesAre(body, key[0], key[1], KEY_FORMAT) && !sawFormat) {
        sawFormat = true;
        if (!bytesAre(body, i, i + FORMAT_VALUE.length, FORMAT_VALUE)) return null;
        i += FORMAT_VALUE.length;
      } else if (bytesAre(body, key[0], key[1], KEY_MEASUREMENTS) && !sawMeasurements) {
        sawMeasurements = true;
        i = scanItems(body, i, items, maxItems);
        if (i === NO) return null;
      } else {
        return null;
      }
      i = skipSpace(body, i);
      if (body[i] === COMMA) {
        i = skipSpace(body, i + 1);
        continue;
      }
      if (body[i] !== CLOSE_OBJECT) return null;
      break;
    }
    if (!sawFormat || !sawMeasurements || items.length === 0) return null;
    return skipSpace(body, i + 1) === body.length ? items : null;
  }

  /** The `measurements` array at `i`; returns the offset after it. */
  function scanItems(b: Uint8Array, i: number, items: ScannedItem[], maxItems: number): number {
    if (b[i] !== OPEN_ARRAY) return NO;
    i = skipSpace(b, i + 1);
    if (b[i] === CLOSE_ARRAY) return i + 1;
    for (;;) {
      if (items.length === maxItems) return NO;
      i = scanItem(b, i, items);
      if (i === NO) return NO;
      i = skipSpace(b, i);
      if (b[i] === COMMA) {
        i = skipSpace(b, i + 1);
        continue;
      }
      return b[i] === CLOSE_ARRAY ? i + 1 : NO;
    }
  }

  /** One item object at `i`, pushed onto `items`; returns the offset after it. */
  function scanItem(b: Uint8Array, i: number, items: ScannedItem[]): number {
    if (b[i] !== OPEN_OBJECT) return NO;
    const item: ScannedItem = {
      start: NO,
      end: NO,
      testKeysStart: NO,
      testKeysEnd: NO,
      testKeysMembers: [],
      probeKey: '',
      signature: '',
    };
    let sawKey = false;
    let sawSignature = false;
    i = skipSpace(b, i + 1);
    for (;;) {
      const keyEnd = plainKey(b, i);
      if (keyEnd === NO) return NO;
      const keyStart = i + 1;
      i = skipSpace(b, keyEnd);
      if (b[i] !== COLON) return NO;
      i = skipSpace(b, i + 1);
      if (bytesAre(b, keyStart, keyEnd - 1, KEY_MEASUREMENT) && item.start === NO) {
        if (b[i] !== OPEN_OBJECT) return NO;
        item.start = i;
        i = scanMeasurement(b, i, item);
        if (i === NO) return NO;
        item.end = i;
      } else if (bytesAre(b, keyStart, keyEnd - 1, KEY_PROBE_KEY) && !sawKey) {
        sawKey = true;
        const end = plainKey(b, i);
        if (end === NO) return NO;
        item.probeKey = latin1(b, i + 1, end - 1);
        i = end;
      } else if (bytesAre(b, keyStart, keyEnd - 1, KEY_SIGNATURE) && !sawSignature) {
        sawSignature = true;
        const end = plainKey(b, i);
        if (end === NO) return NO;
        item.signature = latin1(b, i + 1, end - 1);
        i = end;
      } else {
        return NO;
      }
      i = skipSpace(b, i);
      if (b[i] === COMMA) {
        i = skipSpace(b, i + 1);
        continue;
      }
      if (b[i] !== CLOSE_OBJECT) return NO;
      if (item.start === NO || !sawKey || !sawSignature) return NO;
      items.push(item);
      return i + 1;
    }
  }

  /** The measurement object at `i` (depth 0), noting where its test_keys object is. */
  function scanMeasurement(b: Uint8Array, i: number, item: ScannedItem): number {
    i++;
    if (b[i] === CLOSE_OBJECT) return i + 1;
    let previousStart = NO;
    let previousEnd = NO;
    for (;;) {
      const keyEnd = canonicalKey(b, i);
      if (keyEnd === NO) return NO;
      const keyStart = i + 1;
      if (previousStart !== NO && !before(b, previousStart, previousEnd, keyStart, keyEnd - 1)) return NO;
      previousStart = keyStart;
      previousEnd = keyEnd - 1;
      if (b[keyEnd] !== COLON) return NO;
      const valueStart = keyEnd + 1;
      if (b[valueStart] === OPEN_OBJECT && bytesAre(b, keyStart, keyEnd - 1, KEY_TEST_KEYS)) {
        i = object(b, valueStart, 1, item.testKeysMembers);
        if (i === NO) return NO;
        item.testKeysStart = valueStart;
        item.testKeysEnd = i;
      } else {
        i = value(b, valueStart, 1);
        if (i === NO) return NO;
      }
      if (b[i] === COMMA) {
        i++;
        continue;
      }
      return b[i] === CLOSE_OBJECT ? i + 1 : NO;
    }
  }

  /** A canonical JSON value at `i`, nested `depth` deep; returns the offset after it. */
  function value(b: Uint8Array, i: number, depth: number): number {
    const c = b[i];
    if (c === QUOTE) return string(b, i);
    if (c === OPEN_OBJECT) return object(b, i, depth);
    if (c === OPEN_ARRAY) {
      if (depth >= maxDepth) return NO;
      i++;
      if (b[i] === CLOSE_ARRAY) return i + 1;
      for (;;) {
        i = value(b, i, depth + 1);
        if (i === NO) return NO;
        if (b[i] === COMMA) {
          i++;
          continue;
        }
        return b[i] === CLOSE_ARRAY ? i + 1 : NO;
      }
    }
    if (c === 0x74) return b[i + 1] === 0x72 && b[i + 2] === 0x75 && b[i + 3] === 0x65 ? i + 4 : NO; // true
    if (c === 0x66) {
      // false
      return b[i + 1] === 0x61 && b[i + 2] === 0x6c && b[i + 3] === 0x73 && b[i + 4] === 0x65 ? i + 5 : NO;
    }
    if (c === 0x6e) return b[i + 1] === 0x75 && b[i + 2] === 0x6c && b[i + 3] === 0x6c ? i + 4 : NO; // null
    return number(b, i);
  }

  /**
   * A canonical object at `i`, nested `depth` deep; returns the offset after it. With `members`, the
   * offsets of each member's name and value are added to it (ScannedItem.testKeysMembers).
   */
  function object(b: Uint8Array, i: number, depth: number, members?: number[]): number {
    if (depth >= maxDepth) return NO;
    i++;
    if (b[i] === CLOSE_OBJECT) return i + 1;
    let previousStart = NO;
    let previousEnd = NO;
    for (;;) {
      const keyEnd = canonicalKey(b, i);
      if (keyEnd === NO) return NO;
      const keyStart = i + 1;
      if (previousStart !== NO && !before(b, previousStart, previousEnd, keyStart, keyEnd - 1)) return NO;
      previousStart = keyStart;
      previousEnd = keyEnd - 1;
      if (b[keyEnd] !== COLON) return NO;
      i = value(b, keyEnd + 1, depth + 1);
      if (i === NO) return NO;
      members?.push(keyStart, keyEnd - 1, keyEnd + 1, i);
      if (b[i] === COMMA) {
        i++;
        continue;
      }
      return b[i] === CLOSE_OBJECT ? i + 1 : NO;
    }
  }

  /** A string at `i` escaped exactly as JCS escapes it; returns the offset after its closing quote. */
  function string(b: Uint8Array, i: number): number {
    i++;
    for (;;) {
      let c = b[i]!;
      while (LITERAL[c] === 1) c = b[++i]!;
      if (c === QUOTE) return i + 1;
      // A raw control character (not JSON), the end of the body, or an escape.
      if (c !== BACKSLASH) return NO;
      const e = b[i + 1];
      // \" \\ \b \f \n \r \t
      if (
        e === QUOTE ||
        e === BACKSLASH ||
        e === 0x62 ||
        e === 0x66 ||
        e === 0x6e ||
        e === 0x72 ||
        e === 0x74
      ) {
        i += 2;
        continue;
      }
      // \u00XX, lower-case hex, for the controls without a short escape. (JSON.stringify writes a
      // lone surrogate as \udXXX too, but it is not canonical: core refuses it.)
      if (e !== 0x75 || b[i + 2] !== ZERO || b[i + 3] !== ZERO) return NO;
      const high = b[i + 4]! - ZERO;
      const low = hexDigit(b[i + 5]!);
      if ((high !== 0 && high !== 1) || low < 0) return NO;
      const code = high * 16 + low;
      if (code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d) return NO;
      i += 6;
    }
  }

  function hexDigit(c: number): number {
    if (c >= ZERO && c <= NINE) return c - ZERO;
    if (c >= 0x61 && c <= 0x66) return c - 0x57;
    return NO;
  }

  /**
   * A member name at `i` that the fast path can order by its bytes: printable ASCII, no escapes
   * (then byte order is UTF-16 code-unit order). Returns the offset after its closing quote.
   */
  function canonicalKey(b: Uint8Array, i: number): number {
    if (b[i] !== QUOTE) return NO;
    i++;
    for (;;) {
      const c = b[i];
      if (c === QUOTE) return i + 1;
      // (Past the end, c is undefined: the body ends inside the name.)
      if (c === undefined || c < 0x20 || c >= 0x7f || c === BACKSLASH) return NO;
      i++;
    }
  }

  /** The same, for the wrapper's names and the base64 strings (then read as latin1). */
  const plainKey = canonicalKey;

  /** Whether name a (bytes [as, ae)) sorts strictly before name b: repeats are not canonical. */
  function before(b: Uint8Array, as: number, ae: number, bs: number, be: number): boolean {
    const la = ae - as;
    const lb = be - bs;
    const n = Math.min(la, lb);
    for (let k = 0; k < n; k++) {
      const x = b[as + k]!;
      const y = b[bs + k]!;
      if (x !== y) return x < y;
    }
    return la < lb;
  }

  /**
   * A number at `i` spelt exactly as Number::toString spells its value. The common spellings are
   * recognised from their digits: no exponent, no leading zeros, no trailing zeros after the point,
   * not "-0", at most 15 significant digits (a decimal that short is the shortest round-trip form of
   * the double it denotes) and not below 1e-6 (which toString writes with an exponent). Anything else
   * is compared with String(Number(text)).
   */
  function number(b: Uint8Array, i: number): number {
    const start = i;
    let c = b[i];
    if (c === MINUS) c = b[++i];
    let digits = 0;
    let leadingZeros = 0;
    if (c === ZERO) {
      c = b[++i];
      if (c === undefined) return NO;
      if (i === start + 2 && c !== 0x2e) return NO; // "-0" is written "0"
    } else if (c !== undefined && c > ZERO && c <= NINE) {
      do {
        digits++;
        c = b[++i];
      } while (c !== undefined && c >= ZERO && c <= NINE);
    } else {
      return NO;
    }
    let simple = true;
    if (c === 0x2e) {
      c = b[++i];
      if (c === undefined || c < ZERO || c > NINE) return NO;
      do {
        if (digits === 0 && c === ZERO) leadingZeros++;
        else digits++;
        c = b[++i];
      } while (c !== undefined && c >= ZERO && c <= NINE);
      if (b[i - 1] === ZERO) simple = false; // trailing zero (or 0.0): toString would drop it
    }
    if (c === 0x65 || c === 0x45) {
      simple = false;
      c = b[++i];
      if (c === 0x2b || c === MINUS) c = b[++i];
      if (c === undefined || c < ZERO || c > NINE) return NO;
      do c = b[++i];
      while (c !== undefined && c >= ZERO && c <= NINE);
    }
    if (simple && digits <= 15 && leadingZeros < 6) return i;
    const text = latin1(b, start, i);
    return String(Number(text)) === text ? i : NO;
  }

  function skipSpace(b: Uint8Array, i: number): number {
    for (;;) {
      const c = b[i];
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
      i++;
    }
  }

  function bytesAre(b: Uint8Array, start: number, end: number, expected: Uint8Array): boolean {
    if (end - start !== expected.length || end > b.length) return false;
    for (let k = 0; k < expected.length; k++) if (b[start + k] !== expected[k]) return false;
    return true;
  }

  function latin1(b: Uint8Array, start: number, end: number): string {
    return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('latin1');
  }

  return scanCanonicalBatch;
}

/**
 * The items of a batch body, when it is a submission wrapper (whitespace allowed between its
 * tokens) of 1 to `maxItems` items, each exactly `measurement`, `probe_key` and `signature`, with
 * every measurement an object in canonical JSON; otherwise null. The body must be valid UTF-8
 * (checked before: the scan looks at bytes and only needs ASCII to be ASCII).
 */
export const scanCanonicalBatch = canonicalScanner(MAX_DEPTH, SUBMISSION_FORMAT);
