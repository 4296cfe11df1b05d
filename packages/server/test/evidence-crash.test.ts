/**
 * kill -9 in the middle of appends: a child process appends from several concurrent writers and
 * prints each acknowledged index and each checkpoint it served; the test kills it (twice, with a
 * restart in between), reopens the store and checks that every acknowledged measurement is
 * stored at its index, in the log, and that the new checkpoint is consistent with every
 * checkpoint served before the kills. The child runs the built store (dist/), as a server would.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  leafHash,
  openCheckpoint,
  parseVerifierKey,
  utf8,
  verifyCheckpointConsistency,
  verifyInclusion,
} from '@pharos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEvidenceStore } from '../src/evidence/index.js';
import { tempDir } from './evidence-fixtures.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const builtStore = path.resolve(here, '../dist/evidence/index.js');
const builtCore = path.resolve(here, '../../core/dist/index.js');

// The child: 4 writers append batches of 1-16 small signed measurements as fast as they can.
const CHILD = `
import { generateKeyPairSync, createHash, sign } from 'node:crypto';
const { openEvidenceStore } = await import(${JSON.stringify(pathToFileURL(builtStore).href)});
const { canonicalJSON } = await import(${JSON.stringify(pathToFileURL(builtCore).href)});
const [dataDir, run] = process.argv.slice(-2);
const store = await openEvidenceStore({ dataDir });
const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const probeKey = Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url').toString('base64');
let served = '';
const report = () => {
  const cp = store.checkpoint();
  if (cp !== served) { served = cp; process.stdout.write('cp ' + Buffer.from(cp).toString('base64') + '\\n'); }
};
report();
let n = 0;
const one = () => {
  const m = { input: 'https://x' + run + '-' + n + '.example/', n: n++, padding: 'p'.repeat(400), run, test_name: 'web_connectivity' };
  const canonical = canonicalJSON(m);
  return { id: createHash('sha256').update(canonical).digest('hex'), body: Buffer.from(canonical), measurement: m, probeKey,
    signature: sign(null, Buffer.from(canonical), privateKey).toString('base64'), scrubbed: false, receivedAt: new Date(),
    network: { derivedCC: null, derivedASN: null, claimedCC: 'ZZ', claimedASN: 'AS0', mismatch: false } };
};
async function writer() {
  for (;;) {
    const batch = Array.from({ length: 1 + Math.floor(Math.random() * 16) }, one);
    const results = await store.append(batch);
    process.stdout.write(results.map((r) => 'ack ' + r.log_index + ' ' + r.id + '\\n').join(''));
    report();
  }
}
await Promise.all([writer(), writer(), writer(), writer()]);
`;

let tmp: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  if (!existsSync(builtStore))
    throw new Error(`${builtStore} is missing: build first (npx tsc -b packages/server)`);
  tmp = await tempDir('pharos-crash-');
});
afterAll(async () => {
  await tmp.remove();
});

/** Runs the child until it has acknowledged `acks` measurements, then kills it with SIGKILL. */
function runAndKill(
  dataDir: string,
  run: string,
  acks: number,
): Promise<{ acked: Map<string, number>; served: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, dataDir, run], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acked = new Map<string, number>();
    const served: string[] = [];
    let buffered = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const [kind, a, b] = line.split(' ');
        if (kind === 'ack') acked.set(b!, Number(a));
        else if (kind === 'cp') served.push(Buffer.from(a!, 'base64').toString());
      }
      if (!killed && acked.size >= acks) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited with ${code}: ${stderr}`));
      else resolve({ acked, served });
    });
  });
}

describe('kill -9 while appending', () => {
  it('loses no acknowledged measurement and forks no checkpoint', async () => {
    const dataDir = path.join(tmp.dir, 'data');
    const first = await runAndKill(dataDir, 'a', 1500);
    const second = await runAndKill(dataDir, 'b', 1500);
    const acked = new Map([...first.acked, ...second.acked]);
    const served = [...first.served, ...second.served];
    expect(acked.size).toBeGreaterThanOrEqual(3000);
    expect(served.length).toBeGreaterThan(2);

    const store = await openEvidenceStore({ dataDir });
    try {
      const verifier = parseVerifierKey(store.vkey);
      const now = openCheckpoint(store.checkpoint(), verifier);
      if (!now.ok) throw new Error(now.reason);
      expect(now.checkpoint.size).toBeGreaterThan(Math.max(...acked.values()));
      // A sample through the API, with inclusion proofs against the new checkpoint.
      const sample = [...acked].filter((_, i) => i % 50 === 0);
      for (const [id, index] of sample) {
        const m = await store.getMeasurement(id);
        expect(m?.log_index).toBe(index);
        const proof = await store.inclusionProof(index);
        expect(
          verifyInclusion(
            index,
            now.checkpoint.size,
            leafHash(utf8(m!.entry)),
            proof,
            now.checkpoint.rootHash,
          ),
        ).toEqual({
          ok: true,
        });
      }
      // Every checkpoint served before the kills is a prefix of today's.
      for (const note of served) {
        const old = openCheckpoint(note, verifier);
        if (!old.ok) throw new Error(old.reason);
        const proof = await store.consistencyProof(old.checkpoint.size, now.checkpoint.size);
        expect(verifyCheckpointConsistency(old.checkpoint, now.checkpoint, proof)).toEqual({ ok: true });
      }
      // Every entry has its measurement, every tile and checkpoint agrees with the entries.
      const report = await store.verifyIntegrity({ signatures: false });
      expect(report.problems).toEqual([]);
    } finally {
      await store.close();
    }
    // Every acknowledged measurement is stored at the index it was acknowledged with.
    const db = await DuckDBInstance.create(path.join(dataDir, 'pharos.duckdb'), { access_mode: 'READ_ONLY' });
    const rows = (
      await (await db.connect()).runAndReadAll('SELECT id, log_index FROM measurements')
    ).getRowsJS();
    db.closeSync();
    const stored = new Map(rows.map(([id, index]) => [id as string, Number(index)]));
    const lost = [...acked].filter(([id, index]) => stored.get(id) !== index);
    expect(lost).toEqual([]);
  }, 120_000);
});

describe('a script that appends and closes', () => {
  // Nothing but the store keeps such a process alive: a close that waited for a timer that does
  // not hold the event loop (the publisher's pause) never finished, and the process exited early.
  it('gets to the end of its close, with everything published', async () => {
    const dataDir = path.join(tmp.dir, 'script');
    const script = `
      const { openEvidenceStore } = await import(${JSON.stringify(pathToFileURL(builtStore).href)});
      const { createHash } = await import('node:crypto');
      const store = await openEvidenceStore({ dataDir: process.argv.at(-1) });
      for (let n = 0; n < 3; n++) {
        const body = Buffer.from(JSON.stringify({ n, test_name: 'web_connectivity' }));
        await store.append([{ id: createHash('sha256').update(body).digest('hex'), body,
          measurement: { n, test_name: 'web_connectivity' }, probeKey: Buffer.alloc(32, 7).toString('base64'),
          signature: Buffer.alloc(64, 9).toString('base64'), scrubbed: false, receivedAt: new Date(),
          network: { derivedCC: null, derivedASN: null, claimedCC: 'ZZ', claimedASN: 'AS0', mismatch: false } }]);
      }
      await store.close();
      process.stdout.write('closed at size ' + store.checkpoint().split('\\n')[1]);
    `;
    const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script, dataDir], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.on('error', reject);
      child.on('exit', (c) => resolve({ code: c, out }));
    });
    expect(out).toBe('closed at size 3');
    expect(code).toBe(0);
  });
});
