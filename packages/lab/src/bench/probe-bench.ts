/**
 * `npm run bench:probe`: the Azerbaijan test list (Citizen Lab, 110 URLs) measured by the
 * production probe inside the lab. Every host of the list becomes a lab site; about a fifth are
 * censored, each with one of the techniques seen in Azerbaijan or elsewhere. Prints URLs per
 * minute, median and p95 time per URL, bytes per URL and how many verdicts were right, and records
 * them in docs/benchmarks.md.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WebConnectivityMeasurement } from '@pharos/core';
import { recordBenchmark } from '@pharos/server/bench/record';
import { parse } from 'csv-parse/sync';
import { probeCliPath } from '../runner.js';
import type { CensorRule, SiteSpec } from '../spec.js';
import { cleanupStaleLabs, createLab, defaultSite, preflight } from '../world/index.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

interface Technique {
  name: string;
  /** Only for URLs of this scheme (Host rules cannot touch HTTPS, SNI rules cannot touch HTTP). */
  scheme?: 'http' | 'https';
  rules: (host: string) => CensorRule[];
  expect: { blocking: string; mechanism: string };
}

const rule = (match: CensorRule['match'], action: CensorRule['action']): CensorRule => ({
  match,
  action,
  via: 'resolver',
});

/** Techniques the censored fifth is spread over, in turn. */
const TECHNIQUES: Technique[] = [
  {
    name: 'SNI drop after the ClientHello',
    scheme: 'https',
    rules: (h) => [rule({ kind: 'sni', name: h }, { kind: 'drop' })],
    expect: { blocking: 'http-failure', mechanism: 'tls.timeout' },
  },
  {
    name: 'Host header reset',
    scheme: 'http',
    rules: (h) => [rule({ kind: 'host', name: h }, { kind: 'reset' })],
    expect: { blocking: 'http-failure', mechanism: 'http.reset.host' },
  },
  {
    name: 'DNS NXDOMAIN at the ISP resolver',
    rules: (h) => [rule({ kind: 'dns_name', name: h }, { kind: 'nxdomain' })],
    expect: { blocking: 'dns', mechanism: 'dns.nxdomain' },
  },
  {
    name: 'SNI reset',
    scheme: 'https',
    rules: (h) => [rule({ kind: 'sni', name: h }, { kind: 'reset' })],
    expect: { blocking: 'http-failure', mechanism: 'tls.reset.sni' },
  },
  {
    name: 'IP blackhole',
    rules: (h) => [rule({ kind: 'dst', target: h }, { kind: 'drop' })],
    expect: { blocking: 'tcp_ip', mechanism: 'tcp.timeout' },
  },
  {
    name: 'DNS answer forged to a bogon',
    rules: (h) => [rule({ kind: 'dns_name', name: h }, { kind: 'spoof', address: 'bogon' })],
    expect: { blocking: 'dns', mechanism: 'dns.injection.bogon' },
  },
  {
    name: 'blockpage injected for the Host',
    scheme: 'http',
    rules: (h) => [
      rule({ kind: 'host', name: h }, { kind: 'blockpage', html: '<html><body>Blocked</body></html>' }),
    ],
    expect: { blocking: 'http-diff', mechanism: 'http.blockpage' },
  },
];

interface Planned {
  url: string;
  host: string;
  technique: Technique | null;
}

/** Censor every fifth host, cycling through the techniques that fit its URLs' scheme. */
function plan(urls: string[]): { planned: Planned[]; sites: SiteSpec[]; censor: CensorRule[] } {
  const hosts = [...new Set(urls.map((u) => new URL(u).hostname))];
  const schemesOf = (host: string) =>
    new Set(urls.filter((u) => new URL(u).hostname === host).map((u) => new URL(u).protocol.slice(0, -1)));
  const chosen = new Map<string, Technique>();
  let turn = 0;
  hosts.forEach((host, i) => {
    if (i % 5 !== 2) return;
    const schemes = schemesOf(host);
    for (let k = 0; k < TECHNIQUES.length; k++) {
      const t = TECHNIQUES[(turn + k) % TECHNIQUES.length]!;
      if (!t.scheme || (schemes.size === 1 && schemes.has(t.scheme))) {
        chosen.set(host, t);
        turn = (turn + k + 1) % TECHNIQUES.length;
        return;
      }
    }
  });
  const sites = hosts.map(defaultSite);
  const censor = [...chosen].flatMap(([host, t]) => t.rules(host));
  const planned = urls.map((url) => {
    const host = new URL(url).hostname;
    return { url, host, technique: chosen.get(host) ?? null };
  });
  return { planned, sites, censor };
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (i - lo);
}

