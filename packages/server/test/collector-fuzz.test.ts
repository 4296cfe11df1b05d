/**
 * Fuzzing the collector: more than 10,000 random and mutated bodies, each checked against an
 * oracle written independently of the collector. Every answer must be 2xx exactly when the body
 * is genuinely valid, 4xx otherwise, never 5xx; and the store ends up holding exactly the
 * measurements of the valid bodies.
 *
 * "Genuinely valid" needs no second collector: every signed measurement here was made valid, so
 * a body is valid exactly when it parses to the wrapper with its two fields, a format we accept
 * and 1–16 items, each item exactly a known (measurement, probe_key, signature) triple, compared
 * by the measurement's canonical JSON. Mutations that keep that (whitespace, member order,
 * escapes, duplicates) must be accepted; anything else refused.
 */
import { gzipSync } from 'node:zlib';
import { canonicalJSON, seededRandom } from '@pharos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signItem, webConnectivityMeasurement } from '../src/bench/measurements.js';
import {
  collector,
  OTHER_PROBE,
  PROBE,
  post,
  type TestCollector,
  zstdRawFrame,
} from './collector-fixtures.js';

const MAX_BATCH = 16;
let c: TestCollector;
const random = seededRandom(20261123);
const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;

// Small measurements (a trimmed envelope) keep 10,000 requests quick; two keys.
const VALID = Array.from({ length: 8 }, (_, i) => {
  const m = webConnectivityMeasurement(seededRandom(i + 1));
  (m.test_keys as Record<string, unknown>).requests = [];
  (m.test_keys as Record<string, unknown>).network_events = [];
  (m.test_keys as Record<string, unknown>).tls_handshakes = [];
  return signItem(m, i % 2 ? OTHER_PROBE : PROBE);
});
const TRIPLES = new Set(VALID.map((s) => `${s.canonical}\n${s.item.probe_key}\n${s.item.signature}`));
const ID_BY_CANONICAL = new Map(VALID.map((s) => [s.canonical, s.id]));

const strictUTF8 = new TextDecoder('utf-8', { fatal: true });

/** The oracle: the ids of the measurements if the decoded body is a valid batch, else null. */
function validIds(plain: Buffer): string[] | null {
  let value: unknown;
  try {
    value = JSON.parse(strictUTF8.decode(plain));
  } catch {
    return null;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const wrapper = value as Record<string, unknown>;
  if (Object.keys(wrapper).sort().join() !== 'format,measurements') return null;
  if (wrapper.format !== 'pharos-submission/v1' || !Array.isArray(wrapper.measurements)) return null;
  const items = wrapper.measurements as unknown[];
  if (items.length < 1 || items.length > MAX_BATCH) return null;
  const ids: string[] = [];
  for (const item of items) {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return null;
    const it = item as Record<string, unknown>;
    if (Object.keys(it).sort().join() !== 'measurement,probe_key,signature') return null;
    let canonical: string;
    try {
      canonical = canonicalJSON(it.measurement);
    } catch {
      return null;
    }
    if (!TRIPLES.has(`${canonical}\n${String(it.probe_key)}\n${String(it.signature)}`)) return null;
    if (typeof it.probe_key !== 'string' || typeof it.signature !== 'string') return null;
    ids.push(ID_BY_CANONICAL.get(canonical)!);
  }
  return ids;
}

interface Case {
  body: Buffer;
  headers?: Record<string, string>;
  /** What the server sees after decoding, or null when decoding must fail. */
  plain: Buffer | null;
}

function validBatch(): unknown {
  const n = int(1, 4);
  return {
    format: 'pharos-submission/v1',
    measurements: Array.from({ length: n }, () => {
      const s = pick(VALID);
      return {
        measurement: JSON.parse(s.canonical),
        probe_key: s.item.probe_key,
        signature: s.item.signature,
      };
    }),
  };
}

const plainCase = (text: string | Buffer): Case => ({ body: Buffer.from(text), plain: Buffer.from(text) });

function randomScalar(): unknown {
  return pick<unknown>([
    null,
    true,
    false,
    0,
    -1,
    int(-1e9, 1e9),
    1e308,
    2 ** 64,
    0.5,
    '',
    'x',
    'pharos-submission/v1',
    '127.0.0.1',
    'AAAA',
    '\u0000',
    '😀',
    'A'.repeat(int(0, 100)),
  ]);
}

function randomValue(depth = 0): unknown {
  const r = random();
  if (depth > 3 || r < 0.4) return randomScalar();
  if (r < 0.6) return Array.from({ length: int(0, 3) }, () => randomValue(depth + 1));
  const keys = ['format', 'measurements', 'measurement', 'probe_key', 'signature', 'test_keys', 'x', ''];
  return Object.fromEntries(Array.from({ length: int(0, 4) }, () => [pick(keys), randomValue(depth + 1)]));
}

/** Every [container, key] in a JSON value, for mutations at a random place. */
function places(value: unknown, out: [Record<string, unknown> | unknown[], string | number][] = []) {
  if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      const k = Array.isArray(value) ? Number(key) : key;
      out.push([value as Record<string, unknown>, k]);
      places((value as Record<string, unknown>)[key], out);
    }
  }
  return out;
}

