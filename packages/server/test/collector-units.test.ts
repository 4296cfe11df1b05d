import { canonicalJSON, seededRandom } from '@pharos/core';
import { describe, expect, it } from 'vitest';
import { webConnectivityMeasurement } from '../src/bench/measurements.js';
import { canonicalize } from '../src/collector/canonical.js';
import { KeyRateLimiter } from '../src/collector/rate-limit.js';
import { envelopeSchema, isOoniTime, isPlainEnvelope } from '../src/collector/schema.js';
import { needlesFor, scrubValue } from '../src/collector/scrub.js';
import { weakKeyReason } from '../src/collector/signature.js';
import { decompressZstd, outputBound } from '../src/collector/zstd.js';
import { ZSTD_COMPRESSED_BATCH, zstdRawFrame, zstdRLEBomb } from './collector-fixtures.js';

describe('canonicalize', () => {
  /** Random JSON with the awkward parts: integer-like keys, escapes, surrogate pairs, -0, exponents. */
  function randomJSON(random: () => number, depth = 0): unknown {
    const r = random();
    const strings = [
      '',
      'a',
      'é',
      '😀',
      '\u0000\u001f"\\',
      '10',
      '9',
      'b',
      'B',
      '\u2028',
      'ｚ',
      '__proto__',
      '\ud83d\ude00x',
    ];
    const pick = <T>(l: T[]) => l[Math.floor(random() * l.length)]!;
    if (depth > 4 || r < 0.3)
      return pick([0, -0, 1e21, 1e-7, 0.1, -5, 123456789.123, 2 ** 53, true, false, null, ...strings]);
    if (r < 0.5) return Array.from({ length: Math.floor(random() * 4) }, () => randomJSON(random, depth + 1));
    const obj: Record<string, unknown> = {};
    for (let i = Math.floor(random() * 5); i > 0; i--) {
      Object.defineProperty(obj, pick(strings) + (random() < 0.3 ? String(Math.floor(random() * 20)) : ''), {
        value: randomJSON(random, depth + 1),
        enumerable: true,
        configurable: true,
        writable: true,
      });
    }
    return obj;
  }

  it("gives exactly core's canonicalJSON, sorted input or not", () => {
    const random = seededRandom(42);
    for (let i = 0; i < 3000; i++) {
      const value = JSON.parse(JSON.stringify(randomJSON(random)));
      const expected = canonicalJSON(value);
      expect(canonicalize(value)).toBe(expected);
      // The same value with members in canonical order takes the fast path.
      expect(canonicalize(JSON.parse(expected))).toBe(expected);
    }
  });

  it('refuses what canonical JSON cannot hold', () => {
    expect(() => canonicalize({ a: '\ud800' })).toThrow(/lone surrogate/);
    expect(() => canonicalize(JSON.parse('{"a":1e400}'))).toThrow(/too large/);
    expect(() => canonicalize(JSON.parse(`${'['.repeat(65)}${']'.repeat(65)}`))).toThrow(/deeper than 64/);
    expect(canonicalize(JSON.parse(`${'['.repeat(63)}${']'.repeat(63)}`))).toBe(
      `${'['.repeat(63)}${']'.repeat(63)}`,
    );
  });
});

describe('zstd bodies', () => {
  it('bounds the output from the headers, before decoding', () => {
    expect(outputBound(zstdRawFrame('hello'), 100)).toBe(5);
    expect(() => outputBound(zstdRLEBomb(10), 1024 * 1024)).toThrow(/more than 1048576 bytes/);
    expect(outputBound(zstdRLEBomb(8), 1024 * 1024)).toBe(1024 * 1024);
    // A compressed block counts as the most it could regenerate.
    expect(outputBound(ZSTD_COMPRESSED_BATCH, 1 << 20)).toBe(3835);
  });

  it('decodes raw, compressed, skippable and concatenated frames', () => {
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    const two = Buffer.concat([zstdRawFrame('ab'), skippable, zstdRawFrame('cd')]);
    expect(Buffer.from(decompressZstd(two, 10)).toString()).toBe('abcd');
    const text = Buffer.from(decompressZstd(ZSTD_COMPRESSED_BATCH, 1 << 20)).toString();
    expect(JSON.parse(text).format).toBe('pharos-submission/v1');
  });

  it('refuses windows above 8 MiB, dictionaries and reserved bits', () => {
    const window = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, (24 - 10) << 3, 1, 0, 0]);
    expect(() => decompressZstd(window, 1 << 30)).toThrow(/window of 16777216 bytes is larger than 8388608/);
    const dict = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x21, 7, 0, 1, 0, 0]);
    expect(() => decompressZstd(dict, 100)).toThrow(/dictionaries are not supported/);
    const reserved = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x28, 0, 1, 0, 0]);
    expect(() => decompressZstd(reserved, 100)).toThrow(/reserved frame header bit/);
  });
});

