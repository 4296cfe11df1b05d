/**
 * The outbox and the ledger on disk: whole files only, leftovers of interrupted writes never taken
 * for measurements, and a measurement leaves the outbox only once the ledger records it.
 */
import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOrCreateProbeKey, type ProbeKey } from '../src/identity/probe-key.js';
import { type SignedMeasurement, signMeasurement } from '../src/identity/sign.js';
import { stateLayout } from '../src/identity/state-dir.js';
import { readLedger } from '../src/outbox/ledger.js';
import { Outbox } from '../src/outbox/outbox.js';
import { readOutboxStatus } from '../src/outbox/status.js';
import { sampleMeasurement } from './upload-fake-collector.js';

let dir: string;
let key: ProbeKey;
beforeEach(async () => {
  dir = path.join(await mkdtemp(path.join(tmpdir(), 'pharos-outbox-')), 'state');
  const outbox = await Outbox.open(dir);
  await outbox.close();
  key = (await loadOrCreateProbeKey(stateLayout(dir))).key;
});
afterEach(async () => {
  await rm(path.dirname(dir), { recursive: true, force: true });
});

const sign = (n: number): SignedMeasurement => signMeasurement(sampleMeasurement(n), key);
const entry = (id: string, log_index: number) => ({
  id,
  log_index,
  duplicate: false,
  collector: 'http://127.0.0.1:1/',
  uploaded_at: '2024-02-07T11:00:00.000Z',
});