/** JSON text nested `depth` levels (as text: JSON.stringify itself overflows the stack on it). */
function deepText(depth: number): string {
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i++) {
    const array = random() < 0.5;
    open += array ? '[' : '{"a":';
    close = (array ? ']' : '}') + close;
  }
  return `${open}${pick(['1', '"x"', 'null'])}${close}`;
}

const MUTATIONS: Record<string, () => Case> = {
  'random bytes': () => {
    const b = Buffer.alloc(int(0, 2000));
    for (let i = 0; i < b.length; i++) b[i] = int(0, 255);
    return plainCase(b);
  },
  'random JSON': () => plainCase(JSON.stringify(randomValue())),
  'flipped bytes': () => {
    const b = Buffer.from(JSON.stringify(validBatch()));
    for (let i = int(1, 4); i > 0; i--) b[int(0, b.length - 1)]! ^= 1 << int(0, 7);
    return plainCase(b);
  },
  truncated: () => {
    const text = JSON.stringify(validBatch());
    return plainCase(text.slice(0, int(0, text.length - 1)));
  },
  'type swaps': () => {
    const v = validBatch();
    const all = places(v);
    for (let i = int(1, 3); i > 0; i--) {
      const [container, key] = pick(all);
      (container as Record<string | number, unknown>)[key] = randomValue(2);
    }
    return plainCase(JSON.stringify(v));
  },
  'removed or renamed members': () => {
    const v = validBatch();
    const [container, key] = pick(places(v));
    if (Array.isArray(container)) container.splice(Number(key), 1);
    else {
      const value = container[key as string];
      delete container[key as string];
      if (random() < 0.5) container[`${String(key)}${pick(['s', '_', 'X'])}`] = value;
    }
    return plainCase(JSON.stringify(v));
  },
  'deep nesting': () => {
    const v = validBatch();
    const [container, key] = pick(places(v));
    (container as Record<string | number, unknown>)[key] = '\u0000deep';
    const text = JSON.stringify(v).replace(
      '"\\u0000deep"',
      deepText(pick([10, 62, 63, 64, 65, 1000, 100_000])),
    );
    return plainCase(text);
  },
  'huge numbers': () => {
    const text = JSON.stringify(validBatch());
    const numbers = [...text.matchAll(/(?<=:)-?\d+(\.\d+)?(?=[,}\]])/g)];
    if (numbers.length === 0) return plainCase(text);
    const m = pick(numbers);
    const huge = pick([
      '1e400',
      '-1e309',
      '1e308',
      '18446744073709551616',
      '1e-400',
      '123456789012345678901234567890',
    ]);
    return plainCase(text.slice(0, m.index) + huge + text.slice(m.index! + m[0].length));
  },
  'odd strings': () => {
    const text = JSON.stringify(validBatch());
    const quotes = [...text.matchAll(/"/g)].map((m) => m.index!);
    const at = pick(quotes) + 1;
    const odd = pick(['\\ud800', '\\udc00x', '\\u0000', '\\\\', '\\"', 'é', '\\u00e9', '\u2028', '\\/']);
    return plainCase(text.slice(0, at) + odd + text.slice(at));
  },
  'wrong encodings': () => {
    const text = JSON.stringify(validBatch());
    switch (int(0, 6)) {
      case 0:
        return { body: Buffer.from(text), headers: { 'content-encoding': 'gzip' }, plain: null };
      case 1:
        return { body: gzipSync(text), headers: { 'content-encoding': 'zstd' }, plain: null };
      case 2: {
        const gz = gzipSync(text);
        return {
          body: gz.subarray(0, int(0, gz.length - 1)),
          headers: { 'content-encoding': 'gzip' },
          plain: null,
        };
      }
      case 3:
        return { body: Buffer.from(text, 'utf16le'), plain: Buffer.from(text, 'utf16le') };
      case 4:
        return {
          body: Buffer.from(text),
          headers: { 'content-encoding': pick(['br', 'deflate', 'gzip;q=1', 'compress']) },
          plain: null,
        };
      case 5: {
        const gz = gzipSync(text);
        gz[int(10, gz.length - 9)]! ^= 0x10;
        return { body: gz, headers: { 'content-encoding': 'gzip' }, plain: null };
      }
      default:
        return {
          body: Buffer.from(text),
          headers: { 'content-type': pick(['text/plain', 'application/x-www-form-urlencoded']) },
          plain: null,
        };
    }
  },
  'valid, reshaped': () => {
    const v = validBatch() as { measurements: unknown[] };
    if (random() < 0.3) v.measurements.push(v.measurements[0]);
    const text =
      random() < 0.5
        ? JSON.stringify(v, null, int(0, 4))
        : JSON.stringify({ measurements: v.measurements, format: 'pharos-submission/v1' });
    const escaped = random() < 0.3 ? text.replace(/"format"/, '"\\u0066ormat"') : text;
    return plainCase(random() < 0.2 ? `\ufeff${escaped}` : escaped);
  },
  'valid, compressed': () => {
    const text = JSON.stringify(validBatch());
    return random() < 0.5
      ? { body: gzipSync(text), headers: { 'content-encoding': 'gzip' }, plain: Buffer.from(text) }
      : { body: zstdRawFrame(text), headers: { 'content-encoding': 'zstd' }, plain: Buffer.from(text) };
  },
  'mutated, compressed': () => {
    const inner = pick(['flipped bytes', 'type swaps', 'truncated', 'odd strings'] as const);
    const { plain } = MUTATIONS[inner]!();
    return random() < 0.5
      ? { body: gzipSync(plain!), headers: { 'content-encoding': 'gzip' }, plain }
      : { body: zstdRawFrame(plain!), headers: { 'content-encoding': 'zstd' }, plain };
  },
  'too many items': () => {
    const v = validBatch() as { measurements: unknown[] };
    while (v.measurements.length <= MAX_BATCH) v.measurements.push(v.measurements[0]);
    return plainCase(JSON.stringify(v));
  },
};

const expectedIds = new Set<string>();
const tally = new Map<string, { sent: number; accepted: number }>();
let total = 0;

beforeAll(async () => {
  c = await collector({
    maxBatchSize: MAX_BATCH,
    bodyLimit: 512 * 1024,
    maxDecompressedBytes: 1024 * 1024,
    rateLimit: { perSecond: 1e9, burst: 1e9 },
  });
});
afterAll(async () => {
  console.log(
    `fuzzed ${total} bodies:\n${[...tally].map(([name, t]) => `  ${name.padEnd(28)} ${String(t.sent).padStart(5)} sent, ${t.accepted} accepted`).join('\n')}`,
  );
  await c.app.close();
});

describe('the collector under fuzzing', () => {
  const PER_KIND = 800;
  it.each(Object.keys(MUTATIONS))(
    '%s: 2xx only for valid bodies, 4xx otherwise, never 5xx',
    async (kind) => {
      const t = { sent: 0, accepted: 0 };
      tally.set(kind, t);
      for (let i = 0; i < PER_KIND; i += 8) {
        const cases = Array.from({ length: 8 }, () => MUTATIONS[kind]!());
        const responses = await Promise.all(cases.map((k) => post(c.app, k.body, k.headers)));
        for (const [j, res] of responses.entries()) {
          const k = cases[j]!;
          const ids = k.plain === null ? null : validIds(k.plain);
          const where = `${kind}: ${k.body.subarray(0, 200).toString('latin1')}`;
          expect(res.statusCode, `${where}\n→ ${res.body}`).toBeLessThan(500);
          if (ids) {
            expect(res.statusCode, `${where}\n→ ${res.body}`).toBe(200);
            expect((res.json() as { results: { id: string }[] }).results.map((r) => r.id)).toEqual(ids);
            for (const id of ids) expectedIds.add(id);
            t.accepted++;
          } else {
            expect(res.statusCode, `${where}\n→ ${res.body}`).toBeGreaterThanOrEqual(400);
            expect(typeof (res.json() as { error?: unknown }).error, where).toBe('string');
          }
          t.sent++;
          total++;
        }
      }
    },
    120_000,
  );

  it('threw at least 10,000 bodies, and the store holds exactly the valid measurements', () => {
    expect(total).toBeGreaterThanOrEqual(10_000);
    expect(new Set(c.sink.entries.map((e) => e.id))).toEqual(expectedIds);
    expect(c.sink.entries).toHaveLength(expectedIds.size);
    expect(tally.get('valid, reshaped')!.accepted).toBe(PER_KIND);
  });
});