async function main(): Promise<number> {
  const listFile = path.resolve(repoRoot, '..', 'shared', 'data', 'test-lists', 'az.csv');
  if (!existsSync(listFile)) {
    console.error(
      `bench:probe needs the Azerbaijan test list at ${listFile} (../shared/data beside the checkout)`,
    );
    return 2;
  }
  await preflight();
  await cleanupStaleLabs();
  const rows = parse(await readFile(listFile), { columns: true, skip_empty_lines: true }) as {
    url: string;
  }[];
  const urls = rows.map((r) => r.url);
  const { planned, sites, censor } = plan(urls);
  const censoredURLs = planned.filter((p) => p.technique).length;
  const concurrency = Number(process.env.PHAROS_BENCH_CONCURRENCY ?? 16);
  console.log(
    `bench:probe: ${urls.length} URLs on ${sites.length} lab sites, ${censoredURLs} URLs censored (${censor.length} rules), concurrency ${concurrency}`,
  );

  const outDir = path.resolve(repoRoot, 'bench-results', `probe-${Date.now()}`);
  await mkdir(outDir, { recursive: true });
  const listCopy = path.join(outDir, 'az-lab.csv');
  await writeFile(listCopy, `url,category_code\n${urls.map((u) => `${u},XX`).join('\n')}\n`);
  const output = path.join(outDir, 'measurements.jsonl');

  const lab = await createLab({ sites, censor, workDir: path.join(outDir, 'lab') });
  let wall: number;
  try {
    const started = process.hrtime.bigint();
    const run = await lab.runInClient(
      [
        process.execPath,
        probeCliPath(),
        'run',
        '--list',
        listCopy,
        '--output',
        output,
        '--concurrency',
        String(concurrency),
        '--probe-cc',
        'AZ',
        '--probe-asn',
        'AS29049',
        '--quiet',
        ...lab.probeNetworkArgs,
      ],
      { timeoutMs: 600_000 },
    );
    wall = Number(process.hrtime.bigint() - started) / 1e9;
    if (run.code !== 0) console.error(`the probe exited with ${run.code}: ${run.stderr.slice(-2000)}`);
  } finally {
    await lab.teardown();
  }

  const measurements = (await readFile(output, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as WebConnectivityMeasurement);
  const byInput = new Map(measurements.map((m) => [m.input, m]));
  let right = 0;
  const wrong: string[] = [];
  for (const p of planned) {
    const m = byInput.get(p.url);
    const want = p.technique ? p.technique.expect : { blocking: false, mechanism: null };
    const got = m ? { blocking: m.test_keys.blocking, mechanism: m.test_keys.x_mechanism } : null;
    if (got && got.blocking === want.blocking && got.mechanism === want.mechanism) right++;
    else
      wrong.push(
        `${p.url} (${p.technique?.name ?? 'not censored'}): expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`,
      );
  }
  const times = measurements.map((m) => m.test_runtime).sort((a, b) => a - b);
  const sent = measurements.reduce((s, m) => s + m.test_keys.x_bytes_sent, 0) / measurements.length;
  const received = measurements.reduce((s, m) => s + m.test_keys.x_bytes_received, 0) / measurements.length;
  const numbers = {
    urls: urls.length,
    censored: censoredURLs,
    concurrency,
    wall_seconds: wall,
    urls_per_minute: (measurements.length / wall) * 60,
    median_seconds_per_url: quantile(times, 0.5),
    p95_seconds_per_url: quantile(times, 0.95),
    bytes_sent_per_url: sent,
    bytes_received_per_url: received,
    verdicts_right: right,
  };
  const lines = [
    `URLs measured          ${measurements.length}/${urls.length} (${censoredURLs} censored), concurrency ${concurrency}`,
    `whole list             ${wall.toFixed(1)} s (target < 60 s)`,
    `URLs per minute        ${numbers.urls_per_minute.toFixed(1)}`,
    `time per URL           median ${numbers.median_seconds_per_url.toFixed(2)} s, p95 ${numbers.p95_seconds_per_url.toFixed(2)} s`,
    `bytes per URL          sent ${Math.round(sent)}, received ${Math.round(received)}`,
    `verdicts right         ${right}/${urls.length}`,
  ];
  console.log(lines.join('\n'));
  for (const w of wrong) console.log(`  wrong: ${w}`);

  await recordBenchmark(
    path.join(repoRoot, 'docs', 'benchmarks.md'),
    'bench:probe',
    [
      'The Azerbaijan test list (Citizen Lab `az.csv`, 110 URLs) measured by the production probe inside',
      'the lab: every host is a lab site, every fifth host is censored with one of seven techniques (SNI',
      'drop, SNI reset, Host reset, NXDOMAIN, bogon answer, IP blackhole, blockpage). Default per-step',
      `timeouts (10 s), ${concurrency} URLs at a time. Target: the whole list in under 60 s, every verdict right.`,
      '',
      '```',
      ...lines,
      '```',
    ].join('\n'),
  );
  console.log('recorded in docs/benchmarks.md');
  return wrong.length === 0 ? 0 : 1;
}

process.exitCode = await main();
