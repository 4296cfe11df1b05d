/**
 * Crypto groundwork: byte encodings, SHA-256, Ed25519, and RFC 8785 canonical JSON checked against
 * the examples in the RFC text (§3.2.2 and §3.2.3 and the Appendix B number samples).
 */
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  bytesEqual,
  CanonicalJSONError,
  canonicalJSON,
  canonicalJSONBytes,
  concatBytes,
  ed25519PublicKey,
  ed25519Sign,
  ed25519Verify,
  fromBase64,
  fromHex,
  fromUtf8,
  generateEd25519KeyPair,
  leafHash,
  parseNote,
  parseVerifierKey,
  setEd25519VerifyImplementation,
  setSha256Implementation,
  sha256,
  sha256Hex,
  toBase64,
  toHex,
  utf8,
  verifyNote,
} from '../src/index.js';

describe('hex and base64', () => {
  it('round-trip random bytes of every length 0..64 and agree with Node', () => {
    for (let n = 0; n <= 64; n++) {
      const bytes = new Uint8Array(n).map((_, i) => (i * 37 + n * 11) & 255);
      expect(toHex(bytes)).toBe(Buffer.from(bytes).toString('hex'));
      expect(toBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
      expect(bytesEqual(fromHex(toHex(bytes)), bytes)).toBe(true);
      expect(bytesEqual(fromBase64(toBase64(bytes)), bytes)).toBe(true);
    }
    expect(toHex(fromHex('ABcd'))).toBe('abcd');
  });

  it('refuses malformed or non-canonical text', () => {
    for (const bad of ['abc', 'zz', '0x00', ' 00']) expect(() => fromHex(bad), bad).toThrow();
    for (const bad of ['A', 'AB=', 'A===', '====', 'AB=C', 'AA\nAA', 'AA-_', 'YQ', 'YR==', 'YWJ=', 'é===']) {
      expect(() => fromBase64(bad), bad).toThrow();
    }
    expect(toHex(fromBase64(''))).toBe('');
    expect(fromUtf8(utf8('héllo €'))).toBe('héllo €');
    expect(() => fromUtf8(new Uint8Array([0xc3, 0x28]))).toThrow();
    expect(toHex(concatBytes(new Uint8Array([1]), new Uint8Array(0), new Uint8Array([2, 3])))).toBe('010203');
  });
});

describe('SHA-256', () => {
  it('matches FIPS 180-2 examples and Node', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const big = new Uint8Array(100_000).map((_, i) => i & 255);
    expect(toHex(sha256(big))).toBe(createHash('sha256').update(big).digest('hex'));
  });
});

describe('Ed25519', () => {
  it('reproduces RFC 8032 §7.1 test 1 and test 3', () => {
    const t1 = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
    expect(toHex(ed25519PublicKey(t1))).toBe(
      'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    );
    const sig1 = ed25519Sign(new Uint8Array(0), t1);
    expect(toHex(sig1)).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
    const t3 = fromHex('c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7');
    expect(toHex(ed25519PublicKey(t3))).toBe(
      'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    );
    const sig3 = ed25519Sign(fromHex('af82'), t3);
    expect(toHex(sig3)).toBe(
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
    );
    expect(ed25519Verify(sig3, fromHex('af82'), ed25519PublicKey(t3))).toBe(true);
  });

  it('signs and verifies; any change fails; malformed input is just invalid', () => {
    const { seed, publicKey } = generateEd25519KeyPair();
    const msg = utf8('measurement 42');
    const sig = ed25519Sign(msg, seed);
    expect(ed25519Verify(sig, msg, publicKey)).toBe(true);
    expect(ed25519Verify(sig, utf8('measurement 43'), publicKey)).toBe(false);
    const bad = sig.slice();
    bad[10]! ^= 4;
    expect(ed25519Verify(bad, msg, publicKey)).toBe(false);
    expect(ed25519Verify(sig.subarray(0, 63), msg, publicKey)).toBe(false);
    expect(ed25519Verify(sig, msg, new Uint8Array(32).fill(0xff))).toBe(false);
    // Non-canonical S (S + L) is refused under strict RFC 8032 rules.
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    let s = 0n;
    for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i]!);
    const s2 = s + L;
    if (s2 < 2n ** 256n) {
      const mall = sig.slice();
      for (let i = 0; i < 32; i++) mall[32 + i] = Number((s2 >> BigInt(8 * i)) & 255n);
      expect(ed25519Verify(mall, msg, publicKey)).toBe(false);
    }
    expect(() => ed25519Sign(msg, new Uint8Array(31))).toThrow(/31 bytes/);
  });
});

