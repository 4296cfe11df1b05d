/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): the one byte sequence a JSON value hashes and signs as.
 *
 * - Object members are sorted by their names as arrays of UTF-16 code units (RFC 8785 §3.2.3),
 *   compared unsigned, shorter-prefix first; this is what the ECMAScript `<` operator does on strings.
 * - Numbers are written as ECMAScript's Number::toString writes them (§3.2.2.3), which is what
 *   `String(n)` does: shortest round-trip digits, exponent form from 1e21 and below 1e-6, -0 as "0".
 *   NaN and ±Infinity are not JSON and are refused.
 * - Strings (§3.2.2.2): `"` and `\` are escaped, U+0008 U+0009 U+000A U+000C U+000D as \b \t \n \f \r,
 *   the other controls below U+0020 as \u00XX with lowercase hex, everything else is written as is.
 *   Lone surrogates are refused (I-JSON requires valid Unicode, RFC 8785 §3.2.2.2).
 * - No whitespace anywhere.
 *
 * Only plain JSON data is accepted: null, booleans, finite numbers, strings, arrays and plain
 * objects. Undefined (also as an object member or array element), functions, symbols, bigints,
 * class instances (Date, Map, Uint8Array, ...) and cycles throw a CanonicalJSONError naming the path,
 * rather than being silently dropped or converted as JSON.stringify would. A JSON text parsed with
 * JSON.parse always satisfies this (except that JSON.parse keeps the last of duplicate member names,
 * which I-JSON forbids; callers that care must detect duplicates while parsing).
 */
import { utf8 } from './bytes.js';

export class CanonicalJSONError extends Error {
  /** Where in the value the problem is, as a JSONPath-like string (`$`, `$.a[2]`). */
  readonly path: string;
  constructor(path: string, problem: string) {
    super(`canonicalJSON: ${problem} at ${path}`);
    this.name = 'CanonicalJSONError';
    this.path = path;
  }
}

// Characters that need escaping: controls, quote and backslash. Checked first so most strings are copied.
const NEEDS_ESCAPE = /[\u0000-\u001f"\\]/;
// A high surrogate not followed by a low one, or a low surrogate not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const ESCAPES_GLOBAL = /[\u0000-\u001f"\\]/g;
const SHORT_ESCAPES: Record<string, string> = {
  '\b': '\\b',
  '\t': '\\t',
  '\n': '\\n',
  '\f': '\\f',
  '\r': '\\r',
  '"': '\\"',
  '\\': '\\\\',
};
function escapeChar(c: string): string {
  return SHORT_ESCAPES[c] ?? `\\u00${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
}

// String.prototype.isWellFormed (ES2024; Node 20, current browsers) is much faster than the regex.
const nativeWellFormed = (String.prototype as { isWellFormed?: () => boolean }).isWellFormed;
function isWellFormed(text: string): boolean {
  return nativeWellFormed ? nativeWellFormed.call(text) : !LONE_SURROGATE.test(text);
}

function quote(text: string, path: Path, what: string): string {
  if (!isWellFormed(text)) throw new CanonicalJSONError(pathText(path), `${what} contains a lone surrogate`);
  if (!NEEDS_ESCAPE.test(text)) return `"${text}"`;
  return `"${text.replace(ESCAPES_GLOBAL, escapeChar)}"`;
}

/** Where a value sits, built into a string only when an error is reported. */
type Path = { parent: Path; key: string | number } | null;

function pathText(path: Path): string {
  const keys: Array<string | number> = [];
  for (let p = path; p; p = p.parent) keys.unshift(p.key);
  let out = '$';
  for (const k of keys) {
    if (typeof k === 'number') out += `[${k}]`;
    else out += /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
  }
  return out;
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value === 'bigint') return 'a bigint (convert it to a number or string first)';
  const name = (value as object).constructor?.name;
  return name ? `a ${name} object` : 'a non-plain object';
}

function serialize(value: unknown, path: Path, ancestors: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return quote(value, path, 'string');
    case 'number':
      if (!Number.isFinite(value))
        throw new CanonicalJSONError(pathText(path), `${value} is not a JSON number`);
      return String(value); // ECMAScript Number::toString, as RFC 8785 §3.2.2.3 prescribes; -0 → "0"
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      throw new CanonicalJSONError(pathText(path), `${describe(value)} cannot be canonicalized`);
  }
  const obj = value as object;
  if (ancestors.has(obj)) throw new CanonicalJSONError(pathText(path), 'cycle: the value contains itself');
  ancestors.add(obj);
  let out: string;
  if (Array.isArray(obj)) {
    out = '[';
    for (let i = 0; i < obj.length; i++) {
      if (i > 0) out += ',';
      if (!(i in obj)) {
        throw new CanonicalJSONError(
          pathText({ parent: path, key: i }),
          'array hole (undefined) cannot be canonicalized',
        );
      }
      out += serialize(obj[i], { parent: path, key: i }, ancestors);
    }
    out += ']';
  } else {
    const proto = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) {
      throw new CanonicalJSONError(
        pathText(path),
        `${describe(obj)} cannot be canonicalized (only plain objects)`,
      );
    }
    if (Object.getOwnPropertySymbols(obj).length > 0) {
      throw new CanonicalJSONError(
        pathText(path),
        'object has symbol-keyed members, which JSON cannot carry',
      );
    }
    // Default sort compares UTF-16 code units, exactly the order RFC 8785 §3.2.3 requires.
    const keys = Object.keys(obj).sort();
    out = '{';
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const child: Path = { parent: path, key };
      if (i > 0) out += ',';
      out += `${quote(key, child, 'member name')}:${serialize((obj as Record<string, unknown>)[key], child, ancestors)}`;
    }
    out += '}';
  }
  ancestors.delete(obj);
  return out;
}

/** The RFC 8785 canonical JSON text of a value. Throws CanonicalJSONError on non-JSON input. */
export function canonicalJSON(value: unknown): string {
  return serialize(value, null, new Set());
}

/** The UTF-8 bytes of the RFC 8785 canonical JSON text of a value (what gets hashed and signed). */
export function canonicalJSONBytes(value: unknown): Uint8Array {
  return utf8(canonicalJSON(value));
}