describe('scrubbing', () => {
  it('matches whole addresses only', () => {
    const needles = needlesFor('1.2.3.4')!;
    const { value, changed } = scrubValue(
      [
        '1.2.3.4',
        'x1.2.3.4:80',
        '11.2.3.4',
        '1.2.3.45',
        '1.2.3.4.5',
        '0.1.2.3.4',
        'at 1.2.3.4.',
        '[1.2.3.4]',
      ],
      needles,
    );
    expect(changed).toBe(true);
    expect(value).toEqual([
      '[scrubbed]',
      'x[scrubbed]:80',
      '11.2.3.4',
      '1.2.3.45',
      '1.2.3.4.5',
      '0.1.2.3.4',
      'at [scrubbed].',
      '[[scrubbed]]',
    ]);
  });

  it('scrubs the IPv4 inside an IPv4-mapped client address, and nothing for loopback', () => {
    expect(scrubValue({ a: 'from 5.191.0.1' }, needlesFor('::ffff:5.191.0.1')!).value).toEqual({
      a: 'from [scrubbed]',
    });
    expect(needlesFor('127.0.0.1')).toBeNull();
    expect(needlesFor('::1')).toBeNull();
    expect(needlesFor('::ffff:127.0.0.1')).toBeNull();
  });

  it('keeps a member called __proto__ as a member', () => {
    const input = JSON.parse('{"__proto__":{"x":"1.2.3.4"},"k":"1.2.3.4"}');
    const { value } = scrubValue(input, needlesFor('1.2.3.4')!);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(canonicalJSON(value)).toBe('{"__proto__":{"x":"[scrubbed]"},"k":"[scrubbed]"}');
  });

  it('refuses a member name that would clash once scrubbed', () => {
    expect(() => scrubValue({ '1.2.3.4': 1, '[scrubbed]': 2 }, needlesFor('1.2.3.4')!)).toThrow(/clash/);
  });
});

describe('keys and rate limits', () => {
  it('knows the weak keys', () => {
    const key = (hex: string, sign = 0) => {
      const b = Buffer.from(hex.padEnd(64, '0'), 'hex');
      b[31]! |= sign;
      return b;
    };
    expect(weakKeyReason(key('01'))).toMatch(/small-order/);
    expect(weakKeyReason(key('00', 0x80))).toMatch(/small-order/);
    expect(weakKeyReason(key(`ec${'ff'.repeat(30)}7f`))).toMatch(/small-order/);
    expect(weakKeyReason(key(`ee${'ff'.repeat(30)}7f`))).toMatch(/not a canonical/);
    expect(weakKeyReason(key(`ff${'ff'.repeat(30)}7f`))).toMatch(/not a canonical/);
    expect(weakKeyReason(key('3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29'))).toBeNull();
  });

  it('charges whole batches and refills over time', () => {
    const limiter = new KeyRateLimiter(10, 20, 2);
    const at = (t: number, counts: [string, number][]) => limiter.take(new Map(counts), t);
    expect(at(0, [['a', 15]]).ok).toBe(true);
    expect(
      at(0, [
        ['a', 10],
        ['b', 1],
      ]),
    ).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(at(0, [['b', 20]]).ok).toBe(true); // b was not charged by the refused batch
    expect(at(500, [['a', 10]]).ok).toBe(true); // 5 left + 5 refilled
    expect(at(500, [['a', 1]])).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(at(100_000, [['c', 1]]).ok).toBe(true);
    expect(limiter.size).toBeLessThanOrEqual(2);
  });
});

