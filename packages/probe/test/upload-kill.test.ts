/**
 * kill -9 of the real executable while it uploads or queues, then a rerun: everything arrives,
 * once, and the ledger and outbox agree. Runs the built CLI (dist/), as a volunteer would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadOrCreateProbeKey } from '../src/identity/probe-key.js';
import { measurementId, signMeasurement } from '../src/identity/sign.js';
import { stateLayout } from '../src/identity/state-dir.js';
import { readLedger } from '../src/outbox/ledger.js';
import { Outbox } from '../src/outbox/outbox.js';
import { type FakeCollector, sampleMeasurement, startFakeCollector } from './upload-fake-collector.js';

const builtCLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cli.js');

let root: string;
let stateDir: string;
let collector: FakeCollector;

beforeAll(() => {
  if (!existsSync(builtCLI))
    throw new Error(`${builtCLI} is missing: build first (npx tsc -b packages/probe)`);
});
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'pharos-kill-'));
  stateDir = path.join(root, 'state');
  collector = await startFakeCollector();
});
afterEach(async () => {
  await collector.close();
  await rm(root, { recursive: true, force: true });
});

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function probe(args: string[]): { child: ChildProcess; exit: Promise<Exit> } {
  const child = spawn(process.execPath, [builtCLI, ...args, '--state-dir', stateDir], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: root },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => (stdout += chunk));
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  const exit = new Promise<Exit>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, exit };
}

async function expectDeliveredOnce(ids: string[]) {
  const sorted = [...ids].sort();
  expect([...collector.stored.keys()].sort()).toEqual(sorted);
  const logIndexes = [...collector.stored.values()].map((s) => s.logIndex);
  expect(new Set(logIndexes).size).toBe(ids.length);
  const ledger = await readLedger(stateLayout(stateDir).ledger);
  // One line per measurement: a re-sent batch is recorded once, with its original log index.
  expect(ledger.entries.map((e) => e.id).sort()).toEqual(sorted);
  for (const e of ledger.entries) expect(e.log_index).toBe(collector.stored.get(e.id)?.logIndex);
  expect((await readdir(path.join(stateDir, 'outbox'))).filter((n) => !n.startsWith('.tmp-'))).toEqual([]);
}

describe('kill -9', () => {
  it('of `upload` mid-batch, twice, then a rerun: every measurement arrives once', async () => {
    const outbox = await Outbox.open(stateDir);
    const { key } = await loadOrCreateProbeKey(stateLayout(stateDir));
    const signed = Array.from({ length: 200 }, (_, i) => signMeasurement(sampleMeasurement(i), key));
    await outbox.addMany(signed);
    await outbox.close();
    const ids = signed.map((s) => s.id);
    const args = ['upload', '--collector', collector.url, '--quiet'];

    // The collector stores each batch, then answers late: the kill lands after the collector has
    // the batch and before the probe hears so.
    collector.behave(() => ({ kind: 'accept', delayMs: 300 }));
    for (const killAtBatch of [1, 2]) {
      let seen = 0;
      const run = probe(args);
      collector.onStored(() => {
        if (++seen === killAtBatch) run.child.kill('SIGKILL');
      });
      expect((await run.exit).signal).toBe('SIGKILL');
    }
    collector.onStored(null);
    expect(collector.stored.size).toBeGreaterThan(0);
    expect(collector.stored.size).toBeLessThan(200);

    collector.behave(() => ({ kind: 'accept' }));
    const last = await probe(args).exit;
    expect(last.code).toBe(0);
    // The batch cut off by the first kill was sent again and acknowledged as a duplicate.
    expect(last.stdout).toMatch(/already at the collector/);
    expect(last.stdout).toContain('Still queued: 0.');
    await expectDeliveredOnce(ids);
  });

  it('of `submit` while it queues, then a rerun: no half-written measurement, everything once', async () => {
    const lines = Array.from({ length: 600 }, (_, i) => JSON.stringify(sampleMeasurement(i)));
    await writeFile(path.join(root, 'm.jsonl'), `${lines.join('\n')}\n`);
    const ids = lines.map((line) => measurementId(JSON.parse(line)));
    const args = ['submit', 'm.jsonl', '--collector', collector.url, '--quiet'];
    // Nothing may reach the collector in the first run: the kill must land while queueing.
    collector.behave(() => ({ kind: 'drop' }));

    const first = probe(args);
    const outboxDir = path.join(stateDir, 'outbox');
    for (let i = 0; i < 2000; i++) {
      const names = await readdir(outboxDir).catch(() => [] as string[]);
      if (names.filter((n) => n.endsWith('.json')).length >= 40) break;
      await new Promise((r) => setTimeout(r, 2));
    }
    first.child.kill('SIGKILL');
    expect((await first.exit).signal).toBe('SIGKILL');

    // Whatever the kill interrupted, every <id>.json is a whole, valid item.
    const outbox = await Outbox.open(stateDir);
    const queued = await outbox.list();
    expect(queued.length).toBeGreaterThanOrEqual(40);
    expect(queued.length).toBeLessThan(600);
    for (const file of queued) expect(await outbox.read(file)).toMatchObject({ ok: true });
    await outbox.close();

    collector.behave(() => ({ kind: 'accept' }));
    const second = await probe(args).exit;
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/m\.jsonl: \d+ measurements queued, \d+ were already queued/);
    await expectDeliveredOnce(ids);
  });
});
