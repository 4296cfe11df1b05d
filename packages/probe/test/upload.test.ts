/**
 * The uploader against a fake collector on loopback: batches, retries, refusals, several
 * collectors, and above all exactly-once from the user's side however the network misbehaves.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOrCreateProbeKey, type ProbeKey } from '../src/identity/probe-key.js';
import { type SignedMeasurement, signMeasurement } from '../src/identity/sign.js';
import { stateLayout } from '../src/identity/state-dir.js';
import { readFailedRecord } from '../src/outbox/failed-record.js';
import { readLedger } from '../src/outbox/ledger.js';
import { Outbox } from '../src/outbox/outbox.js';
import { BackgroundUpload } from '../src/upload/background-upload.js';
import { parseCollector } from '../src/upload/collector-url.js';
import { type UploadEvent, Uploader, type UploaderOptions } from '../src/upload/uploader.js';
import { makePKI, refusedPort } from './net-fixtures.js';
import {
  type Behaviour,
  type FakeCollector,
  sampleMeasurement,
  startFakeCollector,
} from './upload-fake-collector.js';

let root: string;
let stateDir: string;
let key: ProbeKey;
let outbox: Outbox;
const collectors: FakeCollector[] = [];

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'pharos-upload-'));
  stateDir = path.join(root, 'state');
  outbox = await Outbox.open(stateDir);
  key = (await loadOrCreateProbeKey(stateLayout(stateDir))).key;
});
afterEach(async () => {
  await outbox.close();
  await Promise.all(collectors.splice(0).map((c) => c.close()));
  await rm(root, { recursive: true, force: true });
});

async function collector(options: Parameters<typeof startFakeCollector>[0] = {}): Promise<FakeCollector> {
  const c = await startFakeCollector(options);
  collectors.push(c);
  return c;
}

async function queue(count: number, from = 0): Promise<SignedMeasurement[]> {
  const signed = Array.from({ length: count }, (_, i) => signMeasurement(sampleMeasurement(from + i), key));
  await outbox.addMany(signed);
  return signed;
}

function uploader(urls: string[], options: Partial<UploaderOptions> = {}) {
  const events: UploadEvent[] = [];
  const u = new Uploader(outbox, {
    collectors: urls.map(parseCollector),
    backoff: { baseMs: 5, capMs: 40 },
    idleTimeoutMs: 5000,
    onEvent: (e) => events.push(e),
    ...options,
  });
  return { u, events };
}

const drain = (u: Uploader, patienceMs: number | null = 5000, abort?: AbortSignal) =>
  u.drain({ patienceMs, since: Date.now(), ...(abort ? { abort } : {}) });

/** Seeded, so a failure can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Every measurement at the collector once, one ledger line each, nothing left queued. */
async function expectExactlyOnce(c: FakeCollector, signed: SignedMeasurement[]) {
  const ids = signed.map((s) => s.id).sort();
  expect([...c.stored.keys()].sort()).toEqual(ids);
  const ledger = await readLedger(stateLayout(stateDir).ledger);
  expect(ledger.damaged).toBe(0);
  expect(ledger.entries.map((e) => e.id).sort()).toEqual(ids);
  for (const e of ledger.entries) expect(e.log_index).toBe(c.stored.get(e.id)?.logIndex);
  expect(await readdir(path.join(stateDir, 'outbox'))).toEqual([]);
  // Original timestamps travel inside the signed body, untouched.
  for (const s of signed) expect(c.stored.get(s.id)?.measurement).toEqual(s.item.measurement);
}

