/**
 * `pharos verify`, offline, with the files a third party would have: the measurement JSON from
 * the API, its .tlog-proof, the log's vkey; or two checkpoints and a consistency proof. Every
 * failure must say in plain words what does not hold.
 */
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateNoteKey, parseSignerKey, signCheckpoint, toBase64 } from '@pharos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { type EvidenceStore, openEvidenceStore } from '../src/evidence/index.js';
import { incoming, recordingIO, sampleMeasurement, tempDir, testProbe } from './evidence-fixtures.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let store: EvidenceStore;
const probe = testProbe();
const ms = Array.from({ length: 40 }, (_, i) => incoming(probe, sampleMeasurement(i)));
const scrubbed = incoming(probe, sampleMeasurement(99, { probeIP: '203.0.113.9' }), { scrub: '203.0.113.9' });
let checkpoint10 = '';
let checkpoint40 = '';

async function published(size: number): Promise<void> {
  for (let i = 0; i < 500 && store.treeSize() < size; i++) await new Promise((r) => setTimeout(r, 10));
}

beforeAll(async () => {
  tmp = await tempDir('pharos-verify-');
  store = await openEvidenceStore({ dataDir: tmp.dir });
  await store.append(ms.slice(0, 10));
  await published(10);
  checkpoint10 = store.checkpoint();
  await store.append(ms.slice(10));
  await published(40);
  checkpoint40 = store.checkpoint();
  await store.append([scrubbed]);
  await published(41);
  const write = (name: string, text: string) => writeFile(path.join(tmp.dir, name), text);
  for (const [name, m] of [
    ['m5', ms[5]!],
    ['m6', ms[6]!],
    ['scrubbed', scrubbed],
  ] as const) {
    await write(`${name}.json`, JSON.stringify(await store.getMeasurement(m.id), null, 2));
    await write(`${name}.tlog-proof`, (await store.tlogProof(m.id))!);
  }
  await copyFile(path.join(tmp.dir, 'keys/log.vkey'), path.join(tmp.dir, 'log.vkey'));
  await write('old.checkpoint', checkpoint10);
  await write('new.checkpoint', checkpoint40);
  const proof = await store.consistencyProof(10, 40);
  await write('10-40.proof', proof.map((h) => `${toBase64(h)}\n`).join(''));
});
afterAll(async () => {
  await store.close();
  await tmp.remove();
});

async function verify(...args: string[]) {
  const r = recordingIO(tmp.dir);
  const code = await main(['verify', ...args], r.io);
  return { code, stdout: r.stdout(), stderr: r.stderr() };
}

const measurementArgs = (json: string, proof: string, vkey = 'log.vkey') => [
  '--measurement',
  json,
  '--proof',
  proof,
  '--vkey',
  vkey,
];

