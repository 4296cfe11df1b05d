/**
 * kill -9 of `pharos serve` while probes submit at full speed: after a restart on the same data
 * directory every acknowledged measurement is there with its log index, and the new checkpoint
 * is consistent with every checkpoint served before the kill (proofs from the API, checked with
 * core's verifier). Runs the built CLI (packages/server/dist), as `npm test` builds it first.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  fromBase64,
  openCheckpoint,
  parseVerifierKey,
  seededRandom,
  verifyCheckpointConsistency,
} from '@pharos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  benchProbe,
  signItem,
  submissionBody,
  webConnectivityMeasurement,
} from '../src/bench/measurements.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cli.js');
const PROBES = 4;
const BATCH = 5;

interface Running {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
}

function start(dataDir: string): Promise<Running> {
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--data', dataDir, '--port', '0', '--origin', 'kill.test/log'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pharos serve did not start: ${output}`)), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, exited });
      }
    });
    void exited.then((code) => reject(new Error(`pharos serve exited (${code}): ${output}`)));
  });
}

let dir: string;
let server: Running | undefined;
beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first`);
  dir = await mkdtemp(path.join(tmpdir(), 'pharos-kill-'));
});
afterAll(async () => {
  if (server && server.child.exitCode === null) {
    server.child.kill('SIGTERM');
    await server.exited;
  }
  await rm(dir, { recursive: true, force: true });
});

describe('kill -9 while probes submit', () => {
  it('keeps every acknowledged measurement, and the log stays consistent', async () => {
    // Each probe's measurements, signed ahead so the probes submit at full speed.
    const random = seededRandom(99);
    const queues = Array.from({ length: PROBES }, (_, p) =>
      Array.from({ length: 600 }, () => signItem(webConnectivityMeasurement(random), benchProbe(100 + p))),
    );
    server = await start(dir);
    const first = server;
    const acked = new Map<string, number>();
    const checkpoints = new Set<string>();
    let killed = false;

    const probe = async (queue: (typeof queues)[number]) => {
      for (let i = 0; i < queue.length && !killed; i += BATCH) {
        const batch = queue.slice(i, i + BATCH);
        let res: Response;
        try {
          res = await fetch(`${first.url}api/v1/measurements`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: submissionBody(batch),
          });
        } catch {
          return; // the server is gone: this batch was never acknowledged
        }
        let json: { results: { id: string; log_index: number }[] };
        try {
          json = (await res.json()) as typeof json;
        } catch {
          return; // the answer was cut off: not acknowledged
        }
        expect(res.status).toBe(200);
        for (const r of json.results) acked.set(r.id, r.log_index);
      }
    };
    const watcher = async () => {
      while (!killed) {
        try {
          const res = await fetch(`${first.url}log/checkpoint`);
          const text = await res.text();
          if (res.status === 200) checkpoints.add(text);
        } catch {
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    const running = [...queues.map(probe), watcher()];
    // Mid-stream: once some hundreds are in and the log has moved on several times.
    while (acked.size < 300 || new Set([...checkpoints].map((c) => c.split('\n')[1])).size < 3) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    first.child.kill('SIGKILL');
    killed = true;
    expect(await first.exited).toBeNull();
    await Promise.all(running);
    const ackedAtKill = acked.size;
    expect(ackedAtKill).toBeGreaterThanOrEqual(300);

    server = await start(dir);
    const { url } = server;
    const vkey = parseVerifierKey((await (await fetch(`${url}log/vkey`)).text()).trim());
    const maxIndex = Math.max(...acked.values());
    let latest = '';
    for (let i = 0; i < 400; i++) {
      latest = await (await fetch(`${url}log/checkpoint`)).text();
      if (Number(latest.split('\n')[1]) > maxIndex) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const newer = openCheckpoint(latest, vkey);
    if (!newer.ok) throw new Error(newer.reason);
    expect(newer.checkpoint.size).toBeGreaterThan(maxIndex);

    // Every acknowledged measurement, at the index it was acknowledged with.
    await Promise.all(
      [...acked].map(async ([id, index]) => {
        const res = await fetch(`${url}api/v1/measurements/${id}`);
        expect(res.status, id).toBe(200);
        expect(((await res.json()) as { log_index: number }).log_index).toBe(index);
      }),
    );

    // Every checkpoint served before the kill is a prefix of the new one.
    expect(checkpoints.size).toBeGreaterThanOrEqual(3);
    for (const text of checkpoints) {
      const older = openCheckpoint(text, vkey);
      if (!older.ok) throw new Error(older.reason);
      const res = await fetch(
        `${url}api/v1/log/proof/consistency?from=${older.checkpoint.size}&to=${newer.checkpoint.size}`,
      );
      expect(res.status).toBe(200);
      const proof = ((await res.json()) as { hashes: string[] }).hashes.map(fromBase64);
      const verdict = verifyCheckpointConsistency(older.checkpoint, newer.checkpoint, proof);
      expect(verdict, `checkpoint of size ${older.checkpoint.size}`).toEqual({ ok: true });
    }

    // And it goes on: a replay is recognised, new measurements are taken.
    const [someId, someIndex] = [...acked][0]!;
    const replayItem = queues.flat().find((s) => s.id === someId)!;
    const fresh = signItem(webConnectivityMeasurement(random), benchProbe(100));
    const again = await fetch(`${url}api/v1/measurements`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: submissionBody([replayItem, fresh]),
    });
    expect(((await again.json()) as { results: unknown[] }).results).toEqual([
      { id: someId, log_index: someIndex, duplicate: true },
      { id: fresh.id, log_index: expect.any(Number), duplicate: false },
    ]);
    console.log(
      `kill -9 after ${ackedAtKill} acknowledged measurements and ${checkpoints.size} checkpoints; ` +
        `after restart the log has ${newer.checkpoint.size} entries`,
    );
  }, 180_000);
});
