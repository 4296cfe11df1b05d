/**
 * `npm run bench:ingest`: how many signed, realistic Web Connectivity measurements (5–20 KB) the
 * collector accepts per second — each verified, durably stored and appended to the evidence log
 * before it is acknowledged — from concurrent probes over real HTTP on loopback, against
 * `pharos serve` in its own process. Beside it, the ceiling signature checking alone sets on this
 * machine. Prints the numbers and writes them to docs/benchmarks.md.
 *
 *   npm run bench:ingest -- [--probes 32] [--batch 50] [--seconds 12] [--warmup 3]
 *                           [--measurements 100000] [--runs 3] [--gzip] [--memory-store]
 *                           [--no-record] [--profile DIR]
 *
 * With several runs (each against a fresh server and data directory) the run with the median
 * rate is reported, with every run's rate beside it: other work on the machine moves the numbers.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildCorpus } from './corpus.js';
import { type Ack, runLoad } from './http-load.js';
import { cpuSeconds, mainThreadCpuSeconds, memory } from './proc-stats.js';
import { recordBenchmark } from './record.js';
import { measureStageCosts } from './stage-costs.js';
import { measureVerifyCeiling } from './verify-ceiling.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const TARGET = 5000;

const { values } = parseArgs({
  options: {
    probes: { type: 'string', default: '32' },
    // The probe's uploader sends up to 50 measurements (and 1 MiB) per request.
    batch: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '12' },
    warmup: { type: 'string', default: '3' },
    measurements: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '3' },
    gzip: { type: 'boolean', default: false },
    'memory-store': { type: 'boolean', default: false },
    'no-record': { type: 'boolean', default: false },
    /** Write a V8 CPU profile of the server to this directory (for "where does the time go"). */
    profile: { type: 'string' },
  },
});
const probes = Number(values.probes);
const batchSize = Number(values.batch);
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);
const gzip = values.gzip === true;
const memoryStore = values['memory-store'] === true;
const runs = Number(values.runs);
if (!(Number.isInteger(runs) && runs >= 1)) throw new Error('--runs must be a whole number >= 1');

const log = (line: string) => process.stderr.write(`${line}\n`);

log(`bench:ingest: signing ${values.measurements} measurements for ${probes} probes...`);
const corpus = await buildCorpus({
  probes,
  measurements: Number(values.measurements),
  batchSize,
  gzip,
  onProgress: (n) => {
    if (n % 20000 === 0) log(`  ${n}`);
  },
});
const meanSize = corpus.canonicalBytes / corpus.measurements;
log(`bench:ingest: measuring the Ed25519 ceiling and the collector's steps...`);
const ceiling = await measureVerifyCeiling(corpus.samples);
const stages = measureStageCosts(
  (await buildCorpus({ probes: 4, measurements: 2000, batchSize, gzip: false })).batches.flat(),
  batchSize,
);

