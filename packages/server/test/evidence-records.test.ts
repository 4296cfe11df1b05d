/**
 * Records beside measurements in the evidence log (incident state changes): each one is a log
 * entry committing to the SHA-256 of its canonical JSON, readable by index over HTTP, provable
 * offline with `pharos verify --record`, and covered by `pharos check` like a measurement.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { canonicalJSON } from '@pharos/core';
import Fastify from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import {
  EvidenceInputError,
  type EvidenceStore,
  evidenceRoutes,
  openEvidenceStore,
  parseRecordEntry,
} from '../src/evidence/index.js';
import { incoming, recordingIO, sampleMeasurement, tempDir, testProbe } from './evidence-fixtures.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let dataDir: string;
let store: EvidenceStore | undefined;
const probe = testProbe();
const ms = Array.from({ length: 20 }, (_, i) => incoming(probe, sampleMeasurement(i, { bytes: 400 })));

const change = (n: number) => ({
  incident: `inc-${n}`,
  change: 'opened',
  by: 'detector',
  at: '2023-09-19T06:00:00.000Z',
  snapshot: { entity: 'region:AZ-FUZ', confidence: 0.5, note: 'Füzuli ✓' },
});

beforeEach(async () => {
  tmp = await tempDir('pharos-records-');
  dataDir = path.join(tmp.dir, 'data');
  store = await openEvidenceStore({ dataDir });
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

async function published(s: EvidenceStore, size: number): Promise<void> {
  for (let i = 0; i < 500 && s.treeSize() < size; i++) await new Promise((r) => setTimeout(r, 10));
}

describe('appendRecord', () => {
  it('logs a record as an entry committing to the SHA-256 of its canonical JSON', async () => {
    const s = store!;
    await s.append(ms.slice(0, 5));
    const body = change(1);
    const r = await s.appendRecord('incident', body);
    expect(r.log_index).toBe(5);
    expect(r.sha256).toBe(createHash('sha256').update(canonicalJSON(body)).digest('hex'));
    const stored = (await s.getRecord(5))!;
    expect(stored).toMatchObject({ kind: 'incident', log_index: 5, record: body, sha256: r.sha256 });
    expect(stored.entry).toBe(`{"kind":"incident","received":"${stored.received}","sha256":"${r.sha256}"}`);
    expect(parseRecordEntry(stored.entry)).toEqual({
      kind: 'incident',
      sha256: r.sha256,
      received: stored.received,
    });
    // A measurement's index is not a record, nor is an index beyond the log.
    expect(await s.getRecord(2)).toBeNull();
    expect(await s.getRecord(6)).toBeNull();
  });

  it('shares group commits with measurements: every index once, in one contiguous log', async () => {
    const s = store!;
    const results = await Promise.all([
      s.append(ms.slice(0, 10)),
      s.appendRecord('incident', change(1)),
      s.append(ms.slice(10)),
      s.appendRecord('incident', change(2)),
      s.appendRecord('incident', change(3)),
    ]);
    const indexes = [
      ...(results[0] as Array<{ log_index: number }>).map((x) => x.log_index),
      ...(results[2] as Array<{ log_index: number }>).map((x) => x.log_index),
      (results[1] as { log_index: number }).log_index,
      (results[3] as { log_index: number }).log_index,
      (results[4] as { log_index: number }).log_index,
    ].sort((a, b) => a - b);
    expect(indexes).toEqual(Array.from({ length: 23 }, (_, i) => i));
    await published(s, 23);
    expect(s.treeSize()).toBe(23);
    // A measurement sent again is still a duplicate; a record is never one (each is an event).
    const again = await s.append([ms[3]!]);
    expect(again[0]!.duplicate).toBe(true);
    const twice = await s.appendRecord('incident', change(1));
    expect(twice.log_index).toBe(23);
    await published(s, 24);
    expect((await s.verifyIntegrity()).problems).toEqual([]);
  });

  it('refuses what is not a record, and logs nothing', async () => {
    const s = store!;
    await expect(s.appendRecord('gossip' as 'incident', change(1))).rejects.toThrow(EvidenceInputError);
    await expect(s.appendRecord('incident', [] as unknown as Record<string, unknown>)).rejects.toThrow(
      /a record body is a JSON object/,
    );
    await expect(s.appendRecord('incident', { bad: '\ud800' })).rejects.toThrow(/canonical JSON/);
    const r = await s.appendRecord('incident', change(1));
    expect(r.log_index).toBe(0);
  });

  it('can be checked while records and measurements keep arriving, with nothing false reported', async () => {
    const s = store!;
    const reports = [];
    for (let i = 0; i < 40; i++) {
      if (i % 2) await s.appendRecord('incident', change(i));
      else await s.append([ms[i % ms.length]!]);
      // Checked right after the commit, often while the publisher writes the next partial tiles.
      if (i % 3 === 0) reports.push(await s.verifyIntegrity());
    }
    expect(reports.flatMap((r) => r.problems)).toEqual([]);
  });

  it('survives a restart, and the integrity check counts records', async () => {
    await store!.append(ms.slice(0, 3));
    await store!.appendRecord('incident', change(1));
    await store!.close();
    store = await openEvidenceStore({ dataDir });
    expect(store.treeSize()).toBe(4);
    expect((await store.getRecord(3))!.record).toEqual(change(1));
    const report = await store.verifyIntegrity();
    expect(report.ok).toBe(true);
    expect(report.checked).toMatchObject({ entries: 4, measurements: 3, records: 1 });
  });
});

describe('record entries', () => {
  it('are exactly {kind, received, sha256} in canonical form', () => {
    const good = { kind: 'incident', received: '2024-01-02T03:04:05.006Z', sha256: 'ab'.repeat(32) };
    expect(parseRecordEntry(canonicalJSON(good))).toEqual(good);
    const bad: Array<[string, RegExp]> = [
      [JSON.stringify(good, null, 1), /not in RFC 8785 canonical form/],
      [canonicalJSON({ ...good, probe_key: 'x' }), /a record's has kind, received, sha256/],
      [canonicalJSON({ ...good, kind: 'measurement' }), /not a record kind \(incident\)/],
      [canonicalJSON({ ...good, sha256: 'AB'.repeat(32) }), /sha256 is not 64 lower-case hex/],
      [canonicalJSON({ ...good, received: '2024-01-02' }), /received is not an ISO 8601/],
    ];
    for (const [text, message] of bad) expect(() => parseRecordEntry(text)).toThrow(message);
  });
});

describe('records over HTTP and offline', () => {
  it('serves a record with its entry and proof; pharos verify --record accepts it and refuses a changed one', async () => {
    const s = store!;
    await s.append(ms.slice(0, 7));
    const r = await s.appendRecord('incident', change(7));
    await published(s, 8);
    const app = Fastify();
    await app.register(evidenceRoutes(s));
    try {
      const got = await app.inject({ method: 'GET', url: `/api/v1/records/${r.log_index}` });
      expect(got.statusCode).toBe(200);
      expect(got.json()).toMatchObject({
        kind: 'incident',
        log_index: 7,
        sha256: r.sha256,
        record: change(7),
      });
      const proof = await app.inject({ method: 'GET', url: `/api/v1/records/${r.log_index}/proof` });
      expect(proof.statusCode).toBe(200);
      expect(proof.body).toMatch(/^c2sp\.org\/tlog-proof@v1\n/);
      expect((await app.inject({ method: 'GET', url: '/api/v1/records/3' })).statusCode).toBe(404);
      expect((await app.inject({ method: 'GET', url: '/api/v1/records/99' })).statusCode).toBe(404);
      const bad = await app.inject({ method: 'GET', url: '/api/v1/records/-1' });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error).toMatch(/log index/);

      await writeFile(path.join(tmp.dir, 'r.json'), got.body);
      await writeFile(path.join(tmp.dir, 'r.tlog-proof'), proof.body);
      await writeFile(path.join(tmp.dir, 'log.vkey'), `${s.vkey}\n`);
      const ok = await run('verify', '--record', 'r.json', '--proof', 'r.tlog-proof', '--vkey', 'log.vkey');
      expect(ok.stderr).toBe('');
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(/^verified: incident record [0-9a-f]{64} is entry 7 of pharos\.local\/log/);

      const changed = got.json();
      changed.record.snapshot.confidence = 0.9;
      await writeFile(path.join(tmp.dir, 'changed.json'), JSON.stringify(changed));
      const no = await run(
        'verify',
        '--record',
        'changed.json',
        '--proof',
        'r.tlog-proof',
        '--vkey',
        'log.vkey',
      );
      expect(no.code).toBe(1);
      expect(no.stderr).toMatch(
        /NOT verified: the record does not match its log entry.*changed after it was logged/,
      );
    } finally {
      await app.close();
    }
  });

  it('pharos check reports a record changed in the database', async () => {
    await store!.append(ms.slice(0, 4));
    await store!.appendRecord('incident', change(4));
    await store!.close();
    store = undefined;
    const clean = await run('check', '--data', dataDir);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toMatch(/^checked 5 log entries, 4 measurements \(4 signatures\), 1 record, /);
    const db = await DuckDBInstance.create(path.join(dataDir, 'pharos.duckdb'));
    const c = await db.connect();
    await c.run(`UPDATE records SET body = replace(body, '"confidence":0.5', '"confidence":0.9')`);
    c.closeSync();
    db.closeSync();
    const r = await run('check', '--data', dataDir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /problem: incident record \(log index 4\): its stored body hashes to [0-9a-f]{64}, but its log entry records [0-9a-f]{64}: the record was changed after it was logged/,
    );
  });
});
