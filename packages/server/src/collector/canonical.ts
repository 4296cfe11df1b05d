/**
 * RFC 8785 (JCS) canonical JSON of a parsed measurement, fast when it is already in canonical
 * order, which is how probes send it (they sign and keep the canonical text).
 *
 * JCS is JSON.stringify's output (same string escaping, same number formatting) with object
 * members sorted by UTF-16 code units, no lone surrogates and no non-finite numbers. So when a
 * walk finds every object's members already in that order and every number finite, V8's native
 * JSON.stringify produces the canonical text, at about half the cost of core's canonicalJSON.
 * Anything else (unsorted members, integer-like keys that JS enumerates first, a possible lone
 * surrogate) takes core's canonicalJSON, which is the reference: both give the same bytes, which
 * the tests check.
 */
import { canonicalJSON } from '@pharos/core';

/** Deeper than any real measurement (OONI's nest about 8 levels) and far from the stack limit. */
export const MAX_DEPTH = 64;

export class MeasurementShapeError extends Error {}

// JSON.stringify writes a lone surrogate as an escape; a literal backslash followed by "ud8"… is
// written with a doubled backslash, which this also matches: a harmless fall back to the slow path.
const ESCAPED_SURROGATE = /\\u[dD][89a-fA-F]/;

/** The canonical JSON text of a value parsed from JSON. Throws on non-JSON values or deep nesting. */
export function canonicalize(value: unknown): string {
  const sorted = inspect(value, 0);
  if (sorted) {
    const text = JSON.stringify(value);
    if (!ESCAPED_SURROGATE.test(text)) return text;
  }
  return canonicalJSON(value);
}

/**
 * Walks the whole value (so depth and numbers are always checked) and returns whether every
 * object's members are enumerated in canonical order.
 */
function inspect(value: unknown, depth: number): boolean {
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw new MeasurementShapeError('has a number too large for JSON (e.g. 1e400)');
    return true;
  }
  if (value === null || typeof value !== 'object') return true;
  if (depth >= MAX_DEPTH) throw new MeasurementShapeError(`is nested deeper than ${MAX_DEPTH} levels`);
  let sorted = true;
  if (Array.isArray(value)) {
    for (const item of value) if (!inspect(item, depth + 1)) sorted = false;
    return sorted;
  }
  let previous: string | undefined;
  for (const key in value) {
    if (previous !== undefined && !(previous < key)) sorted = false;
    previous = key;
    if (!inspect((value as Record<string, unknown>)[key], depth + 1)) sorted = false;
  }
  return sorted;
}