describe('uploading', () => {
  it('sends gzip batches of at most 50, records each in the ledger and empties the outbox', async () => {
    const c = await collector();
    const signed = await queue(120);
    const { u, events } = uploader([c.url]);
    expect(await drain(u)).toEqual({ outcome: 'empty' });
    u.close();
    expect(c.batches.map((b) => b.ids.length)).toEqual([50, 50, 20]);
    expect(c.batches.every((b) => b.gzip)).toBe(true);
    await expectExactlyOnce(c, signed);
    expect(u.totals).toMatchObject({ acknowledged: 120, duplicates: 0, refused: 0, batches: 3 });
    // What the volunteer pays for: the compressed bodies, well under the JSON's size.
    expect(u.totals.bytesSent).toBe(c.batches.reduce((sum, b) => sum + b.bodyBytes, 0));
    expect(u.totals.bytesSent).toBeLessThan(u.totals.rawBytes / 3);
    expect(events.filter((e) => e.type === 'batch-sent')).toHaveLength(3);
    const ledger = await readLedger(stateLayout(stateDir).ledger);
    expect(ledger.entries[0]).toMatchObject({ collector: c.url, duplicate: false });
    expect(Date.parse(ledger.entries[0]!.uploaded_at)).not.toBeNaN();
  });

  it('keeps batches under the byte budget', async () => {
    const c = await collector();
    await queue(10);
    const { u } = uploader([c.url], { maxBatchBytes: 2500 });
    expect(await drain(u)).toEqual({ outcome: 'empty' });
    u.close();
    expect(c.batches.length).toBeGreaterThan(3);
    expect(c.stored.size).toBe(10);
  });

  it('delivers every measurement exactly once through errors, 429s, dropped connections and lost answers', async () => {
    const c = await collector();
    const signed = await queue(300);
    const random = prng(20240207);
    c.behave((): Behaviour => {
      const r = random();
      if (r < 0.15) return { kind: 'status', status: 503, retryAfter: '0' };
      if (r < 0.25) return { kind: 'status', status: 429, retryAfter: '0' };
      if (r < 0.35) return { kind: 'status', status: 500 };
      if (r < 0.5) return { kind: 'drop' };
      if (r < 0.65) return { kind: 'store-then-drop' };
      return { kind: 'accept' };
    });
    const { u } = uploader([c.url], { maxBatchItems: 20, random: prng(7) });
    // Patience is short on purpose: a drain may give up, as a real one would in a long outage;
    // the next one carries on from the outbox.
    for (let round = 0; round < 50 && (await outbox.list()).length > 0; round++) await drain(u, 300);
    u.close();
    await expectExactlyOnce(c, signed);
    // Lost answers happened, and their retries were answered as duplicates, not stored twice.
    expect(u.totals.duplicates).toBeGreaterThan(0);
    expect([...c.arrivals.values()].some((n) => n > 1)).toBe(true);
  });

  it('tries the collectors in order, uses the next when one is unreachable, and skips the dead one for a while', async () => {
    const down = `http://127.0.0.1:${await refusedPort()}/`;
    const c = await collector();
    const signed = await queue(120);
    const { u, events } = uploader([down, c.url], {
      backoff: { baseMs: 60_000, capMs: 60_000 },
      random: () => 0.5,
    });
    expect(await drain(u)).toEqual({ outcome: 'empty' });
    u.close();
    await expectExactlyOnce(c, signed);
    // Three batches, one attempt on the dead collector: the others went straight to the live one.
    expect(c.batches).toHaveLength(3);
    expect(events.filter((e) => e.type === 'collector-failed')).toEqual([
      {
        type: 'collector-failed',
        collector: down,
        reason: 'connection refused (nothing listens there, or a firewall refuses)',
      },
    ]);
    expect((await readLedger(stateLayout(stateDir).ledger)).entries[0]?.collector).toBe(c.url);
  });

  it('waits as long as Retry-After asks', async () => {
    const c = await collector();
    await queue(1);
    const times: number[] = [];
    c.behave((_batch, n) => {
      times.push(Date.now());
      return n === 1 ? { kind: 'status', status: 429, retryAfter: '1' } : { kind: 'accept' };
    });
    const { u } = uploader([c.url]);
    expect(await drain(u)).toEqual({ outcome: 'empty' });
    u.close();
    expect(times).toHaveLength(2);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(950);
  });

  it('gives up after the patience when no collector answers, leaving everything queued', async () => {
    const down = `http://127.0.0.1:${await refusedPort()}/`;
    await queue(3);
    const { u, events } = uploader([down]);
    const result = await drain(u, 200);
    u.close();
    expect(result).toEqual({
      outcome: 'gave-up',
      problem: `${down}: connection refused (nothing listens there, or a firewall refuses)`,
    });
    expect(await outbox.list()).toHaveLength(3);
    expect(events.some((e) => e.type === 'waiting')).toBe(true);
  });

  it('stops at once when aborted, leaving the batch queued', async () => {
    const c = await collector();
    await queue(2);
    c.behave(() => ({ kind: 'accept', delayMs: 5000 }));
    const stop = new AbortController();
    c.onStored(() => stop.abort());
    const { u } = uploader([c.url]);
    expect(await drain(u, null, stop.signal)).toEqual({ outcome: 'aborted' });
    u.close();
    expect(await outbox.list()).toHaveLength(2);
  });
});

