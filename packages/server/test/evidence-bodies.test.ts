/**
 * Measurement bodies live in append-only JSON Lines files beside the database (body-files.ts):
 * readable by any JSONL tool, cut back to what the database refers to after a crash, rolled back
 * when a commit fails, split into segments, and a start refused when bodies the database refers
 * to are gone.
 */
import { appendFile, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { sha256Hex } from '@pharos/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { BodyFiles, segmentFile } from '../src/evidence/body-files.js';
import { type EvidenceStore, openEvidenceStore } from '../src/evidence/index.js';
import { incoming, recordingIO, sampleMeasurement, tempDir, testProbe } from './evidence-fixtures.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let dataDir: string;
let store: EvidenceStore | undefined;
const probe = testProbe();
const ms = Array.from({ length: 40 }, (_, i) => incoming(probe, sampleMeasurement(i, { bytes: 600 })));
const bodyFile = () => path.join(dataDir, 'bodies', '000000.jsonl');

beforeEach(async () => {
  tmp = await tempDir('pharos-bodies-');
  dataDir = path.join(tmp.dir, 'data');
});
afterEach(async () => {
  await store?.close();
  store = undefined;
  await tmp.remove();
});

async function check(): Promise<{ code: number; stdout: string }> {
  const r = recordingIO(tmp.dir);
  const code = await main(['check', '--data', dataDir], r.io);
  return { code, stdout: r.stdout() };
}

describe('the body files', () => {
  it('hold each stored body as one line of JSON, in log order, hashing to its log entry', async () => {
    store = await openEvidenceStore({ dataDir });
    await store.append(ms.slice(0, 25));
    await store.append(ms.slice(25));
    const lines = (await readFile(bodyFile(), 'utf8')).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toEqual(ms.map((m) => Buffer.from(m.body).toString('utf8')));
    for (const [i, line] of lines.entries()) {
      expect(JSON.parse(line)).toEqual(ms[i]!.measurement);
      expect(sha256Hex(line)).toBe(ms[i]!.id);
    }
    expect((await store.getMeasurement(ms[31]!.id))!.measurement).toEqual(ms[31]!.measurement);
  });

  it('lose bytes a crash left after the last committed body, and the log goes on from there', async () => {
    store = await openEvidenceStore({ dataDir });
    await store.append(ms.slice(0, 10));
    await store.close();
    store = undefined;
    const committed = (await readFile(bodyFile())).length;
    // What a commit that wrote its bodies and then died leaves behind.
    await appendFile(bodyFile(), `${Buffer.from(ms[30]!.body).toString('utf8')}\n{"half":`);
    await writeFile(segmentFile(dataDir, 1), 'a segment no row refers to\n');

    store = await openEvidenceStore({ dataDir });
    expect((await readFile(bodyFile())).length).toBe(committed);
    expect(await readdir(path.join(dataDir, 'bodies'))).toEqual(['000000.jsonl']);
    const [r] = await store.append([ms[30]!]);
    expect(r).toMatchObject({ log_index: 10, duplicate: false });
    expect((await store.getMeasurement(ms[30]!.id))!.measurement).toEqual(ms[30]!.measurement);
    expect((await store.verifyIntegrity()).ok).toBe(true);
  });

  it('keep nothing of a group whose commit failed, nor of the group staged on top of it', async () => {
    store = await openEvidenceStore({ dataDir });
    await store.append(ms.slice(0, 5));
    const db = (store as unknown as { db: { commitBatch: (...args: unknown[]) => Promise<void> } }).db;
    const commitBatch = db.commitBatch.bind(db);
    let failures = 1;
    db.commitBatch = async (...args) => {
      if (failures-- > 0) throw new Error('disk full (simulated)');
      return commitBatch(...args);
    };
    // Two appends in flight: the second is staged while the first commits, then shares its fate.
    const outcomes = await Promise.allSettled([
      store.append(ms.slice(5, 10)),
      store.append(ms.slice(10, 15)),
    ]);
    expect(outcomes[0]).toMatchObject({ status: 'rejected', reason: { message: 'disk full (simulated)' } });
    const [again] = await store.append([ms[20]!]);
    expect(again!.log_index).toBe(outcomes[1]!.status === 'fulfilled' ? 10 : 5);
    const stored = (await readFile(bodyFile(), 'utf8')).split('\n').slice(0, -1);
    const expected = [
      ...ms.slice(0, 5),
      ...(outcomes[1]!.status === 'fulfilled' ? ms.slice(10, 15) : []),
      ms[20]!,
    ];
    expect(stored).toEqual(expected.map((m) => Buffer.from(m.body).toString('utf8')));
    expect((await store.verifyIntegrity()).ok).toBe(true);
    await store.close();
    store = await openEvidenceStore({ dataDir });
    expect(store.treeSize()).toBe(expected.length);
  });

  it('refuse a start when bodies the database refers to are gone, and pharos check names them', async () => {
    store = await openEvidenceStore({ dataDir });
    await store.append(ms.slice(0, 10));
    await store.close();
    store = undefined;
    const size = (await readFile(bodyFile())).length;
    await truncate(bodyFile(), size - 100);

    await expect(openEvidenceStore({ dataDir })).rejects.toThrow(
      `bodies/000000.jsonl has ${size - 100} bytes, but the stored measurements' bodies reach byte ${size}: measurement bodies were lost; restore the data directory from a backup`,
    );
    const report = await check();
    expect(report.code).toBe(1);
    expect(report.stdout).toMatch(
      /problem: measurement [0-9a-f]{12}… \(log index 9\): its body \(bytes \d+\.\.\d+ of bodies\/000000\.jsonl\) is missing: the file ends at byte \d+\n/,
    );
  });

  it('take back what a failed commit wrote, and start a new segment when one is full', async () => {
    await import('node:fs/promises').then((fs) => fs.mkdir(dataDir, { recursive: true }));
    const files = await BodyFiles.open(dataDir, null, 1000);
    try {
      const first = await files.append([Buffer.from('{"a":1}'), Buffer.from('{"b":2}')]);
      expect(first).toEqual([
        { segment: 0, offset: 0, length: 7 },
        { segment: 0, offset: 8, length: 7 },
      ]);
      const mark = files.mark;
      await files.append([Buffer.from('{"lost":true}')]);
      await files.rollback(mark);
      expect(await readFile(segmentFile(dataDir, 0), 'utf8')).toBe('{"a":1}\n{"b":2}\n');
      // 16 bytes in segment 0; a batch that would take it past 1000 bytes starts segment 1.
      const big = Buffer.from(`{"x":"${'y'.repeat(990)}"}`);
      const [second] = await files.append([big]);
      expect(second).toEqual({ segment: 1, offset: 0, length: big.length });
      expect(Buffer.compare((await files.read(second!)) as Buffer, big)).toBe(0);
      expect(await files.read(first[1]!)).toEqual(Buffer.from('{"b":2}'));
      // A rollback past the start of a segment removes it and cuts the one before.
      await files.rollback(mark);
      expect(await readdir(path.join(dataDir, 'bodies'))).toEqual(['000000.jsonl']);
      expect(await readFile(segmentFile(dataDir, 0), 'utf8')).toBe('{"a":1}\n{"b":2}\n');
      expect(await files.append([Buffer.from('{"c":3}')])).toEqual([{ segment: 0, offset: 16, length: 7 }]);
    } finally {
      await files.close();
    }
  });

  it('refuse a database that kept bodies inside it, as Pharos did before', async () => {
    await import('node:fs/promises').then((fs) => fs.mkdir(dataDir, { recursive: true }));
    const db = await DuckDBInstance.create(path.join(dataDir, 'pharos.duckdb'));
    const c = await db.connect();
    await c.run('CREATE TABLE measurements (id VARCHAR, log_index BIGINT, body VARCHAR)');
    c.closeSync();
    db.closeSync();
    await expect(openEvidenceStore({ dataDir })).rejects.toThrow(
      /keeps measurement bodies inside the database, as Pharos did before bodies moved to bodies\/; this version cannot open it/,
    );
  });
});
