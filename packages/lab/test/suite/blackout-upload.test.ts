/**
 * Issue 3's promise, in the lab: a blackout cuts the probe off in the middle of a run; when the
 * network comes back, every measurement reaches the collector, none twice, with its original
 * timestamps, and those that could not be uploaded in time are marked late. The collector is the
 * real `pharos serve`, in the lab's internet namespace; the probe is the real `pharos-probe`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { measurementId, readLedger } from '@pharos/probe';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { probeCliPath } from '../../src/runner.js';
import { createLab, type LabHandle } from '../../src/world/index.js';
import { labDescribe } from '../support/lab-available.js';

const suite = await labDescribe('the blackout upload test');

const serverCli = path.join(path.dirname(fileURLToPath(import.meta.resolve('@pharos/server'))), 'cli.js');
const LATE_AFTER_SECONDS = 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

suite('a blackout while the probe uploads', () => {
  let dir: string;
  let lab: LabHandle;
  let server: ChildProcess;
  let collector: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pharos-blackout-'));
    const sites = ['a', 'b', 'c', 'd', 'e', 'f'].map((x) => ({
      host: `news-${x}.example.az`,
      http: true,
      https: true,
      status: 200,
      addresses: 1,
      cert: 'valid' as const,
      dns: 'ok' as const,
      geoDns: false,
    }));
    lab = await createLab({ sites, censor: [], workDir: path.join(dir, 'lab'), standIns: false });
    const host = lab.addresses.testHelper;
    collector = `http://${host}:8080/`;
    server = spawn(
      'ip',
      [
        'netns',
        'exec',
        lab.namespaces.internet,
        process.execPath,
        serverCli,
        'serve',
        '--data',
        path.join(dir, 'server'),
        '--host',
        host,
        '--port',
        '8080',
        '--late-after',
        String(LATE_AFTER_SECONDS),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the collector did not start: ${output}`)), 30_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('listening on')) {
          clearTimeout(timer);
          resolve();
        }
      };
      server.stdout?.on('data', onData);
      server.stderr?.on('data', (c: Buffer) => {
        output += c.toString();
      });
      server.once('exit', (code) => reject(new Error(`the collector exited (${code}): ${output}`)));
    });
  }, 120_000);

  afterAll(async () => {
    server?.kill('SIGTERM');
    await lab?.teardown();
    await rm(dir, { recursive: true, force: true });
  });

  const probe = (args: string[]) =>
    lab.runInClient([process.execPath, probeCliPath(), ...args], { timeoutMs: 180_000 });

  it('loses nothing, duplicates nothing, and marks the late uploads', async () => {
    const state = path.join(dir, 'probe-state');
    const inputs = lab.addresses ? Object.keys(lab.addresses.sites).filter((h) => h.startsWith('news-')) : [];
    const common = [
      ...lab.probeNetworkArgs,
      '--collector',
      collector,
      '--state-dir',
      state,
      '--quiet',
      '--timeout',
      '2',
      '--upload-timeout',
      '4',
    ];

    // Before: the network works, measurements go straight up.
    const before = path.join(dir, 'before.jsonl');
    const first = await probe(['run', '--input', 'https://www.example.com/', '--output', before, ...common]);
    expect(first.code, first.stderr).toBe(0);

    // The cut comes while a run is under way, one URL at a time.
    const during = path.join(dir, 'during.jsonl');
    const running = probe([
      'run',
      ...inputs.flatMap((h) => ['--input', `https://${h}/`]),
      '--concurrency',
      '1',
      '--output',
      during,
      ...common,
    ]);
    await sleep(400);
    await lab.applyCensor([{ match: { kind: 'all' }, action: { kind: 'drop' }, via: 'resolver' }]);
    const second = await running;
    expect(second.code, second.stderr).toBe(0);
    const queued = JSON.parse((await probe(['status', '--state-dir', state, '--json'])).stdout) as {
      queued: number;
    };
    expect(queued.queued, 'the blackout left nothing queued: the cut came too late').toBeGreaterThan(0);

    // Restored: a forced upload delivers the rest, late by more than the collector's threshold.
    await lab.applyCensor([]);
    const restoredAt = Date.now();
    await sleep(LATE_AFTER_SECONDS * 1000 + 500);
    const upload = await probe(['upload', '--collector', collector, '--state-dir', state, '--quiet']);
    expect(upload.code, upload.stderr).toBe(0);

    const lines = [
      ...(await readFile(before, 'utf8')).split('\n'),
      ...(await readFile(during, 'utf8')).split('\n'),
    ].filter(Boolean);
    const made = lines.map((line) => measurementId(JSON.parse(line)));
    expect(made).toHaveLength(1 + inputs.length);

    const { entries: ledger } = await readLedger(path.join(state, 'sent.jsonl'));
    const sent = ledger.map((e) => e.id);
    expect(new Set(sent).size, 'an id was uploaded twice').toBe(sent.length);
    expect(new Set(sent)).toEqual(new Set(made));

    // What the collector holds, asked from inside the lab.
    const script = `const ids=${JSON.stringify(made)};(async()=>{const out=[];for(const id of ids){const r=await fetch(${JSON.stringify(collector)}+'api/v1/measurements/'+id);const b=r.ok?await r.json():null;out.push({id,status:r.status,late:b?.late,log_index:b?.log_index,start:b?.measurement?.measurement_start_time});}console.log(JSON.stringify(out));})()`;
    const held = JSON.parse((await lab.runInClient([process.execPath, '-e', script])).stdout) as {
      id: string;
      status: number;
      late: boolean;
      log_index: number;
      start: string;
    }[];
    expect(held.every((m) => m.status === 200)).toBe(true);
    expect(new Set(held.map((m) => m.log_index)).size, 'two measurements share a log index').toBe(
      held.length,
    );
    // Original timestamps: what the collector holds is what the probe wrote.
    const startsWritten = lines.map((line) => JSON.parse(line).measurement_start_time as string);
    expect(held.map((m) => m.start)).toEqual(startsWritten);

    const uploadedAt = new Map(ledger.map((e) => [e.id, Date.parse(e.uploaded_at)]));
    for (const m of held) {
      const afterRestore = (uploadedAt.get(m.id) ?? 0) >= restoredAt;
      expect(m.late, `${m.id} uploaded ${afterRestore ? 'after' : 'before'} the blackout`).toBe(afterRestore);
    }
  }, 300_000);
});