describe('pharos verify --measurement', () => {
  it('verifies a measurement, its inclusion, the checkpoint and the probe signature', async () => {
    const r = await verify(...measurementArgs('m5.json', 'm5.tlog-proof'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^verified: measurement ${ms[5]!.id} is entry 5 of pharos\\.local/log \\(checkpoint of size 41, root [A-Za-z0-9+/=]+, signed by pharos\\.local/log\\+[0-9a-f]{8}\\); its content matches the entry; signed by probe key ${probe.publicKey.replace(/[+/]/g, '\\$&')}\\n$`,
      ),
    );
  });

  it('verifies a scrubbed measurement, saying why its probe signature is not checked', async () => {
    const r = await verify(...measurementArgs('scrubbed.json', 'scrubbed.tlog-proof'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^verified: measurement [0-9a-f]{64} is entry 40 of pharos\.local\/log/);
    expect(r.stdout).toMatch(
      /note: the probe's signature was not checked: the collector scrubbed the submitter's address/,
    );
  });

  it('refuses a measurement changed after it was logged', async () => {
    const m = JSON.parse(await readFile(path.join(tmp.dir, 'm5.json'), 'utf8'));
    m.measurement.test_keys.blocking = 'dns';
    await writeFile(path.join(tmp.dir, 'tampered.json'), JSON.stringify(m));
    const r = await verify(...measurementArgs('tampered.json', 'm5.tlog-proof'));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^pharos verify: NOT verified: the measurement does not match its log entry: the SHA-256 of its canonical JSON is [0-9a-f]{64}, but the entry logged at index 5 records [0-9a-f]{64} \(the measurement was changed after it was logged\)\n$/,
    );
  });

  it('refuses a checkpoint that the given vkey did not sign', async () => {
    const other = generateNoteKey('pharos.local/log');
    await writeFile(path.join(tmp.dir, 'other.vkey'), `${other.vkey}\n`);
    const r = await verify(...measurementArgs('m5.json', 'm5.tlog-proof', 'other.vkey'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `NOT verified: checkpoint signature does not verify with vkey ${other.vkey.split('+').slice(0, 2).join('+')}`,
    );
  });

  it('refuses a proof for another index', async () => {
    const proof = await readFile(path.join(tmp.dir, 'm5.tlog-proof'), 'utf8');
    await writeFile(path.join(tmp.dir, 'moved.tlog-proof'), proof.replace('\nindex 5\n', '\nindex 17\n'));
    const moved = await verify(...measurementArgs('m5.json', 'moved.tlog-proof'));
    expect(moved.code).toBe(1);
    expect(moved.stderr).toMatch(
      /NOT verified: the inclusion proof does not lead to the checkpoint's root: the log does not contain this entry at index 17 \(/,
    );
    // The proof of another measurement, without its entry: the same answer for that index.
    const m6 = await readFile(path.join(tmp.dir, 'm6.tlog-proof'), 'utf8');
    await writeFile(path.join(tmp.dir, 'bare6.tlog-proof'), m6.replace(/^extra .*\n/m, ''));
    expect((await verify(...measurementArgs('m5.json', 'bare6.tlog-proof'))).stderr).toMatch(
      /the log does not contain this entry at index 6/,
    );
    // With its entry: the proof is plainly for something else.
    expect((await verify(...measurementArgs('m5.json', 'm6.tlog-proof'))).stderr).toMatch(
      /NOT verified: the proof file is for a different log entry than the measurement file \(the proof is for index 6, the measurement's log_index is 5\)/,
    );
  });

  it('refuses a signature that is not the probe’s', async () => {
    const m = JSON.parse(await readFile(path.join(tmp.dir, 'm5.json'), 'utf8'));
    m.signature = JSON.parse(await readFile(path.join(tmp.dir, 'm6.json'), 'utf8')).signature;
    await writeFile(path.join(tmp.dir, 'badsig.json'), JSON.stringify(m));
    const r = await verify(...measurementArgs('badsig.json', 'm5.tlog-proof'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "NOT verified: the measurement's signature does not verify with the probe key",
    );
  });

  it('says what is wrong with malformed files and arguments', async () => {
    await writeFile(path.join(tmp.dir, 'junk.txt'), 'hello\n');
    expect((await verify(...measurementArgs('junk.txt', 'm5.tlog-proof'))).stderr).toMatch(
      /the measurement file is not JSON/,
    );
    expect((await verify(...measurementArgs('m5.json', 'junk.txt'))).stderr).toMatch(
      /the proof file is not a C2SP tlog-proof/,
    );
    expect((await verify(...measurementArgs('m5.json', 'm5.tlog-proof', 'junk.txt'))).stderr).toMatch(
      /the vkey is not a log verifier key/,
    );
    const missing = await verify(...measurementArgs('nope.json', 'm5.tlog-proof'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read --measurement nope\.json: ENOENT/);
    const partial = await verify('--measurement', 'm5.json');
    expect(partial.code).toBe(2);
    expect(partial.stderr).toMatch(
      /needs --measurement FILE.json, --proof FILE.tlog-proof and --vkey VKEY_FILE/,
    );
    expect((await verify()).code).toBe(2);
    const help = await verify('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('pharos verify --measurement FILE.json');
  });
});

describe('pharos verify --checkpoint --checkpoint --consistency-proof', () => {
  const args = (older: string, newer: string, proof = '10-40.proof') => [
    '--checkpoint',
    older,
    '--checkpoint',
    newer,
    '--consistency-proof',
    proof,
    '--vkey',
    'log.vkey',
  ];

  it('verifies that the log only grew between two checkpoints', async () => {
    const r = await verify(...args('old.checkpoint', 'new.checkpoint'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^verified: the checkpoint of size 10 \(root \S+\) is a prefix of the checkpoint of size 40 \(root \S+\) of pharos\.local\/log, both signed by pharos\.local\/log\+[0-9a-f]{8}: the log only grew between them\n$/,
    );
  });

  it('refuses checkpoints that the log key signed over different trees', async () => {
    // The log key itself signing a rewritten tree of size 40: the fork a seized server might try.
    const signer = parseSignerKey((await readFile(path.join(tmp.dir, 'keys/log.key'), 'utf8')).trim());
    const forged = signCheckpoint(
      { origin: 'pharos.local/log', size: 40, rootHash: new Uint8Array(32).fill(7) },
      [signer],
    );
    await writeFile(path.join(tmp.dir, 'forged.checkpoint'), forged);
    const r = await verify(...args('old.checkpoint', 'forged.checkpoint'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^pharos verify: NOT verified: the checkpoint of size 10 is not a prefix of the checkpoint of size 40: consistency proof leads to new root [0-9a-f]{64}, not to root2 0707/,
    );
    expect((await verify(...args('new.checkpoint', 'old.checkpoint'))).stderr).toMatch(
      /the checkpoint of size 40 is not a prefix of the checkpoint of size 10: the older checkpoint \(size 40\) is larger than the newer \(size 10\)/,
    );
    await writeFile(
      path.join(tmp.dir, 'short.proof'),
      (await readFile(path.join(tmp.dir, '10-40.proof'), 'utf8')).split('\n').slice(1).join('\n'),
    );
    expect((await verify(...args('old.checkpoint', 'new.checkpoint', 'short.proof'))).stderr).toMatch(
      /proof has \d+ hashes, expected \d+/,
    );
  });

  it('refuses a checkpoint not signed by the vkey', async () => {
    const other = generateNoteKey('pharos.local/log');
    const stranger = signCheckpoint({ origin: 'pharos.local/log', size: 40, rootHash: new Uint8Array(32) }, [
      parseSignerKey(other.skey),
    ]);
    await writeFile(path.join(tmp.dir, 'stranger.checkpoint'), stranger);
    const r = await verify(...args('old.checkpoint', 'stranger.checkpoint'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /NOT verified: new checkpoint signature does not verify with vkey pharos\.local\/log\+[0-9a-f]{8}/,
    );
  });

  it('needs exactly two checkpoints', async () => {
    const r = await verify(
      '--checkpoint',
      'old.checkpoint',
      '--consistency-proof',
      '10-40.proof',
      '--vkey',
      'log.vkey',
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/needs --checkpoint OLD --checkpoint NEW/);
  });
});
