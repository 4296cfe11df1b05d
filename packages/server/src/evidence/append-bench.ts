/**
 * Throughput of EvidenceStore.append() alone (no HTTP, no signature checks): concurrent appenders
 * in a fresh temporary data directory, each appending batches of ~10 KB measurements, as the
 * collector does. Prints measurements per second and append latency.
 *
 *   node packages/server/dist/evidence/append-bench.js [COUNT=60000] [APPENDERS=16] [BATCH=50] [BYTES=10000]
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openEvidenceStore } from './store.js';
import type { IncomingMeasurement } from './types.js';

const [count = 60_000, appenders = 16, batchSize = 50, bytes = 10_000] = process.argv.slice(2).map(Number);

// One realistic body shape; each measurement differs in its input, so every id is new.
const start = new Date(Date.now() - 5000).toISOString().slice(0, 19).replace('T', ' ');
let tail = `"measurement_start_time":"${start}","probe_asn":"AS28787","probe_cc":"AZ","test_keys":{"queries":[`;
for (let q = 0; tail.length < bytes; q++) {
  tail += `{"answers":[{"answer_type":"A","ipv4":"93.184.${q % 256}.${(q * 7) % 256}"}],"failure":null,"hostname":"site.example","t":${q * 0.0137}},`;
}
tail += '{}]},"test_name":"web_connectivity","test_runtime":1.5}';
const measurement = { measurement_start_time: start, test_name: 'web_connectivity', test_runtime: 1.5 };
const probeKey = Buffer.alloc(32, 7).toString('base64');
const signature = Buffer.alloc(64, 9).toString('base64');

function item(i: number): IncomingMeasurement {
  const body = Buffer.from(`{"input":"https://site-${i}.example/",${tail}`);
  return {
    id: createHash('sha256').update(body).digest('hex'),
    body,
    measurement,
    probeKey,
    signature,
    scrubbed: false,
    receivedAt: new Date(),
    network: { derivedCC: 'AZ', derivedASN: 28787, claimedCC: 'AZ', claimedASN: 'AS28787', mismatch: false },
  };
}

const dir = await mkdtemp(path.join(tmpdir(), 'pharos-append-bench-'));
const store = await openEvidenceStore({ dataDir: dir });
let next = 0;
const latencies: number[] = [];
const cpu = process.cpuUsage();
const t0 = performance.now();
await Promise.all(
  Array.from({ length: appenders }, async () => {
    while (next < count) {
      const from = next;
      next += batchSize;
      const batch: IncomingMeasurement[] = [];
      for (let i = from; i < Math.min(count, from + batchSize); i++) batch.push(item(i));
      const t = performance.now();
      await store.append(batch);
      latencies.push(performance.now() - t);
    }
  }),
);
const seconds = (performance.now() - t0) / 1000;
const used = process.cpuUsage(cpu);
await store.close();
await rm(dir, { recursive: true, force: true });
latencies.sort((a, b) => a - b);
const at = (q: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))]!.toFixed(0);
console.log(
  `append: ${count} measurements of ${tail.length + 30} B, ${appenders} appenders x ${batchSize}: ` +
    `${(count / seconds).toFixed(0)} measurements/s; latency p50 ${at(0.5)} ms, p99 ${at(0.99)} ms; ` +
    `CPU ${(((used.user + used.system) / 1e6 / seconds) * 100).toFixed(0)}% of one core`,
);