describe('the outbox', () => {
  it('keeps each measurement as outbox/<id>.json (0600) holding the signed submission item', async () => {
    const outbox = await Outbox.open(dir);
    const signed = sign(1);
    expect(await outbox.add(signed)).toBe('queued');
    const file = path.join(dir, 'outbox', `${signed.id}.json`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(signed.item);
    const [queued] = await outbox.list();
    expect(queued?.id).toBe(signed.id);
    expect(await outbox.read(queued!)).toMatchObject({ ok: true, item: signed.item });
    // Content addressed: the same measurement again is the same file.
    expect(await outbox.add(sign(1))).toBe('already-queued');
    expect(await readdir(path.join(dir, 'outbox'))).toEqual([`${signed.id}.json`]);
    await outbox.close();
  });

  it('lists oldest first and queues many at once', async () => {
    const outbox = await Outbox.open(dir);
    const counts = await outbox.addMany(Array.from({ length: 30 }, (_, i) => sign(i)));
    expect(counts).toEqual({ queued: 30, 'already-queued': 0, 'already-sent': 0 });
    const listed = await outbox.list();
    expect(listed).toHaveLength(30);
    for (let i = 1; i < listed.length; i++)
      expect(listed[i]!.mtimeMs).toBeGreaterThanOrEqual(listed[i - 1]!.mtimeMs);
    await outbox.close();
  });

  it('never takes what an interrupted write left for a measurement, and clears dead writers’ temp files', async () => {
    const outbox = await Outbox.open(dir);
    const whole = sign(1);
    await outbox.add(whole);
    const half = JSON.stringify(sign(2).item).slice(0, 100);
    // What a writer killed before its rename leaves: a temp file (pid 999999 is not running).
    const deadTemp = `.tmp-999999-abcdef-${sign(2).id}.json.part`;
    await writeFile(path.join(dir, 'outbox', deadTemp), half);
    // A live writer's temp file (ours) must be left alone.
    const liveTemp = `.tmp-${process.pid}-abcdef-${sign(3).id}.json.part`;
    await writeFile(path.join(dir, 'outbox', liveTemp), half);
    expect((await outbox.list()).map((f) => f.id)).toEqual([whole.id]);
    await outbox.close();

    const reopened = await Outbox.open(dir);
    const names = await readdir(path.join(dir, 'outbox'));
    expect(names).not.toContain(deadTemp);
    expect(names).toContain(liveTemp);
    expect((await readOutboxStatus(dir)).queued).toBe(1);
    await reopened.close();
  });

  it('reports a damaged <id>.json instead of sending it', async () => {
    const outbox = await Outbox.open(dir);
    const signed = sign(1);
    await outbox.add(signed);
    const file = path.join(dir, 'outbox', `${signed.id}.json`);
    await writeFile(file, (await readFile(file, 'utf8')).slice(0, 50));
    const [queued] = await outbox.list();
    expect(await outbox.read(queued!)).toMatchObject({ ok: false, reason: /not JSON/ });
    // Valid JSON but another measurement: the content must hash to the name.
    await writeFile(file, JSON.stringify(sign(2).item));
    expect(await outbox.read(queued!)).toMatchObject({ ok: false, reason: /hashes to [0-9a-f]{64}, not/ });
    await outbox.close();
  });
});

describe('the ledger', () => {
  it('records an upload durably before the outbox file goes, and refuses to queue it again', async () => {
    const outbox = await Outbox.open(dir);
    const signed = sign(1);
    await outbox.add(signed);
    await outbox.markSent([entry(signed.id, 7)]);
    expect(await outbox.list()).toEqual([]);
    expect((await readLedger(stateLayout(dir).ledger)).entries).toEqual([entry(signed.id, 7)]);
    expect((await stat(stateLayout(dir).ledger)).mode & 0o777).toBe(0o600);
    await outbox.close();

    const reopened = await Outbox.open(dir);
    expect(reopened.isSent(signed.id)).toBe(true);
    expect(await reopened.add(signed)).toBe('already-sent');
    expect(await reopened.list()).toEqual([]);
    await reopened.close();
  });

  it('after a crash between the ledger line and the removal, cleans up without sending again', async () => {
    const outbox = await Outbox.open(dir);
    const signed = sign(1);
    await outbox.add(signed);
    await outbox.close();
    // The crash: the ledger line is on disk, the outbox file was not removed yet.
    await appendFile(stateLayout(dir).ledger, `${JSON.stringify(entry(signed.id, 3))}\n`);
    expect((await readOutboxStatus(dir)).queued).toBe(0);
    const reopened = await Outbox.open(dir);
    expect(await reopened.reconcile()).toBe(1);
    expect(await readdir(path.join(dir, 'outbox'))).toEqual([]);
    await reopened.close();
  });

  it('survives a torn last line: it is skipped and the next line starts clean', async () => {
    const a = sign(1);
    const b = sign(2);
    await writeFile(stateLayout(dir).ledger, `${JSON.stringify(entry(a.id, 0))}\n{"id":"${b.id}","log_in`);
    const outbox = await Outbox.open(dir);
    expect(outbox.isSent(a.id)).toBe(true);
    expect(outbox.isSent(b.id)).toBe(false);
    await outbox.markSent([entry(b.id, 1)]);
    await outbox.close();
    const ledger = await readLedger(stateLayout(dir).ledger);
    expect(ledger.entries.map((e) => e.id)).toEqual([a.id, b.id]);
    expect(ledger.damaged).toBe(1);
  });
});

describe('refused measurements', () => {
  it('move to failed/<id>.json with the reason, and --retry-failed puts them back', async () => {
    const outbox = await Outbox.open(dir);
    const signed = sign(1);
    await outbox.add(signed);
    await outbox.markFailed(signed.id, {
      failed_at: '2024-02-07T11:00:00.000Z',
      collector: 'http://127.0.0.1:1/',
      status: 400,
      reason: '400 Bad Request: measurements[0]: signature does not verify',
      item: signed.item,
    });
    expect(await outbox.list()).toEqual([]);
    const status = await readOutboxStatus(dir);
    expect(status).toMatchObject({ queued: 0, failed: 1 });
    expect(status.failedReasons).toEqual([
      { reason: '400 Bad Request: measurements[0]: signature does not verify', count: 1 },
    ]);
    expect(await outbox.retryFailed()).toBe(1);
    expect((await outbox.list()).map((f) => f.id)).toEqual([signed.id]);
    expect((await readOutboxStatus(dir)).failed).toBe(0);
    await outbox.close();
  });
});

describe('status', () => {
  it('reads a state directory without creating anything', async () => {
    const missing = path.join(path.dirname(dir), 'never-made');
    const status = await readOutboxStatus(missing);
    expect(status).toMatchObject({ exists: false, key: null, queued: 0, uploaded: 0, failed: 0 });
    await expect(stat(missing)).rejects.toThrow(/ENOENT/);
  });

  it('counts queued, uploaded and failed, and names the oldest queued measurement', async () => {
    const outbox = await Outbox.open(dir);
    await outbox.addMany([sign(125), sign(5), sign(70)]);
    const sent = sign(1);
    await outbox.add(sent);
    await outbox.markSent([entry(sent.id, 0)]);
    await outbox.close();
    const status = await readOutboxStatus(dir);
    expect(status).toMatchObject({
      exists: true,
      queued: 3,
      oldestQueued: '2024-02-07 10:00:05',
      uploaded: 1,
      lastUpload: '2024-02-07T11:00:00.000Z',
      failed: 0,
    });
    expect(status.key?.fingerprint).toBe(key.fingerprint);
  });
});