type Run = Awaited<ReturnType<typeof measure>> & { loadBefore: number };
const results: Run[] = [];
for (let n = 1; n <= runs; n++) {
  // Other work on the machine competes for its cores: the numbers mean little on a busy machine.
  const loadBefore = loadavg()[0]!;
  const dataDir = await mkdtemp(path.join(tmpdir(), 'pharos-bench-ingest-'));
  const { child, url } = await startServer(dataDir);
  try {
    log(
      `bench:ingest: run ${n}/${runs}: ${probes} probes posting batches of ${batchSize} to ${url} for ${warmup} + ${seconds} s...`,
    );
    results.push({ ...(await measure(child.pid!, url)), loadBefore });
    log(`  ${Math.round(summary(results.at(-1)!).rate)} measurements/s`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    await rm(dataDir, { recursive: true, force: true });
  }
}
const byRate = [...results].sort((a, b) => summary(a).rate - summary(b).rate);
const result = byRate[Math.floor((byRate.length - 1) / 2)]!;

const body = report(result);
process.stdout.write(`${body}\n`);
if (!values['no-record']) {
  await recordBenchmark(path.resolve(here, '../../../../docs/benchmarks.md'), 'bench:ingest', body);
  log('bench:ingest: written to docs/benchmarks.md');
}

/** What the acknowledgements inside a run's measuring window add up to. */
function summary(r: Awaited<ReturnType<typeof measure>>) {
  const inWindow = r.acks.filter((a: Ack) => a.at >= r.windowStart && a.at <= r.windowEnd);
  const windowSeconds = (r.windowEnd - r.windowStart) / 1000;
  const accepted = inWindow.reduce((n, a) => n + a.accepted, 0);
  return { inWindow, windowSeconds, accepted, rate: accepted / windowSeconds };
}

async function measure(pid: number, base: URL) {
  const t0 = performance.now();
  const windowStart = t0 + warmup * 1000;
  const until = windowStart + seconds * 1000;
  let cpuStart = 0;
  let mainStart = 0;
  let clientCpuStart = process.cpuUsage();
  const startTimer = setTimeout(() => {
    cpuStart = cpuSeconds(pid);
    mainStart = mainThreadCpuSeconds(pid);
    clientCpuStart = process.cpuUsage();
  }, warmup * 1000);
  let cpuEnd: number | undefined;
  let mainEnd: number | undefined;
  let clientCpu: NodeJS.CpuUsage | undefined;
  const endTimer = setTimeout(
    () => {
      cpuEnd = cpuSeconds(pid);
      mainEnd = mainThreadCpuSeconds(pid);
      clientCpu = process.cpuUsage(clientCpuStart);
    },
    (warmup + seconds) * 1000,
  );
  const acks = await runLoad({
    url: new URL('/api/v1/measurements', base),
    batches: corpus.batches,
    gzip,
    until,
  });
  clearTimeout(startTimer);
  clearTimeout(endTimer);
  const lastAck = Math.max(...acks.map((a) => a.at));
  const windowEnd = Math.min(until, lastAck);
  cpuEnd ??= cpuSeconds(pid);
  mainEnd ??= mainThreadCpuSeconds(pid);
  clientCpu ??= process.cpuUsage(clientCpuStart);
  const mem = memory(pid);
  const size = memoryStore ? null : await treeSize(base);
  return {
    acks,
    windowStart,
    windowEnd,
    cpu: cpuEnd - cpuStart,
    mainCpu: mainEnd - mainStart,
    clientCpu,
    mem,
    treeSize: size,
  };
}

function report(r: Run): string {
  const { inWindow, windowSeconds, accepted, rate } = summary(r);
  const latencies = inWindow
    .filter((a) => a.status === 200)
    .map((a) => a.latencyMs)
    .sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  const refused = r.acks.filter((a) => a.status !== 200);
  const totalAccepted = r.acks.reduce((n, a) => n + a.accepted - a.duplicates, 0);
  const clientCores = (r.clientCpu.user + r.clientCpu.system) / 1e6 / windowSeconds;
  const mb = (n: number) => `${Math.round(n / 2 ** 20)} MiB`;
  const lines = [
    `store                  ${memoryStore ? 'in memory (collector alone, --memory-store)' : 'DuckDB evidence store + Merkle log (pharos serve)'}`,
    `probes, batch          ${probes} concurrent, ${batchSize} measurements per request${gzip ? ', gzip' : ''}`,
    `measurement size       mean ${(meanSize / 1024).toFixed(1)} KB canonical JSON`,
    `window                 ${windowSeconds.toFixed(1)} s after ${warmup} s warm-up`,
    `accepted               ${Math.round(rate)} measurements/s (target >= ${TARGET}: ${rate >= TARGET ? 'met' : 'NOT met'})${runs > 1 ? `, the median of ${runs} runs` : ''}`,
    ...(runs > 1
      ? [
          `runs                   ${results.map((x) => Math.round(summary(x).rate)).join(', ')} measurements/s; 1-minute load before each: ${results.map((x) => x.loadBefore.toFixed(1)).join(', ')}`,
        ]
      : []),
    `ack latency per batch  p50 ${pct(50).toFixed(0)} ms, p99 ${pct(99).toFixed(0)} ms`,
    `server CPU             ${(r.cpu / windowSeconds).toFixed(2)} cores (of ${availableParallelism()}), ${((r.cpu / accepted) * 1e6).toFixed(0)} us per measurement`,
    `  on its main thread    ${(r.mainCpu / windowSeconds).toFixed(2)} cores, ${((r.mainCpu / accepted) * 1e6).toFixed(0)} us per measurement (HTTP, envelopes, the store's appends; the rest is signature threads, libuv's and DuckDB's)`,
    `server memory          peak RSS ${mb(r.mem.peakRss)}, at end ${mb(r.mem.rss)}`,
    `load generator CPU     ${clientCores.toFixed(2)} cores (same machine)`,
    `refused or failed      ${refused.length} requests${refused.length ? ` (${[...new Set(refused.map((a) => a.status))].join(', ')})` : ''}`,
    ...(r.treeSize === null
      ? []
      : [`log tree size          ${r.treeSize} (accepted in all: ${totalAccepted})`]),
    `machine load           ${r.loadBefore.toFixed(2)} (1-minute load average before the run; ${availableParallelism()} cores)`,
    `Ed25519 ceiling        ${Math.round(ceiling.oneCore)} verifications/s on one core, ${Math.round(ceiling.allCores)}/s on the server's ${availableParallelism()} signature threads (libsodium; node:crypto: ${Math.round(ceiling.nodeCryptoOneCore)}/s on one core)`,
  ];
  const intro =
    'Signed Web Connectivity measurements (realistic test keys: DNS queries with raw answers, TCP connects,\n' +
    'TLS handshakes with certificates, HTTP requests with bodies; 5–20 KB) posted by concurrent probes over\n' +
    'keep-alive HTTP on loopback to a server in its own process; each acknowledged only once verified,\n' +
    'stored and appended to the log. Server CPU and memory from /proc; the ceiling is the Ed25519\n' +
    'verification of the same messages and nothing else, measured in the same run.';
  const serverUs = (r.cpu / accepted) * 1e6;
  const stepsUs = stages.filter((st) => !st.step.includes('instead')).reduce((n, st) => n + st.us, 0);
  const steps = [
    ...stages.map((st) => `${st.us.toFixed(0).padStart(5)} us  ${st.step}`),
    `${stepsUs.toFixed(0).padStart(5)} us  the collector's steps above on the fast path, together`,
    `${serverUs.toFixed(0).padStart(5)} us  the whole server per accepted measurement in the run above (HTTP, GC, store and log included)`,
    `  -> at most ${Math.round((availableParallelism() * 1e6) / serverUs)} measurements/s if all ${availableParallelism()} cores did nothing else`,
  ];
  const where =
    'Where the time goes: CPU per measurement of each collector step, measured one at a time on this\n' +
    "machine in the CPU time of the thread doing it (so other processes' load does not inflate it).\n" +
    'Probes send canonical JSON, so the collector takes the fast path: a scan that accepts only\n' +
    "canonical text finds each measurement's signed bytes in the body, and only the envelope is parsed.\n" +
    'The general path (any other body) is shown for comparison. The scan, signatures and ids are\n' +
    'computed on the signature threads, the rest on the main thread, which also runs HTTP and the\n' +
    "store's appends.";
  return `${intro}\n\n\`\`\`\n${lines.join('\n')}\n\`\`\`\n\n${where}\n\n\`\`\`\n${steps.join('\n')}\n\`\`\``;
}

async function treeSize(base: URL): Promise<number | null> {
  try {
    const res = await fetch(new URL('/log/checkpoint', base));
    return Number((await res.text()).split('\n')[1]);
  } catch {
    return null;
  }
}

async function startServer(dir: string): Promise<{ child: ChildProcess; url: URL }> {
  const script = memoryStore ? path.join(here, 'ingest-server.js') : path.join(here, '..', 'cli.js');
  const profile = values.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(values.profile)}`] : [];
  const args = [...profile, script, ...(memoryStore ? [] : ['serve', '--data', dir, '--port', '0'])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<URL>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the server did not start: ${out}`)), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(new URL(m[1]!));
      }
    });
    child.once('exit', (code) => reject(new Error(`the server exited (${code}) before listening: ${out}`)));
  });
  child.stdout!.resume();
  return { child, url };
}