describe('OONI times', () => {
  /** The rule as it was first written: a regular expression, then a Date that must round-trip. */
  function reference(value: string): boolean {
    const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(value);
    if (!m) return false;
    const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
    const date = new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!));
    return (
      date.getUTCFullYear() === y &&
      date.getUTCMonth() === mo! - 1 &&
      date.getUTCDate() === d &&
      h! < 24 &&
      mi! < 60 &&
      s! < 60
    );
  }
  const two = (n: number) => String(n).padStart(2, '0');

  it('are read by hand exactly as the regular expression and Date read them', () => {
    let valid = 0;
    const years = [0, 1, 99, 100, 101, 1582, 1600, 1700, 1900, 1999, 2000, 2024, 2025, 2100, 2400, 9999];
    for (const y of years) {
      for (let mo = 0; mo <= 13; mo++) {
        for (let d = 0; d <= 32; d++) {
          for (const [h, mi, s] of [
            [0, 0, 0],
            [23, 59, 59],
            [24, 0, 0],
            [0, 60, 0],
            [0, 0, 60],
            [99, 99, 99],
          ]) {
            const t = `${String(y).padStart(4, '0')}-${two(mo)}-${two(d)} ${two(h!)}:${two(mi!)}:${two(s!)}`;
            expect(isOoniTime(t), t).toBe(reference(t));
            if (reference(t)) valid++;
          }
        }
      }
    }
    expect(valid).toBeGreaterThan(9000);
    // Every character of a good time replaced by others, and the time cut or lengthened.
    const good = '2024-02-29 23:59:59';
    const random = seededRandom(11);
    for (let i = 0; i < good.length; i++) {
      for (const c of ['0', '9', '-', ':', ' ', 'a', '/', '\u0660', '\uff10']) {
        const t = good.slice(0, i) + c + good.slice(i + 1);
        expect(isOoniTime(t), t).toBe(reference(t));
      }
      expect(isOoniTime(good.slice(0, i)), good.slice(0, i)).toBe(false);
    }
    for (let i = 0; i < 2000; i++) {
      const t = Array.from({ length: 17 + Math.floor(random() * 5) }, () =>
        '0123456789-: T'.charAt(Math.floor(random() * 14)),
      ).join('');
      expect(isOoniTime(t), t).toBe(reference(t));
    }
    expect(isOoniTime(`${good}Z`)).toBe(false);
    expect(isOoniTime(good)).toBe(true);
    expect(isOoniTime('2023-02-29 00:00:00')).toBe(false);
  });
});

describe("the fast path's envelope check", () => {
  const valid = (random: () => number) => {
    const m = webConnectivityMeasurement(random);
    return { ...m, test_keys: {} };
  };
  /** Values that sit on or just past some field's rule, and values of every JSON type. */
  const odd: unknown[] = [
    undefined,
    null,
    '',
    'x',
    'x'.repeat(256),
    'x'.repeat(257),
    'x'.repeat(8192),
    'x'.repeat(8193),
    0,
    -0,
    -1,
    1.5,
    Number.POSITIVE_INFINITY,
    Number.NaN,
    true,
    [],
    ['AZ'],
    {},
    { a: 'b' },
    { a: 1 },
    Object.create(null),
    '0.2.0',
    '0.2.1',
    'web_connectivity',
    'Web_connectivity',
    '127.0.0.1',
    '127.0.0.2',
    'AZ',
    'az',
    'AZE',
    'AS0',
    'AS00',
    'AS29049',
    'AS12345678901',
    'as1',
    '2024-02-29 23:59:59',
    '2023-02-29 12:00:00',
    '2024-01-01 24:00:00',
    '2024-01-01T00:00:00',
    '2024-01-01 00:00:00 ',
  ];
  const fields = [
    'data_format_version',
    'test_name',
    'test_version',
    'measurement_start_time',
    'test_start_time',
    'test_runtime',
    'probe_ip',
    'probe_cc',
    'probe_asn',
    'software_name',
    'software_version',
    'input',
    'report_id',
    'annotations',
    'probe_network_name',
    'resolver_ip',
    'resolver_asn',
    'test_keys',
    'x_extra',
  ];

  it('accepts every envelope a probe writes', () => {
    const random = seededRandom(7);
    for (let n = 0; n < 500; n++) {
      const m = valid(random);
      expect(envelopeSchema.safeParse(m).success).toBe(true);
      expect(isPlainEnvelope(m)).toBe(true);
    }
  });

  it('accepts nothing the envelope schema refuses (20,000 mutated envelopes)', () => {
    const random = seededRandom(11);
    const pick = <T>(l: readonly T[]) => l[Math.floor(random() * l.length)]!;
    let refused = 0;
    for (let n = 0; n < 20000; n++) {
      const m: Record<string, unknown> = valid(random);
      for (let k = 1 + Math.floor(random() * 3); k > 0; k--) {
        const field = pick(fields);
        const value = pick(odd);
        if (value === undefined && random() < 0.5) delete m[field];
        else m[field] = value;
      }
      const zod = envelopeSchema.safeParse(m).success;
      if (!zod) refused++;
      if (isPlainEnvelope(m) && !zod) {
        throw new Error(`the fast check accepted what zod refuses: ${JSON.stringify(m).slice(0, 400)}`);
      }
    }
    // The mutations must reach both sides of the rules for the comparison to mean anything.
    expect(refused).toBeGreaterThan(5000);
    expect(refused).toBeLessThan(19000);
  });
});
