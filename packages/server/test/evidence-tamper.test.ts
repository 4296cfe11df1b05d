/**
 * Tampering with the data at rest, as someone with the disk would: one stored measurement's body
 * changed in its body file, one byte of a tile or entry bundle flipped. `pharos check` (and the running
 * store's verifyIntegrity) must name what changed, and `pharos verify` must refuse the evidence
 * that depends on it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { type EvidenceStore, openEvidenceStore } from '../src/evidence/index.js';
import { incoming, recordingIO, sampleMeasurement, tempDir, testProbe } from './evidence-fixtures.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let dataDir: string;
let store: EvidenceStore | undefined;
const probe = testProbe();
const ms = Array.from({ length: 300 }, (_, i) => incoming(probe, sampleMeasurement(i, { bytes: 400 })));

beforeEach(async () => {
  tmp = await tempDir('pharos-tamper-');
  dataDir = path.join(tmp.dir, 'data');
  const s = await openEvidenceStore({ dataDir });
  await s.append(ms.slice(0, 280));
  await s.append(ms.slice(280));
  await s.close();
});
afterEach(async () => {
  await store?.close();
  store = undefined;
  await tmp.remove();
});

async function run(...argv: string[]) {
  const r = recordingIO(tmp.dir);
  const code = await main(argv, r.io);
  return { code, stdout: r.stdout(), stderr: r.stderr() };
}

async function sql(statement: string): Promise<void> {
  const db = await DuckDBInstance.create(path.join(dataDir, 'pharos.duckdb'));
  const c = await db.connect();
  await c.run(statement);
  c.closeSync();
  db.closeSync();
}

async function flipByte(relative: string, offset: number): Promise<void> {
  const file = path.join(dataDir, 'log', relative);
  const data = await readFile(file);
  data[offset]! ^= 0x01;
  await writeFile(file, data);
}

/** Writes the measurement's API JSON, proof and the vkey as a third party would download them. */
async function downloadEvidence(s: EvidenceStore, index: number): Promise<string[]> {
  await writeFile(path.join(tmp.dir, 'm.json'), JSON.stringify(await s.getMeasurement(ms[index]!.id)));
  await writeFile(path.join(tmp.dir, 'm.tlog-proof'), (await s.tlogProof(ms[index]!.id))!);
  await writeFile(path.join(tmp.dir, 'log.vkey'), `${s.vkey}\n`);
  return ['verify', '--measurement', 'm.json', '--proof', 'm.tlog-proof', '--vkey', 'log.vkey'];
}

describe('an untouched data directory', () => {
  it('passes pharos check', async () => {
    const r = await run('check', '--data', dataDir);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      'checked 300 log entries, 300 measurements (300 signatures), 3 tiles, 2 entry bundles and 3 checkpoints\nno problems found\n',
    );
    expect(r.code).toBe(0);
  });
});

describe('pharos check itself', () => {
  it('reports as JSON, and says when a directory holds no evidence', async () => {
    const r = await run('check', '--data', dataDir, '--json', '--no-signatures');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, treeSize: 300, tileTreeSize: 300, problems: [] });
    expect(JSON.parse(r.stdout).checked.signatures).toBe(0);
    const empty = await run('check', '--data', tmp.dir);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/holds no evidence database \(pharos\.duckdb\)/);
    expect((await run('check')).code).toBe(2);
  });
});

