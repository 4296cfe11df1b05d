import { canonicalJSON, seededRandom } from '@pharos/core';
import { afterEach, describe, expect, it } from 'vitest';
import { webConnectivityMeasurement } from '../src/bench/measurements.js';
import { scanCanonicalBatch } from '../src/collector/canonical-scan.js';
import { measurementAt } from '../src/collector/submission.js';
import { envelopeOf } from '../src/evidence/types.js';
import { body, collector, post, signed, type TestCollector } from './collector-fixtures.js';

const KEY = `${'A'.repeat(43)}=`;
const SIG = `${'B'.repeat(85)}A==`;

/** A batch body holding these measurement texts as they are. */
function batchOf(...measurements: string[]): Buffer {
  const items = measurements.map((m) => `{"measurement":${m},"probe_key":"${KEY}","signature":"${SIG}"}`);
  return Buffer.from(`{"format":"pharos-submission/v1","measurements":[${items.join(',')}]}`);
}

/** The measurement texts the scan found, or null when it declined. */
function scanned(bodyBytes: Buffer): string[] | null {
  const items = scanCanonicalBatch(bodyBytes, 1000);
  return items === null ? null : items.map((i) => bodyBytes.toString('utf8', i.start, i.end));
}

/** Random JSON with the awkward parts: escapes, non-ASCII, surrogate pairs, many number forms. */
function randomJSON(random: () => number, depth = 0): unknown {
  const pick = <T>(l: readonly T[]) => l[Math.floor(random() * l.length)]!;
  const strings = [
    '',
    'a',
    'é',
    '😀',
    '\u0000\u001f"\\\b\t\n\f\r',
    '\u007f',
    '/',
    '10',
    '9',
    'B',
    '\u2028',
    'ｚ',
    'a b',
  ];
  const numbers = [
    0,
    -0,
    1,
    -1,
    0.1,
    0.000001,
    1e-7,
    123.456,
    1e21,
    1e20,
    2 ** 53,
    2 ** 53 + 2,
    5e-324,
    1.7976931348623157e308,
    0.1 + 0.2,
    100,
    -12.5e-3,
    123456789012345,
    1234567890123456,
  ];
  const r = random();
  if (depth > 4 || r < 0.35)
    return pick([
      ...numbers,
      random() * 1000,
      random(),
      Math.round(random() * 1e6),
      true,
      false,
      null,
      ...strings,
    ]);
  if (r < 0.55) return Array.from({ length: Math.floor(random() * 4) }, () => randomJSON(random, depth + 1));
  const obj: Record<string, unknown> = {};
  for (let i = Math.floor(random() * 5); i > 0; i--) {
    obj[
      pick(['a', 'b', 'B', '_', 'aa', 'a_b', '10', '9', 'é', 'x y', 'z"q']) +
        (random() < 0.3 ? String(i) : '')
    ] = randomJSON(random, depth + 1);
  }
  return obj;
}

/** The text with one small change a careless encoder might make (or a byte flipped). */
function mutate(text: string, random: () => number): string {
  const at = Math.floor(random() * (text.length + 1));
  const edits = [
    () => `${text.slice(0, at)} ${text.slice(at)}`,
    () => `${text.slice(0, at)}${text.slice(at + 1)}`,
    () => text.replace(/(\d)(?=[,\]}])/, '$1.0'),
    () => text.replace(/:0(?=[,\]}])/, ':-0'),
    () => text.replace(/:1(?=[,\]}])/, ':1E0'),
    () => text.replace(/:1(?=[,\]}])/, ':01'),
    () => text.replace('é', '\\u00e9'),
    () => text.replace('/', '\\/'),
    () => text.replace('\\u001f', '\\u001F'),
    () => text.replace('\\n', '\\u000a'),
    () => text.replace(/"a":/, '"a":1,"a":'),
    () => text.replace(/\{"(\w+)":([^,{}[\]]+),"(\w+)":/, '{"$3":$2,"$1":'),
    () => `${text.slice(0, at)}${String.fromCharCode(Math.floor(random() * 128))}${text.slice(at + 1)}`,
    () => `${text.slice(0, at)}\\ud800${text.slice(at)}`,
  ];
  return pick(edits, random)();
}

function pick<T>(list: readonly T[], random: () => number): T {
  return list[Math.floor(random() * list.length)]!;
}

