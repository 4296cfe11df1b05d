/**
 * `pharos-probe status`, `upload`, `submit` and `run --collector`, run in process against a fake
 * collector on loopback: what the user sees, the exit codes, and what ends up where.
 */
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { WebConnectivityMeasurement } from '@pharos/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CliIO } from '../src/cli/io.js';
import { main } from '../src/cli/main.js';
import type { Measure, RunDeps } from '../src/cli/run.js';
import { measurementId } from '../src/identity/sign.js';
import { readLedger } from '../src/outbox/ledger.js';
import { refusedPort } from './net-fixtures.js';
import { type FakeCollector, sampleMeasurement, startFakeCollector } from './upload-fake-collector.js';

let dir: string;
let stateDir: string;
let collector: FakeCollector;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pharos-cli-upload-'));
  stateDir = path.join(dir, 'state');
  collector = await startFakeCollector();
});
afterEach(async () => {
  await collector.close();
  await rm(dir, { recursive: true, force: true });
});

function fakeIO(env: Record<string, string> = { HOME: path.join(dir, 'home') }) {
  let stdout = '';
  let stderr = '';
  const handlers = new Set<() => void>();
  const io: CliIO = {
    stdout: { write: (chunk) => (stdout += chunk) },
    stderr: { write: (chunk) => (stderr += chunk), isTTY: false },
    cwd: dir,
    now: () => new Date(),
    env,
    onInterrupt(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
  };
  return {
    io,
    stdout: () => stdout,
    stderr: () => stderr,
    interrupt: () => {
      for (const handler of handlers) handler();
    },
  };
}

/** Fast retries, so a test about an unreachable collector takes a second, not a minute. */
const fast: RunDeps = {
  measure: async (input) =>
    sampleMeasurement(Number(/\d+/.exec(input)?.[0] ?? 0)) as unknown as WebConnectivityMeasurement,
  upload: { backoff: { baseMs: 5, capMs: 50 }, idleTimeoutMs: 5000, lingerMs: 5 },
};

async function cli(args: string[], t = fakeIO(), deps: RunDeps = fast) {
  const code = await main(args, t.io, deps);
  return { code, stdout: t.stdout(), stderr: t.stderr() };
}

async function writeLines(name: string, lines: string[]) {
  await writeFile(path.join(dir, name), `${lines.join('\n')}\n`);
}

const sampleLines = (count: number, from = 0) =>
  Array.from({ length: count }, (_, i) => JSON.stringify(sampleMeasurement(from + i)));

async function submit(file: string, ...extra: string[]) {
  return cli(['submit', file, '--collector', collector.url, '--state-dir', stateDir, ...extra]);
}

describe('pharos-probe status', () => {
  it('on a fresh machine says nothing is there, and creates nothing', async () => {
    const r = await cli(['status', '--state-dir', stateDir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`State directory: ${stateDir} (not created yet)`);
    await expect(stat(stateDir)).rejects.toThrow(/ENOENT/);
  });

  it('shows queued, uploaded and failed counts, the oldest queued time and the key fingerprint', async () => {
    await writeLines('a.jsonl', sampleLines(3));
    expect((await submit('a.jsonl', '--quiet')).code).toBe(0);
    // Two more, queued while the collector is unreachable.
    await writeLines('b.jsonl', sampleLines(2, 125));
    const down = `http://127.0.0.1:${await refusedPort()}/`;
    const queued = await cli([
      'submit',
      'b.jsonl',
      '--collector',
      down,
      '--state-dir',
      stateDir,
      '--upload-timeout',
      '0.2',
    ]);
    expect(queued.code).toBe(3);

    const r = await cli(['status', '--state-dir', stateDir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^queued: +2 \(oldest measured 2024-02-07 10:02:05 UTC\)$/m);
    expect(r.stdout).toMatch(/^uploaded: +3 \(last at \d{4}-\d\d-\d\dT[\d:.]+Z\)$/m);
    expect(r.stdout).toMatch(/^failed: +0$/m);
    expect(r.stdout).toMatch(/^probe key: +[0-9a-f]{64} \(sha256 of public key [A-Za-z0-9+/]{43}=\)$/m);

    const json = JSON.parse((await cli(['status', '--json', '--state-dir', stateDir])).stdout);
    expect(json).toMatchObject({ queued: 2, uploaded: 3, failed: 0, oldest_queued: '2024-02-07 10:02:05' });
    // The key the collector saw is the one status names.
    expect([...collector.stored.values()][0]?.probeKey).toBe(json.probe_key.public_key);
  });

  it('reads PHAROS_PROBE_STATE when --state-dir is not given', async () => {
    await writeLines('a.jsonl', sampleLines(1));
    await submit('a.jsonl', '--quiet');
    const r = await cli(['status'], fakeIO({ PHAROS_PROBE_STATE: stateDir, HOME: '/nonexistent' }));
    expect(r.stdout).toMatch(/^uploaded: +1 \(last at /m);
  });
});

describe('pharos-probe upload', () => {
  it.each([
    [['upload'], /no collector: give at least one --collector URL/],
    [
      ['upload', '--collector', 'ftp://c.example/'],
      /--collector "ftp:\/\/c.example\/": scheme "ftp" is not http or https/,
    ],
    [['upload', '--collector', 'collector'], /--collector "collector": not a valid URL/],
    [
      ['upload', '--collector', 'http://c/', '--upload-timeout', 'soon'],
      /--upload-timeout "soon": expected a number/,
    ],
    [['upload', '--collector', 'http://c/', 'm.jsonl'], /write pharos-probe submit m.jsonl/],
    [['upload', '--collector', 'http://c/', '--ca', 'missing.pem'], /--ca missing.pem: cannot read it/],
  ])('%j exits 2 with a message', async (args, message) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('Run "pharos-probe upload --help" for usage.');
  });

  it('exits 3, saying so plainly, while no collector is reachable; then uploads once it is', async () => {
    const down = `http://127.0.0.1:${await refusedPort()}/`;
    await writeLines('a.jsonl', sampleLines(4));
    expect(
      (
        await cli([
          'submit',
          'a.jsonl',
          '--collector',
          down,
          '--state-dir',
          stateDir,
          '--upload-timeout',
          '0.2',
        ])
      ).code,
    ).toBe(3);

    const failing = await cli([
      'upload',
      '--collector',
      down,
      '--state-dir',
      stateDir,
      '--upload-timeout',
      '0.2',
    ]);
    expect(failing.code).toBe(3);
    expect(failing.stdout).toContain('Still queued: 4.');
    expect(failing.stderr).toContain(`pharos-probe: uploading 4 queued measurements from ${stateDir}/outbox`);
    expect(failing.stderr).toContain(`collector ${down}: connection refused`);
    expect(failing.stderr).toContain(
      `pharos-probe: 4 measurements are still queued in ${stateDir}/outbox: no collector could be reached or took them`,
    );
    expect(failing.stderr).toContain(
      'They are safe on disk; run "pharos-probe upload" again when the network is back.',
    );

    const ok = await cli([
      'upload',
      '--collector',
      down,
      '--collector',
      collector.url,
      '--state-dir',
      stateDir,
    ]);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toContain(`uploaded 4 measurements to ${collector.url}`);
    expect(ok.stdout).toMatch(
      /^Uploaded 4 measurements in 1 batch; sent [\d.]+ k?B \([\d.]+ kB before compression\), received [\d.]+ k?B\.$/m,
    );
    expect(ok.stdout).toContain('Still queued: 0.');
    expect(collector.stored.size).toBe(4);
  });

  it('exits 1 when the collector refuses a measurement, and --retry-failed sends it again', async () => {
    await writeLines('a.jsonl', sampleLines(3));
    const ids = sampleLines(3).map((line) => measurementId(JSON.parse(line)));
    collector.refuse([ids[1]!]);
    const refused = await submit('a.jsonl');
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain(`Refused: 1 (kept with the reason in ${stateDir}/failed/).`);
    expect(refused.stderr).toContain(
      `${collector.url} refused measurement ${ids[1]!.slice(0, 12)}…: 400 Bad Request`,
    );
    const status = await cli(['status', '--state-dir', stateDir]);
    expect(status.stdout).toMatch(/^failed: +1 /m);
    expect(status.stdout).toMatch(/^ +1 {2}400 Bad Request: measurements\[\d\]: refused by the test$/m);

    // Nothing is retried on its own...
    const plain = await cli(['upload', '--collector', collector.url, '--state-dir', stateDir]);
    expect(plain.stdout).toContain('Uploaded 0 measurements');
    // ...until asked, once the collector is fixed.
    const fixed = await startFakeCollector();
    try {
      const retried = await cli([
        'upload',
        '--retry-failed',
        '--collector',
        fixed.url,
        '--state-dir',
        stateDir,
      ]);
      expect(retried.code).toBe(0);
      expect(retried.stderr).toContain('1 refused measurements put back in the outbox');
      expect([...fixed.stored.keys()]).toEqual([ids[1]]);
    } finally {
      await fixed.close();
    }
  });

  it('leaves the measurements to another live uploader of the same state directory', async () => {
    await writeLines('a.jsonl', sampleLines(2));
    const down = `http://127.0.0.1:${await refusedPort()}/`;
    await cli(['submit', 'a.jsonl', '--collector', down, '--state-dir', stateDir, '--upload-timeout', '0.1']);
    // pid 1 is always alive: as if another pharos-probe held the lock.
    await writeFile(path.join(stateDir, 'upload.lock'), '1\n');
    const r = await cli(['upload', '--collector', collector.url, '--state-dir', stateDir]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('another pharos-probe process (pid 1) is uploading from this state directory');
    expect(collector.stored.size).toBe(0);
  });

  it('stops on Ctrl-C, leaving what is unsent queued, and exits 130', async () => {
    await writeLines('a.jsonl', sampleLines(2));
    const down = `http://127.0.0.1:${await refusedPort()}/`;
    await cli(['submit', 'a.jsonl', '--collector', down, '--state-dir', stateDir, '--upload-timeout', '0.1']);
    collector.behave(() => ({ kind: 'accept', delayMs: 10_000 }));
    const t = fakeIO();
    collector.onStored(() => t.interrupt());
    const r = await cli(['upload', '--collector', collector.url, '--state-dir', stateDir], t);
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('interrupted: stopping the upload; what is not sent stays queued');
    expect(r.stdout).toContain('Still queued: 2.');
  });
});

describe('pharos-probe submit', () => {
  it('names each bad line, skips it, and signs and uploads the good ones', async () => {
    const good = sampleLines(2);
    const { test_keys: _, ...noKeys } = sampleMeasurement(10);
    await writeLines('mixed.jsonl', [
      good[0]!,
      '',
      'not json',
      '[1,2]',
      JSON.stringify(noKeys),
      JSON.stringify({ ...sampleMeasurement(11), probe_cc: 'aze' }),
      JSON.stringify({ ...sampleMeasurement(12), probe_ip: '203.0.113.9' }),
      JSON.stringify({ ...sampleMeasurement(13), measurement_start_time: '2024-02-07T10:00:00Z' }),
      good[1]!,
      good[1]!.slice(0, 40),
    ]);
    const r = await submit('mixed.jsonl');
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n');
    expect(lines).toContain(
      `pharos-probe: mixed.jsonl:3: not valid JSON (Unexpected token 'o', "not json" is not valid JSON); skipped`,
    );
    expect(lines).toContain('pharos-probe: mixed.jsonl:4: not a JSON object but an array; skipped');
    expect(lines).toContain(
      'pharos-probe: mixed.jsonl:5: not an OONI measurement: "test_keys" is missing; skipped',
    );
    expect(r.stderr).toContain(
      'mixed.jsonl:6: not an OONI measurement: "probe_cc": expected a two-letter country code',
    );
    expect(r.stderr).toContain('mixed.jsonl:7: not an OONI measurement: "probe_ip": must be "127.0.0.1"');
    expect(r.stderr).toContain(
      'mixed.jsonl:8: not an OONI measurement: "measurement_start_time": expected "YYYY-MM-DD hh:mm:ss"',
    );
    expect(r.stderr).toMatch(/mixed\.jsonl:10: not valid JSON .*; skipped/);
    expect(r.stderr).toContain('pharos-probe: mixed.jsonl: 2 measurements queued, 7 bad lines skipped');
    expect(r.stdout).toContain('Uploaded 2 measurements in 1 batch');
    expect([...collector.stored.keys()].sort()).toEqual(good.map((l) => measurementId(JSON.parse(l))).sort());
  });

  it('uploads a file submitted twice only once', async () => {
    await writeLines('a.jsonl', sampleLines(3));
    expect((await submit('a.jsonl')).code).toBe(0);
    const again = await submit('a.jsonl');
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('a.jsonl: 0 measurements queued, 3 were uploaded before (skipped)');
    expect(collector.batches).toHaveLength(1);
  });

  it.each([
    [['submit', '--collector', 'http://c/'], /nothing to submit: give a JSONL file/],
    [['submit', 'a.jsonl'], /no collector: give at least one --collector URL/],
    [['submit', 'missing.jsonl', '--collector', 'http://c/'], /cannot read missing.jsonl: ENOENT/],
  ])('%j exits 2 with a message', async (args, message) => {
    await writeLines('a.jsonl', sampleLines(1));
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('refuses a signing key that others can read, saying how to fix it', async () => {
    await writeLines('a.jsonl', sampleLines(1));
    await submit('a.jsonl', '--quiet');
    await chmod(path.join(stateDir, 'probe.key'), 0o644);
    const r = await submit('a.jsonl');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${stateDir}/probe.key can be read by other users (mode 0644)`);
    expect(r.stderr).toContain(`chmod 600 ${stateDir}/probe.key`);
  });
});

describe('pharos-probe run --collector', () => {
  const inputs = [
    '--input',
    'https://site1.example/',
    '--input',
    'https://site2.example/',
    '--input',
    'https://site3.example/',
  ];

  it('writes the JSONL file, queues each measurement and uploads it, and reports the cost', async () => {
    const r = await cli([
      'run',
      ...inputs,
      '--output',
      'out.jsonl',
      '--collector',
      collector.url,
      '--state-dir',
      stateDir,
    ]);
    expect(r.code).toBe(0);
    const lines = (await readFile(path.join(dir, 'out.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(3);
    // The JSONL lines and the uploads are the same measurements, by content address.
    const ids = lines.map((line) => measurementId(JSON.parse(line))).sort();
    expect([...collector.stored.keys()].sort()).toEqual(ids);
    expect((await readLedger(path.join(stateDir, 'sent.jsonl'))).entries.map((e) => e.id).sort()).toEqual(
      ids,
    );
    expect(await readdir(path.join(stateDir, 'outbox'))).toEqual([]);
    expect(r.stderr).toContain(`created this probe's signing key in ${stateDir}`);
    expect(r.stdout).toMatch(/^Uploaded 3 measurements in \d batch(es)?; sent [\d.]+ k?B/m);
    expect(r.stdout).toContain('Still queued: 0.');
  });

  it('keeps measuring when the collector is unreachable, leaves them queued, and upload sends them later', async () => {
    const down = `http://127.0.0.1:${await refusedPort()}/`;
    const r = await cli([
      'run',
      ...inputs,
      '--output',
      'out.jsonl',
      '--collector',
      down,
      '--state-dir',
      stateDir,
      '--upload-timeout',
      '0.3',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Measured 3 of 3 URLs');
    expect(r.stdout).toContain('Still queued: 3.');
    expect(r.stderr).toContain(`upload: ${down}: connection refused`);
    expect(r.stderr).toContain(`3 measurements are still queued in ${stateDir}/outbox`);
    expect(r.stderr).toContain('run "pharos-probe upload --collector URL" when the network is back.');

    const later = await cli(['upload', '--collector', collector.url, '--state-dir', stateDir, '--quiet']);
    expect(later.code).toBe(0);
    expect(collector.stored.size).toBe(3);
  });

  it('without --collector touches no state directory, and refuses upload options', async () => {
    const t = fakeIO({ PHAROS_PROBE_STATE: stateDir });
    expect((await cli(['run', ...inputs, '--output', 'out.jsonl', '--quiet'], t)).code).toBe(0);
    await expect(stat(stateDir)).rejects.toThrow(/ENOENT/);
    const r = await cli(['run', ...inputs, '--state-dir', stateDir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--state-dir is used only with --collector');
  });

  it('stops before measuring when the key is readable by others', async () => {
    await writeLines('a.jsonl', sampleLines(1));
    await submit('a.jsonl', '--quiet');
    await chmod(path.join(stateDir, 'probe.key'), 0o604);
    let measured = 0;
    const measure: Measure = async (input, options) => {
      measured++;
      return fast.measure(input, options);
    };
    const r = await cli(['run', ...inputs, '--collector', collector.url, '--state-dir', stateDir], fakeIO(), {
      ...fast,
      measure,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('can be read by other users (mode 0604)');
    expect(measured).toBe(0);
  });
});

describe('help', () => {
  it.each([
    ['status', 'Usage: pharos-probe status [--state-dir DIR] [--json]'],
    ['upload', 'Usage: pharos-probe upload --collector URL ... [options]'],
    ['submit', 'Usage: pharos-probe submit FILE.jsonl ... --collector URL ... [options]'],
  ])('%s --help prints its usage', async (command, first) => {
    const r = await cli([command, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(first);
    expect((await cli(['help', command])).stdout.split('\n')[0]).toBe(first);
  });

  it('the main usage lists the new commands, and run --help the upload options', async () => {
    const main = (await cli(['help'])).stdout;
    for (const command of ['status', 'upload', 'submit'])
      expect(main).toMatch(new RegExp(`^  ${command} `, 'm'));
    const run = (await cli(['run', '--help'])).stdout;
    for (const option of ['--collector URL', '--state-dir DIR', '--upload-timeout SECONDS'])
      expect(run).toContain(option);
  });
});