describe('a measurement body changed in its body file', () => {
  it('is reported by pharos check and verifyIntegrity, and refused by pharos verify', async () => {
    // The same number of bytes, so that only this body changes.
    const file = path.join(dataDir, 'bodies', '000000.jsonl');
    const data = await readFile(file);
    const start = data.indexOf(ms[17]!.body);
    const at = data.indexOf('"blocking":false', start);
    expect(start).toBeGreaterThan(0);
    expect(at - start).toBeLessThan(ms[17]!.body.length);
    data.write('"blocking":"dns"', at);
    await writeFile(file, data);
    const where = `measurement ${ms[17]!.id.slice(0, 12)}… (log index 17)`;

    const check = await run('check', '--data', dataDir);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(`problem: ${where}: its stored body hashes to ${''}`);
    expect(check.stdout).toMatch(
      /but its log entry records [0-9a-f]{64}: the body was changed after it was logged\n/,
    );
    expect(check.stdout).toMatch(/\n1 problem found\n$/);

    store = await openEvidenceStore({ dataDir });
    const report = await store.verifyIntegrity();
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      { where, problem: expect.stringMatching(/the body was changed after it was logged/) },
    ]);

    const verify = await run(...(await downloadEvidence(store, 17)));
    expect(verify.code).toBe(1);
    expect(verify.stderr).toMatch(
      /NOT verified: the measurement does not match its log entry: .* \(the measurement was changed after it was logged\)/,
    );
    // Its neighbours are untouched and still verify.
    expect((await run(...(await downloadEvidence(store, 18)))).code).toBe(0);
  });
});

describe('a tile byte flipped on disk', () => {
  it('is reported by pharos check and verifyIntegrity, and breaks the proofs that use it', async () => {
    // Hash 5 of the first level-0 tile: the leaf hash of entry 5, a sibling in entry 4's proof.
    await flipByte('tile/0/000', 5 * 32 + 3);

    const check = await run('check', '--data', dataDir);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(
      'problem: log/tile/0/000: hash 5 of 256 differs from the one computed from the log entries\n',
    );

    store = await openEvidenceStore({ dataDir });
    expect((await store.verifyIntegrity()).problems).toEqual([
      {
        where: 'log/tile/0/000',
        problem: 'hash 5 of 256 differs from the one computed from the log entries',
      },
    ]);
    const verify = await run(...(await downloadEvidence(store, 4)));
    expect(verify.code).toBe(1);
    expect(verify.stderr).toMatch(
      /NOT verified: the inclusion proof does not lead to the checkpoint's root: the log does not contain this entry at index 4 \(/,
    );
  });

  it('in an entry bundle, is reported by pharos check', async () => {
    await flipByte('tile/entries/000', 40);
    const check = await run('check', '--data', dataDir);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(
      /problem: log\/tile\/entries\/000: entry 0 in this bundle differs from log entry 0 in the database\n/,
    );
  });
});

describe('other damage', () => {
  it('names a deleted tile, a stray file and a measurement missing from the log', async () => {
    const { rm, mkdir } = await import('node:fs/promises');
    await rm(path.join(dataDir, 'log/tile/0/001.p/44'));
    await mkdir(path.join(dataDir, 'log/tile/0/009.p'), { recursive: true });
    await writeFile(path.join(dataDir, 'log/tile/0/009.p/3'), Buffer.alloc(96));
    await sql('DELETE FROM measurements WHERE log_index = 250');
    const check = await run('check', '--data', dataDir);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain('problem: log/tile/0/001.p/44: tile is missing\n');
    expect(check.stdout).toContain('problem: log/tile/0/009.p/3: is beyond the log (300 entries)\n');
    expect(check.stdout).toContain('problem: log entry 250: has no stored measurement\n');
  });

  it('refuses to start a log whose published entries were changed', async () => {
    await sql(
      `UPDATE log_entries SET entry = replace(entry::VARCHAR, 'false', 'true ')::BLOB WHERE idx = 299`,
    );
    await expect(openEvidenceStore({ dataDir })).rejects.toThrow(
      /log entry 299 is not the entry the published log holds at that index \(its hash differs from tile\/0\/001\.p\/44\): it was changed after it was published/,
    );
    const check = await run('check', '--data', dataDir);
    expect(check.stdout).toContain(
      'problem: log entry 299: its stored leaf hash is not the hash of its bytes\n',
    );
  });
});