describe('the canonical scan (the fast path)', () => {
  it('accepts realistic measurements as probes send them, byte for byte', () => {
    const random = seededRandom(3);
    const texts = Array.from({ length: 40 }, () => canonicalJSON(webConnectivityMeasurement(random)));
    expect(scanned(batchOf(...texts))).toEqual(texts);
    // Whitespace between the wrapper's tokens is fine; inside a measurement it is not canonical.
    const spaced = Buffer.from(
      ` {\n "format" : "pharos-submission/v1" ,\n "measurements" : [ {"signature":"${SIG}", "measurement" :${texts[0]}, "probe_key":"${KEY}"} ] }\n`,
    );
    expect(scanned(spaced)).toEqual([texts[0]]);
  });

  it('accepts a text only if it is exactly the canonical JSON of what it parses to', () => {
    const random = seededRandom(11);
    let accepted = 0;
    let mutatedAccepted = 0;
    for (let i = 0; i < 6000; i++) {
      const value = { k: randomJSON(random), test_keys: randomJSON(random) };
      const canonical = canonicalJSON(JSON.parse(JSON.stringify(value)));
      // As the body carries it (a flipped byte may split a surrogate pair: UTF-8 gets U+FFFD).
      const text = Buffer.from(i % 2 === 0 ? canonical : mutate(canonical, random)).toString();
      const found = scanned(batchOf(text));
      // Declining is always safe (the general path decides); canonical text is declined only for
      // member names with escapes or beyond ASCII, which the scan does not order itself.
      if (found === null) {
        if (text === canonical) expect(canonical, 'declined').toMatch(/é[^"]*":|\\"q/);
        continue;
      }
      // (An edit at either end is whitespace of the wrapper's, outside the measurement.)
      expect(found).toEqual([text.trim()]);
      expect(canonicalJSON(JSON.parse(text))).toBe(text.trim());
      accepted++;
      if (text !== canonical) mutatedAccepted++;
    }
    expect(accepted).toBeGreaterThan(2000);
    // Some edits leave the text canonical (a swap of equal members, a byte flipped to itself).
    expect(mutatedAccepted).toBeLessThan(accepted / 2);
  });

  it('declines what it leaves to the general path', () => {
    for (const m of [
      '{"b":1,"a":2}',
      '{"a":1,"a":2}',
      '{"a": 1}',
      '{"a":1.50}',
      '{"a":-0}',
      '{"a":1E3}',
      '{"a":1e400}',
      '{"a":0.0000001}',
      '{"a":"\\u00e9"}',
      '{"a":"\\/"}',
      '{"a":"\\ud800"}',
      '{"é":1}',
      '{"a":tru}',
      '[1]',
      `${'{"a":['.repeat(33)}${']}'.repeat(33)}`,
    ]) {
      expect(scanned(batchOf(m)), m).toBeNull();
    }
    const good = '{"a":1}';
    for (const wrapper of [
      `{"format":"pharos-submission/v1","measurements":[]}`,
      `{"format":"pharos-submission/v2","measurements":[{"measurement":${good},"probe_key":"${KEY}","signature":"${SIG}"}]}`,
      `{"format":"pharos-submission/v1","format":"pharos-submission/v1","measurements":[{"measurement":${good},"probe_key":"${KEY}","signature":"${SIG}"}]}`,
      `{"format":"pharos-submission/v1","measurements":[{"measurement":${good},"probe_key":"${KEY}","signature":"${SIG}","x":1}]}`,
      `{"format":"pharos-submission/v1","measurements":[{"measurement":${good},"probe_key":"${KEY}"}]}`,
      `{"format":"pharos-submission/v1","measurements":[{"measurement":${good},"probe_key":"${KEY}","signature":"${SIG}"}]}x`,
      `{"format":"pharos-submission/v1","measurements":[{"measurement":${good},"probe_key":"${KEY}","signature":"${SIG}"},]}`,
    ]) {
      expect(scanned(Buffer.from(wrapper)), wrapper).toBeNull();
    }
    expect(scanCanonicalBatch(batchOf(good, good, good), 2)).toBeNull();
    // Every prefix of a good body ends too soon, wherever it is cut.
    const whole = batchOf('{"a":[1.5,"x\\n",{"b":true}],"c":null}');
    expect(scanned(whole)).not.toBeNull();
    for (let cut = 0; cut < whole.length; cut++) expect(scanned(whole.subarray(0, cut))).toBeNull();
  });
});

describe('a scanned measurement as an object', () => {
  it('is what JSON.parse makes of its text, but test_keys: only its scalar members, for now', () => {
    const random = seededRandom(5);
    const values: unknown[] = Array.from({ length: 30 }, () => webConnectivityMeasurement(random));
    for (let i = 0; i < 300; i++) values.push({ k: randomJSON(random), test_keys: randomJSON(random) });
    values.push({ a: 1, test_keys: {} }, { a: 1, test_keys: { x: [1], y: { z: 2 } } }, { test_keys: 'no' });
    let withScalars = 0;
    for (const value of values) {
      const text = canonicalJSON(JSON.parse(JSON.stringify(value)));
      const b = batchOf(text);
      const found = scanCanonicalBatch(b, 1);
      if (!found) continue;
      const { measurement, testKeyScalars } = measurementAt(b, found[0]!);
      const parsed = JSON.parse(text) as Record<string, unknown>;
      const keys = parsed.test_keys;
      if (keys !== null && typeof keys === 'object' && !Array.isArray(keys)) {
        const scalars = Object.fromEntries(
          Object.entries(keys).filter(([, v]) => v === null || typeof v !== 'object'),
        );
        expect(testKeyScalars).toEqual(scalars);
        if (Object.keys(scalars).length > 0) withScalars++;
      } else {
        expect(testKeyScalars).toBeUndefined();
      }
      // (The collector's item parses the whole measurement from its bytes when first read.)
      expect({ ...measurement, test_keys: keys }).toEqual(parsed);
    }
    expect(withScalars).toBeGreaterThan(50);
  });
});

describe('the collector on either path', () => {
  let c: TestCollector;
  afterEach(async () => {
    await c?.app.close();
  });

  it('stores the same measurement, test_keys and all, from canonical and from reformatted bodies', async () => {
    for (const verifyThreads of [2, 0]) {
      c = await collector({ verifyThreads });
      const items = signed(2);
      const fast = await post(c.app, body(items));
      expect(fast.statusCode, fast.body).toBe(200);
      const spaced = signed(1);
      const pretty = await post(c.app, JSON.stringify(JSON.parse(body(spaced)), null, 2));
      expect(pretty.statusCode, pretty.body).toBe(200);
      for (const item of [...items, ...spaced]) {
        const stored = c.sink.get(item.id)!;
        expect(Buffer.from(stored.body).toString('utf8')).toBe(item.canonical);
        expect(stored.measurement).toEqual(JSON.parse(item.canonical));
        expect(canonicalJSON(stored.measurement)).toBe(item.canonical);
        // What the store's columns read: the same envelope, from either path.
        const { test_keys: _, ...envelope } = JSON.parse(item.canonical) as Record<string, unknown>;
        expect({ ...envelopeOf(stored), test_keys: undefined }).toEqual({
          ...envelope,
          test_keys: undefined,
        });
      }
      await c.app.close();
    }
  });

  it('refuses a bad signature in a canonical batch, naming it, with threads or without', async () => {
    for (const verifyThreads of [1, 0]) {
      c = await collector({ verifyThreads });
      const items = signed(20);
      const last = items[19]!;
      const forged = { ...last, item: { ...last.item, signature: items[0]!.item.signature } };
      const res = await post(c.app, body([...items.slice(0, 19), forged]));
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatch(/^measurements\[19\]: signature does not verify/);
      expect(c.sink.entries).toHaveLength(0);
      await c.app.close();
    }
  });

  it('refuses a malleated signature (S + L, which some verifiers accept), with threads or without', async () => {
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    for (const verifyThreads of [1, 0]) {
      c = await collector({ verifyThreads });
      const [item] = signed(1);
      const sig = Buffer.from(item!.item.signature, 'base64');
      let s = 0n;
      for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]!);
      s += L;
      for (let i = 32; i < 64; i++, s >>= 8n) sig[i] = Number(s & 0xffn);
      const malleated = { ...item!, item: { ...item!.item, signature: sig.toString('base64') } };
      const res = await post(c.app, body([malleated]));
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().error).toMatch(/^measurements\[0\]: signature does not verify/);
      expect((await post(c.app, body([item!]))).statusCode).toBe(200);
      await c.app.close();
    }
  });
});