describe('refusals', () => {
  it('moves an item the collector names in a 4xx to failed/ with the reason, and delivers the rest', async () => {
    const c = await collector();
    const signed = await queue(10);
    const bad = signed[4]!;
    c.refuse([bad.id]);
    const { u, events } = uploader([c.url]);
    expect(await drain(u)).toEqual({ outcome: 'empty' });
    u.close();
    expect(c.stored.size).toBe(9);
    expect(c.stored.has(bad.id)).toBe(false);
    expect(u.totals.refused).toBe(1);
    const record = await readFailedRecord(path.join(stateDir, 'failed', `${bad.id}.json`));
    expect(record).toMatchObject({
      collector: c.url,
      status: 400,
      reason: expect.stringMatching(/^400 Bad Request: measurements\[\d\]: refused by the test$/),
      item: bad.item,
    });
    expect(events.filter((e) => e.type === 'refused')).toHaveLength(1);
    // Not retried forever: the next upload has nothing to send.
    const again = uploader([c.url]);
    expect(await drain(again.u)).toEqual({ outcome: 'empty' });
    again.u.close();
    expect(c.batches.length).toBe(2);
  });

  it('splits batches a collector refuses without naming an item (413) until they pass', async () => {
    const c = await collector();
    const signed = await queue(40);
    c.behave((batch) =>
      batch.ids.length > 8 ? { kind: 'status', status: 413, body: '' } : { kind: 'accept' },
    );
    const { u } = uploader([c.url]);
    expect(await drain(u)).toEqual({ outcome: 'empty' });
    u.close();
    await expectExactlyOnce(c, signed);
    expect(u.totals.refused).toBe(0);
  });

  it('does not throw measurements away because the URL is wrong (404) or a portal answers 200', async () => {
    const c = await collector();
    await queue(3);
    const wrong = `${c.url}not-the-collector/`;
    const { u } = uploader([wrong], { maxBatchItems: 50 });
    const result = await drain(u, 200);
    u.close();
    expect(result).toMatchObject({ outcome: 'gave-up', problem: expect.stringContaining('404 Not Found') });
    expect(result).toMatchObject({
      problem: expect.stringContaining('is this the address of a Pharos collector?'),
    });

    c.behave(() => ({ kind: 'status', status: 200, body: '<html>Welcome to the hotel Wi-Fi</html>' }));
    const portal = uploader([c.url]);
    expect(await drain(portal.u, 200)).toMatchObject({
      outcome: 'gave-up',
      problem: expect.stringContaining("not a Pharos collector's answer"),
    });
    portal.u.close();
    expect(await outbox.list()).toHaveLength(3);
    expect(await readdir(path.join(stateDir, 'failed'))).toEqual([]);
  });

  it('moves a damaged outbox file to failed/ instead of sending it', async () => {
    const c = await collector();
    const [good, damaged] = await queue(2);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(outbox.fileOf(damaged!.id), '{"measurement":');
    const { u } = uploader([c.url]);
    expect(await drain(u)).toEqual({ outcome: 'empty' });
    u.close();
    expect([...c.stored.keys()]).toEqual([good!.id]);
    const record = await readFailedRecord(path.join(stateDir, 'failed', `${damaged!.id}.json`));
    expect(record).toMatchObject({ collector: null, item: null, damaged_text: '{"measurement":' });
  });
});

describe('https collectors', () => {
  it('are trusted through an extra CA, and refused without it, saying what to do', async () => {
    const pki = makePKI();
    const c = await collector({ tls: pki.valid });
    await queue(2);
    const untrusted = uploader([c.url]);
    expect(await drain(untrusted.u, 100)).toMatchObject({
      outcome: 'gave-up',
      problem: expect.stringContaining('--ca FILE'),
    });
    untrusted.u.close();
    const trusted = uploader([c.url], { extraCA: [pki.ca] });
    expect(await drain(trusted.u)).toEqual({ outcome: 'empty' });
    trusted.u.close();
    expect(c.stored.size).toBe(2);
  });
});

describe('the background upload of a run', () => {
  it('uploads measurements as they are queued, and drains the rest at the end', async () => {
    const c = await collector();
    const { u } = uploader([c.url]);
    const background = new BackgroundUpload(u, { lingerMs: 10 });
    const first = await queue(3);
    background.notify();
    for (let i = 0; i < 200 && c.stored.size < 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(c.stored.size).toBe(3);
    const second = await queue(2, 100);
    background.notify();
    expect(await background.finish(2000)).toEqual({ outcome: 'empty' });
    u.close();
    await expectExactlyOnce(c, [...first, ...second]);
  });

  it('keeps retrying during an outage and delivers once the collector is back', async () => {
    const c = await collector();
    let down = true;
    c.behave(() => (down ? { kind: 'drop' } : { kind: 'accept' }));
    const { u } = uploader([c.url]);
    const background = new BackgroundUpload(u, { lingerMs: 5 });
    const signed = await queue(4);
    background.notify();
    for (let i = 0; i < 200 && c.batches.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(c.stored.size).toBe(0);
    down = false;
    expect(await background.finish(2000)).toEqual({ outcome: 'empty' });
    u.close();
    await expectExactlyOnce(c, signed);
  });
});