describe('pluggable implementations (what a Node server would plug in)', () => {
  const nodeSha256 = (d: Uint8Array) => new Uint8Array(createHash('sha256').update(d).digest());
  // Raw 32-byte Ed25519 public key → SPKI DER (fixed 12-byte prefix, RFC 8410).
  const SPKI_PREFIX = fromHex('302a300506032b6570032100');
  const nodeEd25519Verify = (sig: Uint8Array, msg: Uint8Array, pub: Uint8Array) =>
    nodeVerify(
      null,
      msg,
      createPublicKey({ key: Buffer.from(concatBytes(SPKI_PREFIX, pub)), format: 'der', type: 'spki' }),
      sig,
    );

  it('SHA-256 and Ed25519 verification can be swapped and restored; results are identical', () => {
    let hashes = 0;
    let verifies = 0;
    setSha256Implementation((d) => {
      hashes++;
      return nodeSha256(d);
    });
    setEd25519VerifyImplementation((sig, msg, pub) => {
      verifies++;
      return nodeEd25519Verify(sig, msg, pub);
    });
    try {
      expect(toHex(leafHash(utf8('L123456')))).toBe(
        '395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56',
      );
      const vkey = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
      const note =
        'This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';
      expect(verifyNote(note, [parseVerifierKey(vkey)]).ok).toBe(true);
      expect(verifyNote(note.replace('example', 'exemple'), [parseVerifierKey(vkey)]).ok).toBe(false);
      expect(parseNote(note).signatures).toHaveLength(1);
      // A throwing implementation counts as "invalid", never as an exception for the caller.
      setEd25519VerifyImplementation(() => {
        throw new Error('boom');
      });
      expect(ed25519Verify(new Uint8Array(64), utf8('x'), new Uint8Array(32))).toBe(false);
    } finally {
      setSha256Implementation(null);
      setEd25519VerifyImplementation(null);
    }
    expect(hashes).toBeGreaterThan(0);
    expect(verifies).toBe(2);
    const before = hashes;
    sha256('abc');
    expect(hashes).toBe(before); // restored
  });
});

