/**
 * C2SP signed-note, tlog-checkpoint and tlog-proof: the real vectors in transcribed-vectors.json
 * (the C2SP Ed25519 example and Go sumdb/note's two-signer note with its test-only private key),
 * Go sumdb's checkpoint golden text, and round trips with tampering.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sharedData } from '../../../test-support/shared-data.js';
import {
  addNoteSignatures,
  type Checkpoint,
  ed25519NoteKeyId,
  ed25519NoteSigner,
  emptyRoot,
  formatCheckpoint,
  formatNote,
  formatSignerKey,
  formatTlogProof,
  formatVerifierKey,
  fromBase64,
  generateNoteKey,
  leafHash,
  MemoryTree,
  openCheckpoint,
  parseCheckpoint,
  parseNote,
  parseSignerKey,
  parseTlogProof,
  parseVerifierKey,
  signCheckpoint,
  signNote,
  TLOG_PROOF_HEADER,
  toBase64,
  toHex,
  utf8,
  verifyCheckpointConsistency,
  verifyNote,
  verifyTlogProof,
} from '../src/index.js';

const vectorsFile = sharedData('tlog/transcribed-vectors.json');

interface SignedNoteVectors {
  signed_note_ed25519: [
    { vkey: string; note: string },
    { vkeys: [string, string]; skey_test_only: string; note: string },
  ];
  go_sumdb_tlog: Record<string, string>;
}

describe.skipIf(!vectorsFile)('signed-note vectors (transcribed-vectors.json)', () => {
  const v = (vectorsFile ? JSON.parse(readFileSync(vectorsFile, 'utf8')) : {}) as SignedNoteVectors;

  it('C2SP example: key ID recomputed, signature verifies, tampering fails', () => {
    const { vkey, note } = v.signed_note_ed25519[0];
    const verifier = parseVerifierKey(vkey);
    expect(verifier.name).toBe('example.com/foo');
    expect(verifier.keyId.toString(16)).toBe('530d903a');
    expect(ed25519NoteKeyId(verifier.name, verifier.publicKey)).toBe(0x530d903a);
    expect(formatVerifierKey(verifier.name, verifier.publicKey)).toBe(vkey);
    const verdict = verifyNote(note, [verifier]);
    expect(verdict.ok).toBe(true);
    if (verdict.ok) {
      expect(verdict.text).toBe('This is an example message.\n');
      expect(verdict.verified.map((s) => s.name)).toEqual(['example.com/foo']);
    }
    expect(verifyNote(note.replace('example message', 'exemple message'), [verifier])).toEqual({
      ok: false,
      reason: 'signature by example.com/foo+530d903a does not verify',
    });
    expect(formatNote(parseNote(note))).toBe(note);
  });

  it('Go sumdb/note two-signer note: both verify; signing with the test key reproduces the line byte for byte', () => {
    const { vkeys, skey_test_only: skey, note } = v.signed_note_ed25519[1];
    const [peter, enoch] = vkeys.map(parseVerifierKey) as [
      ReturnType<typeof parseVerifierKey>,
      ReturnType<typeof parseVerifierKey>,
    ];
    const both = verifyNote(note, [peter, enoch]);
    expect(both.ok && both.verified.map((s) => s.name)).toEqual(['PeterNeumann', 'EnochRoot']);
    // Only one key known: the other signature is ignored, the note still opens.
    const one = verifyNote(note, [enoch]);
    expect(one.ok && one.unknown.map((s) => s.name)).toEqual(['PeterNeumann']);

    const signer = parseSignerKey(skey);
    expect(formatVerifierKey(signer.name, signer.publicKey)).toBe(vkeys[0]);
    expect(formatSignerKey(signer.name, signer.seed)).toBe(skey);
    const text = parseNote(note).text;
    const signed = signNote(text, [signer]);
    const peterLine = note.split('\n').find((l) => l.startsWith('— PeterNeumann '))!;
    expect(signed).toBe(`${text}\n${peterLine}\n`);
    expect(addNoteSignatures(signed, [])).toBe(signed);
    console.log('signed-note: 2 vector notes (3 signatures) verified, 1 signature reproduced byte for byte');
  });

  it('Go sumdb checkpoint text (FormatTree golden) and RecordHash', () => {
    const g = v.go_sumdb_tlog;
    const record = g["RecordHash('hello world') base64 (== RFC6962 leaf hash)"]!;
    expect(toBase64(leafHash(utf8('hello world')))).toBe(record);
    const cp: Checkpoint = {
      origin: 'go.sum database tree',
      size: 123456789012,
      rootHash: fromBase64(record),
    };
    const golden = g['FormatTree(N=123456789012, H=above)']!;
    expect(formatCheckpoint(cp)).toBe(golden);
    expect(parseCheckpoint(golden)).toEqual(cp);
  });
});

describe('signed notes: rules and malformed input', () => {
  const a = ed25519NoteSigner('log.example/a', new Uint8Array(32).fill(1));
  const b = ed25519NoteSigner('witness.example/b', new Uint8Array(32).fill(2));
  const text = 'hello\n\nworld\n';

  it('text is split at the last blank line; empty lines inside the text are kept', () => {
    const signed = signNote(text, [a, b]);
    const parsed = parseNote(signed);
    expect(parsed.text).toBe(text);
    expect(parsed.signatures).toHaveLength(2);
    expect(verifyNote(utf8(signed), [a, b]).ok).toBe(true);
  });

  it('adds cosignatures after the existing lines; refuses a key that already signed', () => {
    const signed = signNote(text, [a]);
    expect(addNoteSignatures(signed, [b])).toBe(signNote(text, [a, b])); // Ed25519 is deterministic
    expect(() => addNoteSignatures(signed, [a])).toThrow(/has already signed/);
  });

  it('ignores unknown keys, including a known name with another key ID, and a known ID under another name', () => {
    const impostor = ed25519NoteSigner('log.example/a', new Uint8Array(32).fill(9)); // same name, other key
    const signed = signNote(text, [impostor, b]);
    const verdict = verifyNote(signed, [a, b]);
    expect(verdict.ok && verdict.unknown.map((s) => s.name)).toEqual(['log.example/a']);
    expect(verifyNote(signNote(text, [impostor]), [a])).toEqual({
      ok: false,
      reason: expect.stringMatching(/^no signature from a known key/),
    });
    const renamed = signNote(text, [a]).replace('— log.example/a ', '— log.example/z ');
    expect(verifyNote(renamed, [a]).ok).toBe(false);
  });

  it('rejects a note where a known key fails, or signs twice', () => {
    const signed = signNote(text, [a, b]);
    const lines = signed.split('\n');
    // Lines: hello, '', world, '', — a …, — b …, ''
    const sigB = fromBase64(lines[5]!.split(' ')[2]!);
    sigB[10]! ^= 1;
    lines[5] = `— witness.example/b ${toBase64(sigB)}`;
    expect(verifyNote(lines.join('\n'), [a, b])).toEqual({
      ok: false,
      reason: expect.stringMatching(/^signature by witness\.example\/b\+[0-9a-f]{8} does not verify$/),
    });
    // …but not if that key is unknown to this verifier.
    expect(verifyNote(lines.join('\n'), [a]).ok).toBe(true);
    const twice = `${signed}${signed.split('\n')[4]}\n`;
    expect(verifyNote(twice, [a])).toEqual({
      ok: false,
      reason: expect.stringMatching(/signed the note more than once/),
    });
  });

  it('refuses malformed notes with a reason', () => {
    const good = signNote(text, [a]);
    const sigLine = good.split('\n')[4]!;
    expect(sigLine.startsWith('— log.example/a ')).toBe(true);
    const cases: Array<[string | Uint8Array, RegExp]> = [
      ['hello\n', /no blank line/],
      ['hello\n\n', /no signature lines/],
      [`hello\n\n${sigLine}`, /does not end with a newline/],
      [`hello\n\n${sigLine}\n\n`, /no signature lines/],
      [`hel\u0007lo\n\n${sigLine}\n`, /control character U\+0007/],
      [`hello\r\n\n${sigLine}\n`, /control character U\+000d/],
      [`hello\n\n- log.example/a AAAAAAA=\n`, /does not start with "— "/],
      [`hello\n\n— log.example/a\n`, /no space/],
      [`hello\n\n— log example AAAAAAA=\n`, /not valid base64/],
      [`hello\n\n— a+b AAAAAAA=\n`, /key name "a\+b" is not valid/],
      [`hello\n\n— log.example/a AAAA\n`, /too short/],
      [`hello\n\n— log.example/a AAAAAA==\n`, /too short/],
      [new Uint8Array([0x68, 0xff, 0x0a, 0x0a]), /not valid UTF-8/],
      [`hello\n\n${`${sigLine}\n`.repeat(101)}`, /more than the 100 accepted/],
    ];
    for (const [note, reason] of cases) {
      expect(() => parseNote(note), String(note)).toThrow(reason);
      const verdict = verifyNote(note, [a]);
      expect(verdict.ok).toBe(false);
    }
    expect(() => signNote('no newline', [a])).toThrow(/end with a newline/);
    expect(() => signNote('tab\there\n', [a])).toThrow(/control character/);
    expect(() => ed25519NoteSigner('has space', new Uint8Array(32))).toThrow(/not valid/);
    expect(() => ed25519NoteSigner('nbsp\u00a0name', new Uint8Array(32))).toThrow(/not valid/);
  });

  it('keys: generate, format and parse both forms; mismatched key IDs are refused', () => {
    const { skey, vkey } = generateNoteKey('pharos.example/log');
    const signer = parseSignerKey(skey);
    const verifier = parseVerifierKey(vkey);
    expect(verifier.keyId).toBe(signer.keyId);
    expect(verifyNote(signNote('x\n', [signer]), [verifier]).ok).toBe(true);
    const name = 'pharos.example/log';
    const id = vkey.slice(name.length + 1, name.length + 9);
    const key = vkey.slice(name.length + 10);
    const wrongId = ((Number.parseInt(id, 16) ^ 1) >>> 0).toString(16).padStart(8, '0');
    expect(() => parseVerifierKey(`${name}+${wrongId}+${key}`)).toThrow(/does not match the key/);
    // An upper-case letter in the ID (the random ID may have none: put one in).
    const upperId = `${id.slice(0, 7)}${'ABCDEF'[Number.parseInt(id[7]!, 16) % 6]}`;
    expect(() => parseVerifierKey(`${name}+${upperId}+${key}`)).toThrow(/8 lowercase hex/);
    expect(() => parseVerifierKey(`${name}+${id}`)).toThrow(/<name>\+<key ID>\+<key>/);
    expect(() => parseVerifierKey(`${name}+${id}+${toBase64(new Uint8Array(33).fill(2))}`)).toThrow(
      /signature type 0x02 is not supported/,
    );
    expect(() => parseVerifierKey(`${name}+${id}+${toBase64(new Uint8Array([1, 2, 3]))}`)).toThrow(
      /2 bytes, expected 32/,
    );
    expect(() => parseSignerKey(vkey)).toThrow(/PRIVATE\+KEY/);
    expect(() => parseSignerKey(skey.replace(id, wrongId))).toThrow(/does not match/);
  });
});

describe('tlog-checkpoint', () => {
  const root = new Uint8Array(32).map((_, i) => i);
  const cp: Checkpoint = { origin: 'pharos.example/log', size: 42, rootHash: root };
  const log = ed25519NoteSigner('pharos.example/log', new Uint8Array(32).fill(7));
  const witness = ed25519NoteSigner('witness.example/w1', new Uint8Array(32).fill(8));

  it('formats and parses, with and without extension lines', () => {
    expect(formatCheckpoint(cp)).toBe(`pharos.example/log\n42\n${toBase64(root)}\n`);
    expect(parseCheckpoint(formatCheckpoint(cp))).toEqual(cp);
    const ext = { ...cp, extensions: ['Timestamp: 1689177396617352539'] };
    expect(parseCheckpoint(formatCheckpoint(ext))).toEqual(ext);
    expect(parseCheckpoint(`o\n0\n${toBase64(emptyRoot())}\n`).size).toBe(0);
  });

  it('parses strictly', () => {
    const r = toBase64(root);
    const cases: Array<[string, RegExp]> = [
      [`o\n42\n${r}`, /end with a newline/],
      [`o\n42\n`, /needs at least 3/],
      [`\n42\n${r}\n`, /origin line is empty/],
      [`o\n042\n${r}\n`, /without leading zeroes/],
      [`o\n+42\n${r}\n`, /without leading zeroes/],
      [`o\n4 2\n${r}\n`, /without leading zeroes/],
      [`o\n-1\n${r}\n`, /without leading zeroes/],
      [`o\n9007199254740993\n${r}\n`, /too large/],
      [`o\n42\n${r.slice(0, -4)}\n`, /expected 32/],
      [`o\n42\n${r.replace('=', '')}\n`, /not valid base64/],
      [`o\n42\n${r}\n\n`, /extension line 1 is empty/],
      [`o\n42\n${r}\next\n\n`, /extension line 2 is empty/],
    ];
    for (const [text, reason] of cases)
      expect(() => parseCheckpoint(text), JSON.stringify(text)).toThrow(reason);
    expect(() => formatCheckpoint({ ...cp, origin: 'a\nb' })).toThrow(/control character or newline/);
    expect(() => formatCheckpoint({ ...cp, size: -1 })).toThrow(/non-negative/);
    expect(() => formatCheckpoint({ ...cp, rootHash: new Uint8Array(31) })).toThrow(/31 bytes/);
  });

  it('opens only when the log key signed it and the origin is the expected one', () => {
    const signed = signCheckpoint(cp, [log, witness]);
    const opened = openCheckpoint(signed, log, { otherVerifiers: [witness] });
    expect(opened.ok && opened.checkpoint).toEqual(cp);
    expect(opened.ok && opened.verified.length).toBe(2);
    expect(openCheckpoint(signed, log).ok).toBe(true); // witness unknown: ignored
    expect(openCheckpoint(signed, log, { origin: 'other.example/log' })).toEqual({
      ok: false,
      reason: 'checkpoint origin is "pharos.example/log", expected "other.example/log"',
    });
    const witnessOnly = signCheckpoint(cp, [witness]);
    expect(openCheckpoint(witnessOnly, log, { otherVerifiers: [witness] })).toEqual({
      ok: false,
      reason: 'checkpoint is not signed by the log key pharos.example/log',
    });
    const tampered = signed.replace('\n42\n', '\n43\n');
    expect(openCheckpoint(tampered, log)).toEqual({
      ok: false,
      reason: expect.stringMatching(
        /^checkpoint signature: signature by pharos\.example\/log\+[0-9a-f]{8} does not verify$/,
      ),
    });
    const badBody = signNote('pharos.example/log\n042\nxx\n', [log]);
    expect(openCheckpoint(badBody, log)).toEqual({
      ok: false,
      reason: expect.stringMatching(/^checkpoint: tree size/),
    });
  });
});

describe('tlog-proof', () => {
  const logSigner = ed25519NoteSigner('pharos.example/log', new Uint8Array(32).fill(3));
  const logKey = parseVerifierKey(formatVerifierKey(logSigner.name, logSigner.publicKey));
  const witness = ed25519NoteSigner('witness.example/w1', new Uint8Array(32).fill(4));
  const entries = Array.from({ length: 100 }, (_, i) => utf8(`{"measurement":${i}}`));
  const tree = new MemoryTree();
  for (const e of entries) tree.append(e);
  const checkpoint = signCheckpoint({ origin: logSigner.name, size: 100, rootHash: tree.root() }, [
    logSigner,
    witness,
  ]);

  it('round-trips and verifies every entry of a 100-entry log end to end', () => {
    for (let i = 0; i < 100; i++) {
      const text = formatTlogProof({ index: i, hashes: tree.inclusionProof(i), checkpoint });
      expect(text.startsWith(`${TLOG_PROOF_HEADER}\nindex ${i}\n`)).toBe(true);
      const parsed = parseTlogProof(text);
      expect(formatTlogProof(parsed)).toBe(text);
      const verdict = verifyTlogProof(text, logKey, { entry: entries[i]! });
      expect(verdict.ok, verdict.ok ? '' : verdict.reason).toBe(true);
      expect(verifyTlogProof(text, logKey, { leafHash: leafHash(entries[i]!) }).ok).toBe(true);
    }
    console.log('tlog-proof: 100 proofs formatted, parsed and verified end to end');
  });

  it('carries optional extra data (unauthenticated) and an exact layout', () => {
    const extra = utf8('measurement-id 20260101T000000Z_webconnectivity_XX_1_n1_abc');
    const text = formatTlogProof({ extra, index: 3, hashes: tree.inclusionProof(3), checkpoint });
    const lines = text.split('\n');
    expect(lines[0]).toBe('c2sp.org/tlog-proof@v1');
    expect(lines[1]).toBe(`extra ${toBase64(extra)}`);
    expect(lines[2]).toBe('index 3');
    expect(lines.slice(3, 10)).toEqual(tree.inclusionProof(3).map(toBase64));
    expect(lines[10]).toBe('');
    expect(text.endsWith(checkpoint)).toBe(true);
    const verdict = verifyTlogProof(text, logKey, { entry: entries[3]! });
    expect(verdict.ok && toHex(verdict.extra!)).toBe(toHex(extra));
    // A one-entry log: no proof hashes, the blank line follows the index directly.
    const single = new MemoryTree();
    single.append(entries[0]!);
    const cp1 = signCheckpoint({ origin: logSigner.name, size: 1, rootHash: single.root() }, [logSigner]);
    const text1 = formatTlogProof({ index: 0, hashes: [], checkpoint: cp1 });
    expect(text1).toBe(`c2sp.org/tlog-proof@v1\nindex 0\n\n${cp1}`);
    expect(verifyTlogProof(text1, logKey, { entry: entries[0]! }).ok).toBe(true);
  });

  it('fails, in plain words, on any tampering', () => {
    const text = formatTlogProof({ index: 7, hashes: tree.inclusionProof(7), checkpoint });
    const fails = (t: string, opts: Parameters<typeof verifyTlogProof>[2], key = logKey): string => {
      const v = verifyTlogProof(t, key, opts);
      expect(v.ok).toBe(false);
      return v.ok ? '' : v.reason;
    };
    expect(fails(text, { entry: entries[8]! })).toMatch(
      /^entry 7 is not proven in the log: inclusion proof leads to root/,
    );
    expect(fails(text.replace('index 7', 'index 6'), { entry: entries[7]! })).toMatch(/not proven/);
    expect(fails(text.replace('index 7', 'index 100'), { entry: entries[7]! })).toMatch(
      /index 100 is not in the checkpoint's tree of size 100/,
    );
    const lines = text.split('\n');
    const h = fromBase64(lines[3]!);
    h[0]! ^= 0x80;
    const flipped = [...lines.slice(0, 3), toBase64(h), ...lines.slice(4)].join('\n');
    expect(fails(flipped, { entry: entries[7]! })).toMatch(/not proven/);
    const dropped = [...lines.slice(0, 3), ...lines.slice(4)].join('\n');
    expect(fails(dropped, { entry: entries[7]! })).toMatch(/proof has 6 hashes, expected 7/);
    expect(fails(text.replace('\n100\n', '\n101\n'), { entry: entries[7]! })).toMatch(
      /^checkpoint signature/,
    );
    const other = ed25519NoteSigner('pharos.example/log', new Uint8Array(32).fill(5));
    expect(
      fails(text, { entry: entries[7]! }, parseVerifierKey(formatVerifierKey(other.name, other.publicKey))),
    ).toMatch(/no signature from a known key/);
    expect(fails(text, { entry: entries[7]!, origin: 'x.example/log' })).toMatch(/origin/);
    expect(fails(text, {})).toMatch(/either the entry or its leaf hash/);
    expect(fails(text.slice(0, 40), { entry: entries[7]! })).toMatch(/^tlog-proof: /);
  });

  it('parses strictly', () => {
    const cp = checkpoint;
    const h = toBase64(new Uint8Array(32));
    const cases: Array<[string, RegExp]> = [
      [`c2sp.org/tlog-proof@v2\nindex 0\n\n${cp}`, /first line must be/],
      [`c2sp.org/tlog-proof@v1\nindex 01\n\n${cp}`, /must be "index N"/],
      [`c2sp.org/tlog-proof@v1\nindex -1\n\n${cp}`, /must be "index N"/],
      [`c2sp.org/tlog-proof@v1\nextra \nindex 0\n\n${cp}`, /extra line has no data/],
      [`c2sp.org/tlog-proof@v1\nextra !!!!\nindex 0\n\n${cp}`, /extra data is not valid base64/],
      [`c2sp.org/tlog-proof@v1\nindex 0\n${h.slice(4)}\n\n${cp}`, /proof hash has 29 bytes/],
      [`c2sp.org/tlog-proof@v1\nindex 0\n${h}\n`, /truncated/],
      [`c2sp.org/tlog-proof@v1\nindex 0\n${h}\n\n`, /no checkpoint/],
      [`c2sp.org/tlog-proof@v1\nindex 0\n${`${h}\n`.repeat(65)}\n${cp}`, /more than 64 proof hashes/],
    ];
    for (const [text, reason] of cases) expect(() => parseTlogProof(text), text.slice(0, 60)).toThrow(reason);
  });
});

describe('consistency between two checkpoints', () => {
  it('accepts a proper extension, refuses forks, other logs and shrinking', () => {
    const tree = new MemoryTree();
    for (let i = 0; i < 20; i++) tree.append(utf8(`e${i}`));
    const at = (n: number): Checkpoint => ({ origin: 'o.example/log', size: n, rootHash: tree.root(n) });
    expect(verifyCheckpointConsistency(at(7), at(20), tree.consistencyProof(7, 20))).toEqual({ ok: true });
    expect(verifyCheckpointConsistency(at(20), at(20), [])).toEqual({ ok: true });
    expect(
      verifyCheckpointConsistency({ origin: 'o.example/log', size: 0, rootHash: emptyRoot() }, at(20), []),
    ).toEqual({
      ok: true,
    });
    const fork = new MemoryTree();
    for (let i = 0; i < 20; i++) fork.append(utf8(i === 3 ? 'forged' : `e${i}`));
    const forked: Checkpoint = { origin: 'o.example/log', size: 20, rootHash: fork.root() };
    expect(verifyCheckpointConsistency(at(7), forked, fork.consistencyProof(7, 20)).ok).toBe(false);
    expect(
      verifyCheckpointConsistency(
        at(7),
        { ...at(20), origin: 'p.example/log' },
        tree.consistencyProof(7, 20),
      ),
    ).toEqual({
      ok: false,
      reason: 'checkpoints are from different logs (o.example/log and p.example/log)',
    });
    expect(verifyCheckpointConsistency(at(20), at(7), []).ok).toBe(false);
  });
});
