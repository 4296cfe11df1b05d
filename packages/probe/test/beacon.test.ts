/**
 * `pharos-probe beacon` in process against a small collector on loopback that checks beacons
 * with core's parser and verifier: what arrives, what is kept on disk while no collector can be
 * reached, and that it is reported once one can.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseBeaconText, type SignedBeacon, verifyBeacon } from '@pharos/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addMissed } from '../src/beacon/beacon-state.js';
import { beaconPhaseMs, nextSendTime } from '../src/beacon/sender.js';
import { beaconCommand, parseDuration } from '../src/cli/beacon-command.js';
import type { CliIO } from '../src/cli/io.js';
import { main } from '../src/cli/main.js';
import type { RunDeps } from '../src/cli/run.js';
import { refusedPort } from './net-fixtures.js';
import { sampleMeasurement } from './upload-fake-collector.js';

let dir: string;
let stateDir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pharos-beacon-'));
  stateDir = path.join(dir, 'state');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface TinyCollector {
  url: string;
  beacons: SignedBeacon[];
  /** Status to answer with (202 by default); 0 never answers. */
  status: number;
  close(): Promise<void>;
}

async function tinyCollector(): Promise<TinyCollector> {
  const beacons: SignedBeacon[] = [];
  const state = { status: 202 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (state.status === 0) return; // hang
      if (req.url !== '/api/v1/beacons') {
        res.writeHead(404).end();
        return;
      }
      let signed: SignedBeacon | null = null;
      try {
        signed = parseBeaconText(Buffer.concat(chunks).toString('utf8'));
      } catch {
        // Answered below as a bad beacon.
      }
      if (!signed || !verifyBeacon(signed)) {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad beacon"}');
        return;
      }
      if (state.status === 202) beacons.push(signed);
      res
        .writeHead(state.status, { 'content-type': 'application/json' })
        .end(
          JSON.stringify(state.status === 202 ? { server_time: new Date().toISOString() } : { error: 'no' }),
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    beacons,
    get status() {
      return state.status;
    },
    set status(s: number) {
      state.status = s;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `clock`: the probe's clock; by default the real one. */
function fakeIO(clock: () => Date = () => new Date()) {
  let stderr = '';
  let stdout = '';
  const io: CliIO = {
    stdout: { write: (c) => (stdout += c) },
    stderr: { write: (c) => (stderr += c) },
    cwd: dir,
    now: clock,
    env: { HOME: path.join(dir, 'home') },
    onInterrupt: () => () => {},
  };
  return { io, stderr: () => stderr, stdout: () => stdout };
}

const noSignals = { onTerminate: () => () => {} };

async function savedState(): Promise<{ next_seq: number; missed: string[] }> {
  return JSON.parse(await readFile(path.join(stateDir, 'beacon.json'), 'utf8'));
}

describe('pharos-probe beacon', () => {
  it('keeps attempts that reached no collector on disk and reports them in the next beacon that gets through', async () => {
    const dead = await refusedPort();
    // An hour ago, and a minute between readings, so each failed attempt has its own second.
    let readings = 0;
    const offline = fakeIO(() => new Date(Date.now() - 3_600_000 + readings++ * 60_000));
    const argv = ['--state-dir', stateDir, '--interval', '1s', '--cc', 'AZ', '--asn', 'AS29049'];
    const code = await beaconCommand(
      [...argv, '--collector', `http://127.0.0.1:${dead}/`, '--count', '2'],
      offline.io,
      noSignals,
    );
    expect(code).toBe(3);
    expect(offline.stderr()).toMatch(/no collector reached \(.*connection refused/);
    const kept = await savedState();
    expect(kept.missed).toHaveLength(2);
    // Sequence numbers follow the clock, so a lost beacon.json cannot make them go back.
    expect(kept.next_seq).toBeGreaterThan(Date.now() / 1000 - 3600 - 5);

    const collector = await tinyCollector();
    try {
      const online = fakeIO();
      const back = await beaconCommand(
        [...argv, '--region', 'AZ-FUZ', '--collector', collector.url, '--count', '1'],
        online.io,
        noSignals,
      );
      expect(back).toBe(0);
      expect(online.stderr()).toMatch(/beacon \d+ delivered to .*reporting 2 missed attempts/);
      expect(collector.beacons).toHaveLength(1);
      const { beacon } = collector.beacons[0]!;
      expect(beacon.seq).toBeGreaterThanOrEqual(kept.next_seq);
      expect(beacon).toMatchObject({
        v: 1,
        cc: 'AZ',
        asn: 29049,
        region: 'AZ-FUZ',
        missed: kept.missed,
      });
      expect((await savedState()).missed).toEqual([]);
    } finally {
      await collector.close();
    }
  });

  it('tries the next collector, and gives a stuck one only its short deadline', async () => {
    const stuck = await tinyCollector();
    stuck.status = 0;
    const good = await tinyCollector();
    try {
      const run = fakeIO();
      const code = await beaconCommand(
        [
          '--state-dir',
          stateDir,
          '--interval',
          '1s',
          '--count',
          '2',
          '--collector',
          stuck.url,
          '--collector',
          good.url,
        ],
        run.io,
        noSignals,
      );
      // The stuck collector eats each attempt's whole deadline, so nothing is delivered, and each
      // attempt is recorded; the second one still went out on time.
      expect(code).toBe(3);
      expect(run.stderr()).toMatch(/timed out/);
      expect((await savedState()).missed.length).toBeGreaterThanOrEqual(1);
      const again = fakeIO();
      expect(
        await beaconCommand(
          ['--state-dir', stateDir, '--count', '1', '--collector', good.url],
          again.io,
          noSignals,
        ),
      ).toBe(0);
      expect(good.beacons.at(-1)!.beacon.missed.length).toBeGreaterThanOrEqual(1);
    } finally {
      await stuck.close();
      await good.close();
    }
  });

  it('does not count a refusal as a missed attempt, and says why', async () => {
    const collector = await tinyCollector();
    collector.status = 400;
    try {
      const run = fakeIO();
      const code = await beaconCommand(
        ['--state-dir', stateDir, '--count', '1', '--collector', collector.url],
        run.io,
        noSignals,
      );
      expect(code).toBe(1);
      expect(run.stderr()).toMatch(/refused by .*400/);
      expect((await savedState()).missed).toEqual([]);
    } finally {
      await collector.close();
    }
  });

  it('stops cleanly when told to, and refuses bad options with a reason', async () => {
    const collector = await tinyCollector();
    try {
      let terminate = () => {};
      const run = fakeIO();
      const running = beaconCommand(
        ['--state-dir', stateDir, '--interval', '60s', '--collector', collector.url],
        run.io,
        {
          onTerminate: (handler) => {
            terminate = handler;
            return () => {};
          },
        },
      );
      while (collector.beacons.length === 0) await new Promise((r) => setTimeout(r, 20));
      terminate();
      expect(await running).toBe(0);
    } finally {
      await collector.close();
    }
    const bad = fakeIO();
    expect(await main(['beacon', '--interval', '5m'], bad.io)).toBe(2);
    expect(bad.stderr()).toMatch(/no collector/);
    const short = fakeIO();
    expect(await main(['beacon', '--collector', 'http://x/', '--interval', '10ms'], short.io)).toBe(2);
    expect(short.stderr()).toMatch(/--interval "10ms": must be at least 1s/);
    const region = fakeIO();
    expect(
      await main(['beacon', '--collector', 'http://x/', '--cc', 'AZ', '--region', 'AM-ER'], region.io),
    ).toBe(2);
    expect(region.stderr()).toMatch(/not in --cc AZ/);
    const help = fakeIO();
    expect(await main(['beacon', '--help'], help.io)).toBe(0);
    expect(help.stdout()).toMatch(/--interval DURATION/);
  });
});

describe('pharos-probe run --beacon-interval', () => {
  it('sends beacons while the run lasts, placed where the run says the probe is', async () => {
    const collector = await tinyCollector();
    try {
      const deps: RunDeps = {
        // The measurement finishes only once a beacon has arrived: the beacons run beside it.
        measure: async () => {
          while (collector.beacons.length === 0) await new Promise((r) => setTimeout(r, 20));
          return sampleMeasurement(1) as never;
        },
        upload: { idleTimeoutMs: 2000, lingerMs: 5, backoff: { baseMs: 5, capMs: 20 } },
      };
      const run = fakeIO();
      await main(
        [
          'run',
          '--input',
          'https://example.org/',
          '--output',
          path.join(dir, 'out.jsonl'),
          '--collector',
          collector.url,
          '--state-dir',
          stateDir,
          '--upload-timeout',
          '1',
          '--probe-cc',
          'AZ',
          '--probe-asn',
          'AS28787',
          '--region',
          'AZ-BA',
          '--beacon-interval',
          '60s',
          '--quiet',
        ],
        run.io,
        deps,
      );
      expect(collector.beacons[0]!.beacon).toMatchObject({ cc: 'AZ', asn: 28787, region: 'AZ-BA' });
    } finally {
      await collector.close();
    }
    const bad = fakeIO();
    expect(await main(['run', '--input', 'https://example.org/', '--beacon-interval', '60s'], bad.io)).toBe(
      2,
    );
    expect(bad.stderr()).toMatch(/--beacon-interval needs --collector/);
  });
});

describe('beacon timing and the missed list', () => {
  it('sends in the middle half of each interval, in every step after the first, never twice within a quarter interval', () => {
    const interval = 60_000;
    for (const fp of ['00000000', 'ffffffff', '80000000']) {
      const phase = beaconPhaseMs(fp, interval);
      expect(phase).toBeGreaterThanOrEqual(15_000);
      expect(phase).toBeLessThan(45_000);
      // A first beacon anywhere in its step, then the steady state from there.
      for (const first of [1_000_000, 1_020_000, 1_019_999, 1_079_999, 1_080_000 + phase]) {
        let sent = first;
        for (let step = 1; step <= 3; step++) {
          const next = nextSendTime(sent, interval, phase);
          expect(next % interval).toBe(phase);
          expect(Math.floor(next / interval)).toBe(Math.floor(first / interval) + step);
          expect(next - sent).toBeGreaterThanOrEqual(interval / 4);
          sent = next;
        }
      }
    }
    expect(parseDuration('--interval', '5m')).toBe(300_000);
    expect(parseDuration('--interval', '90')).toBe(90_000);
  });

  it('keeps the first and latest misses of a long outage and spreads the rest', () => {
    let missed: string[] = [];
    const start = Date.parse('2026-11-23T00:00:00Z');
    for (let i = 0; i < 600; i++)
      missed = addMissed(missed, `${new Date(start + i * 60_000).toISOString().slice(0, 19)}Z`, 10);
    expect(missed).toHaveLength(10);
    expect(missed[0]).toBe('2026-11-23T00:00:00Z');
    expect(missed.at(-1)).toBe('2026-11-23T09:59:00Z');
    const gaps = missed.slice(1).map((t, i) => Date.parse(t) - Date.parse(missed[i]!));
    expect(Math.max(...gaps)).toBeLessThan(4 * Math.min(...gaps));
  });
});