describe('RFC 8785 canonical JSON', () => {
  it('§3.2.2 example: primitives, numbers and string escaping', () => {
    // The RFC's input, as its JSON text; parsed and canonicalized.
    const input =
      '{\n  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],\n' +
      '  "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n' +
      '  "literals": [null, true, false]\n}';
    const out = canonicalJSON(JSON.parse(input));
    expect(out).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
    // §3.2.4: what gets hashed is the UTF-8 encoding of that text (the € is 3 bytes: e2 82 ac).
    const bytes = canonicalJSONBytes(JSON.parse(input));
    expect(toHex(bytes)).toBe(Buffer.from(out, 'utf8').toString('hex'));
    expect(toHex(bytes.subarray(0, 10))).toBe('7b226c69746572616c73');
    expect(toHex(bytes)).toContain('22e282ac245c753030306');
  });

  it('§3.2.3 example: member names sorted by UTF-16 code units', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    const out = canonicalJSON(input);
    expect(out).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
    // The emoji (U+1F600, surrogates D83D DE00) sorts before U+FB33 in UTF-16 order, although
    // it is after it in code point order: the RFC's point.
    expect(out.indexOf('😀')).toBeLessThan(out.indexOf('\ufb33'));
  });

  it('Appendix B: number serialization samples (IEEE 754 bits → text)', () => {
    const samples: Array<[string, string]> = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'],
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef4e', '999999999999999700000'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555554', '333333333.33333325'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555556', '333333333.3333334'],
      ['41b3de4355555557', '333333333.33333343'],
      ['becbf647612f3696', '-0.0000033333333333333333'],
      ['43143ff3c1cb0959', '1424953923781206.2'],
    ];
    const view = new DataView(new ArrayBuffer(8));
    for (const [bits, text] of samples) {
      view.setBigUint64(0, BigInt(`0x${bits}`));
      const value = view.getFloat64(0);
      expect(canonicalJSON(value), bits).toBe(text);
      expect(canonicalJSON([value]), bits).toBe(`[${text}]`);
    }
    for (const bits of ['7fffffffffffffff', '7ff0000000000000', 'fff0000000000000']) {
      view.setBigUint64(0, BigInt(`0x${bits}`));
      expect(() => canonicalJSON({ n: view.getFloat64(0) }), bits).toThrow(CanonicalJSONError);
    }
    console.log(`RFC 8785: ${samples.length} number samples + 3 non-finite refusals checked`);
  });

  it('escapes every control character as the RFC says, and nothing else', () => {
    for (let c = 0; c < 0x20; c++) {
      const s = String.fromCharCode(c);
      const short: Record<number, string> = { 8: '\\b', 9: '\\t', 10: '\\n', 12: '\\f', 13: '\\r' };
      const want = short[c] ?? `\\u00${c.toString(16).padStart(2, '0')}`;
      expect(canonicalJSON(s)).toBe(`"${want}"`);
    }
    expect(canonicalJSON('"\\/\u007f\u2028\u00e9😀')).toBe('"\\"\\\\/\u007f\u2028\u00e9😀"');
  });

  it('nests, sorts at every level, keeps array order and ignores insertion order', () => {
    const a = { b: [3, { z: 1, a: [true, null] }], a: { y: 'x', x: -0 }, '': 0.1 };
    const b = { a: { x: 0, y: 'x' }, '': 0.1, b: [3, { a: [true, null], z: 1 }] };
    expect(canonicalJSON(a)).toBe('{"":0.1,"a":{"x":0,"y":"x"},"b":[3,{"a":[true,null],"z":1}]}');
    expect(canonicalJSON(a)).toBe(canonicalJSON(b));
    expect(canonicalJSON(Object.create(null))).toBe('{}');
    expect(canonicalJSON([])).toBe('[]');
    const shared = { k: 1 };
    expect(canonicalJSON([shared, shared])).toBe('[{"k":1},{"k":1}]'); // repeated, not a cycle
  });

  it('agrees with JSON.stringify of a key-sorted copy on 2,000 random JSON values', () => {
    // For well-formed strings and finite numbers, JSON.stringify escapes and formats numbers exactly
    // as RFC 8785 does; only member order differs. So stringify(sorted copy) is an independent oracle.
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = [
      'a',
      'Z',
      '0',
      ' ',
      '"',
      '\\',
      '\n',
      '\u0001',
      '\u001f',
      'é',
      '€',
      '😀',
      '\ufb33',
      '\u2028',
      '/',
      '\u007f',
    ];
    const str = () => Array.from({ length: rnd(6) }, () => alphabet[rnd(alphabet.length)]).join('');
    const num = () =>
      [0, -0, 1, -1, 0.1, 1e21, 1e-7, 123456789.123, -5e-324, 2 ** 53, Math.PI * 10 ** (rnd(40) - 20)][
        rnd(11)
      ]!;
    const gen = (depth: number): unknown => {
      const k = rnd(depth > 3 ? 4 : 6);
      if (k === 0) return null;
      if (k === 1) return rnd(2) === 0;
      if (k === 2) return num();
      if (k === 3) return str();
      if (k === 4) return Array.from({ length: rnd(4) }, () => gen(depth + 1));
      const o: Record<string, unknown> = {};
      for (let i = rnd(5); i > 0; i--) o[str()] = gen(depth + 1);
      return o;
    };
    const sortedCopy = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(sortedCopy);
      if (v && typeof v === 'object') {
        // Integer-like keys would be re-ordered by the engine; wrap via a Map-free pair list instead.
        return Object.keys(v)
          .sort()
          .map((k) => [k, sortedCopy((v as Record<string, unknown>)[k])]);
      }
      return v;
    };
    const oracle = (v: unknown): string => {
      if (Array.isArray(v)) return `[${v.map(oracle).join(',')}]`;
      if (v && typeof v === 'object') return '';
      return JSON.stringify(v);
    };
    const oracleSorted = (v: unknown, orig: unknown): string => {
      if (Array.isArray(orig))
        return `[${(v as unknown[]).map((x, i) => oracleSorted(x, orig[i])).join(',')}]`;
      if (orig && typeof orig === 'object') {
        const pairs = v as Array<[string, unknown]>;
        return `{${pairs.map(([k, x]) => `${JSON.stringify(k)}:${oracleSorted(x, (orig as Record<string, unknown>)[k])}`).join(',')}}`;
      }
      return oracle(v);
    };
    for (let i = 0; i < 2000; i++) {
      const value = gen(0);
      const out = canonicalJSON(value);
      expect(out).toBe(oracleSorted(sortedCopy(value), value));
      expect(canonicalJSON(JSON.parse(out))).toBe(out); // idempotent
    }
  });

  it('refuses what is not JSON data, naming where', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = { back: cyclic };
    const cases: Array<[unknown, RegExp]> = [
      [{ a: undefined }, /undefined .* at \$\.a$/],
      [[1, undefined], /undefined .* at \$\[1\]$/],
      [{ f: () => 1 }, /a function .* at \$\.f$/],
      [{ n: Number.NaN }, /NaN is not a JSON number at \$\.n$/],
      [{ n: Number.POSITIVE_INFINITY }, /Infinity is not a JSON number/],
      [{ b: 10n }, /bigint/],
      [{ s: Symbol('x') }, /a symbol/],
      [cyclic, /cycle: the value contains itself at \$\.self\.back$/],
      [{ d: new Date(0) }, /a Date object cannot be canonicalized .* at \$\.d$/],
      [{ m: new Map() }, /a Map object/],
      [{ u: new Uint8Array(2) }, /a Uint8Array object/],
      [{ 'odd key': '\ud800' }, /lone surrogate at \$\["odd key"\]$/],
      [{ '\udc00': 1 }, /member name contains a lone surrogate/],
      [undefined, /undefined .* at \$$/],
      [{ [Symbol('k')]: 1 }, /symbol-keyed/],
      // biome-ignore lint/suspicious/noSparseArray: a hole is the point of this case
      [[1, , 3], /array hole/],
    ];
    for (const [value, message] of cases) {
      expect(() => canonicalJSON(value)).toThrow(message);
    }
  });
});
