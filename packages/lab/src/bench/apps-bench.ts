/**
 * `npm run bench:apps`: the throttling experiment's detection accuracy, time and bytes over
 * repeated runs of every throttle scenario (scenarios/throttle-*.yaml: two throttled cases, three
 * negative controls), each run with the experiment's defaults (3 pairs, 512 KiB or 10 s per
 * transfer); then the time and bytes of every app and platform experiment, when the probe has them,
 * in a lab without censorship. Prints the numbers and records them in docs/benchmarks.md.
 *
 * PHAROS_BENCH_RUNS (default 20) runs per scenario; PHAROS_BENCH_JOBS (default 4) labs at once
 * (a lab is reused for the runs of one scenario); PHAROS_BENCH_APP_RUNS (default 3) runs per app
 * experiment.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { recordBenchmark } from '@pharos/server/bench/record';
import { loadScenario } from '../scenario.js';
import type { CensorRule, SiteSpec } from '../spec.js';
import { cleanupStaleLabs, createLab, type LabHandle, preflight } from '../world/index.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const scenarioDir = path.join(repoRoot, 'packages', 'lab', 'scenarios');
const probeDist = path.join(repoRoot, 'packages', 'probe', 'dist', 'experiments');
const throttlingModule = path.join(probeDist, 'throttling', 'index.js');
const appsModule = path.join(probeDist, 'apps', 'index.js');

export interface ThrottleScenario {
  name: string;
  file: string;
  sites: SiteSpec[];
  censor: CensorRule[];
  /** The throttling expectations: input, verdict and (optionally) mechanism. */
  expect: { input: string; verdict: string | null; mechanism?: string | null }[];
}

/** A throttle-*.yaml file, through the scenario parser, with its throttling expectations. */
export async function readThrottleScenario(file: string): Promise<ThrottleScenario> {
  const spec = await loadScenario(file);
  return {
    name: spec.name,
    file,
    sites: spec.sites,
    censor: spec.censor,
    expect: spec.expect
      .filter((e) => e.experiment === 'throttling' && e.input !== null)
      .map((e) => ({
        input: e.input!,
        verdict: e.verdict ?? null,
        ...(e.mechanism !== undefined ? { mechanism: e.mechanism } : {}),
      })),
  };
}

/** Every throttle scenario of the suite, by name. */
export async function throttleScenarios(dir = scenarioDir): Promise<ThrottleScenario[]> {
  const files = (await readdir(dir))
    .filter((f) => /^throttle-.*\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
  return Promise.all(files.map(readThrottleScenario));
}

/** Runs the compiled experiment with options from argv and prints the measurement as one JSON line. */
export const THROTTLING_CLIENT = `
import { readFileSync } from 'node:fs';
const [moduleFile, json] = process.argv.slice(2);
const options = JSON.parse(json);
const { runThrottling } = await import(moduleFile);
const m = await runThrottling({ ...options, extraCA: [readFileSync(options.ca, 'utf8')] });
process.stdout.write(JSON.stringify(m) + '\\n');
`;

/** Runs each app experiment RUNS times (plain, and the platforms with the throttling check too). */
const APPS_CLIENT = `
import { readFileSync } from 'node:fs';
const [appsModule, throttlingModule, json] = process.argv.slice(2);
const o = JSON.parse(json);
const { APP_EXPERIMENTS } = await import(appsModule);
const { throttlingCheck } = await import(throttlingModule);
const options = { catalog: o.catalog, asnTable: o.asnTable, extraCA: [readFileSync(o.ca, 'utf8')],
  publicResolver: o.publicResolver, dohURL: o.doh, testHelpers: [o.th] };
const platforms = new Set(['tiktok', 'youtube', 'instagram', 'facebook', 'x']);
const out = [];
for (const name of Object.keys(APP_EXPERIMENTS)) {
  const variants = platforms.has(name) ? [false, true] : [false];
  for (const withCheck of variants)
    for (let i = 0; i < o.runs; i++) {
      const started = performance.now();
      const m = await APP_EXPERIMENTS[name].run(withCheck ? { ...options, throttling: throttlingCheck() } : options);
      out.push({ name: withCheck ? name + ' + throttling check' : name, seconds: (performance.now() - started) / 1000,
        sent: m.test_keys.x_bytes_sent, received: m.test_keys.x_bytes_received, verdict: m.test_keys.x_verdict });
    }
}
process.stdout.write(JSON.stringify(out) + '\\n');
`;

interface Run {
  scenario: string;
  input: string;
  expected: string | null;
  verdict: string | null;
  mechanism: string | null;
  decision: string;
  seconds: number;
  sent: number;
  received: number;
  error?: string;
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (i - lo);
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

function option(name: string, args: string[]): string {
  const i = args.indexOf(name);
  if (i < 0 || i + 1 >= args.length) throw new Error(`the lab gives no ${name}`);
  return args[i + 1]!;
}

async function benchThrottling(
  scenarios: ThrottleScenario[],
  runs: number,
  jobs: number,
  outDir: string,
  client: string,
): Promise<Run[]> {
  // Work items scenario by scenario; each worker keeps one lab until it moves to another scenario.
  const items = scenarios.flatMap((s) =>
    s.expect.flatMap((e) => Array.from({ length: runs }, (_, i) => ({ scenario: s, e, i }))),
  );
  const results: Run[] = [];
  let next = 0;
  const worker = async (w: number) => {
    let lab: LabHandle | null = null;
    let current: string | null = null;
    try {
      while (next < items.length) {
        const item = items[next++]!;
        if (current !== item.scenario.name) {
          await lab?.teardown();
          lab = null;
          current = item.scenario.name;
          lab = await createLab({
            sites: item.scenario.sites,
            censor: item.scenario.censor,
            workDir: path.join(outDir, `${item.scenario.name}-w${w}`),
            standIns: false,
          });
        }
        const run = await lab!.runInClient(
          [
            process.execPath,
            client,
            throttlingModule,
            JSON.stringify({ input: item.e.input, ca: lab!.caCertFile, probeCC: 'AZ', probeASN: 'AS29049' }),
          ],
          { timeoutMs: 300_000 },
        );
        const base = { scenario: item.scenario.name, input: item.e.input, expected: item.e.verdict };
        try {
          const m = JSON.parse(run.stdout) as {
            test_runtime: number;
            test_keys: {
              x_verdict: string | null;
              x_mechanism: string | null;
              x_bytes_sent: number;
              x_bytes_received: number;
              x_throttling: { decision: string };
            };
          };
          results.push({
            ...base,
            verdict: m.test_keys.x_verdict,
            mechanism: m.test_keys.x_mechanism,
            decision: m.test_keys.x_throttling.decision,
            seconds: m.test_runtime,
            sent: m.test_keys.x_bytes_sent,
            received: m.test_keys.x_bytes_received,
          });
        } catch {
          results.push({
            ...base,
            verdict: null,
            mechanism: null,
            decision: 'error',
            seconds: Number.NaN,
            sent: 0,
            received: 0,
            error: `exit ${run.code}: ${run.stderr.slice(-500)}`,
          });
        }
        const r = results.at(-1)!;
        console.log(
          `  ${r.scenario} #${item.i + 1}: ${r.verdict} (${r.decision}) ${r.seconds.toFixed(1)} s ${kib(r.received)}`,
        );
      }
    } finally {
      await lab?.teardown();
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, (_, w) => worker(w)));
  return results;
}

interface AppRun {
  name: string;
  seconds: number;
  sent: number;
  received: number;
  verdict: string | null;
}

async function benchApps(runs: number, outDir: string, client: string): Promise<AppRun[]> {
  const lab = await createLab({ sites: [], censor: [], workDir: path.join(outDir, 'apps') });
  try {
    const net = lab.probeNetworkArgs;
    const options = {
      runs,
      catalog: lab.catalogFile,
      asnTable: lab.asnTableFile,
      ca: lab.caCertFile,
      th: option('--th', net),
      publicResolver: option('--resolver', net),
      doh: option('--doh', net),
    };
    const run = await lab.runInClient(
      [process.execPath, client, appsModule, throttlingModule, JSON.stringify(options)],
      { timeoutMs: 1_800_000 },
    );
    if (run.code !== 0)
      throw new Error(`the app experiments failed (exit ${run.code}): ${run.stderr.slice(-2000)}`);
    return JSON.parse(run.stdout) as AppRun[];
  } finally {
    await lab.teardown();
  }
}

async function main(): Promise<number> {
  if (!existsSync(throttlingModule)) {
    console.error(`${throttlingModule} is missing: run npm run build first`);
    return 2;
  }
  await preflight();
  await cleanupStaleLabs();
  const runs = Number(process.env.PHAROS_BENCH_RUNS ?? 20);
  const jobs = Number(process.env.PHAROS_BENCH_JOBS ?? 4);
  const appRuns = Number(process.env.PHAROS_BENCH_APP_RUNS ?? 3);
  const scenarios = await throttleScenarios();
  const outDir = path.resolve(repoRoot, 'bench-results', `apps-${Date.now()}`);
  await mkdir(outDir, { recursive: true });
  const throttlingClient = path.join(outDir, 'throttling-client.mjs');
  const appsClient = path.join(outDir, 'apps-client.mjs');
  await writeFile(throttlingClient, THROTTLING_CLIENT);
  await writeFile(appsClient, APPS_CLIENT);

  console.log(
    `bench:apps: ${scenarios.length} throttle scenarios × ${runs} runs, ${jobs} labs at once, experiment defaults`,
  );
  const started = performance.now();
  const results = await benchThrottling(scenarios, runs, jobs, outDir, throttlingClient);
  const wall = (performance.now() - started) / 1000;
  await writeFile(path.join(outDir, 'throttling-runs.json'), `${JSON.stringify(results, null, 1)}\n`);

  const lines: string[] = [];
  const header = `${'scenario'.padEnd(26)} ${'expected'.padEnd(9)} ${'right'.padStart(6)} ${'verdicts'.padEnd(34)} ${'time median / p95'.padEnd(18)} bytes per run (sent / received, median)`;
  lines.push(header);
  let throttledCases = 0;
  let detected = 0;
  let controlRuns = 0;
  let falseThrottled = 0;
  for (const s of scenarios) {
    for (const e of s.expect) {
      const mine = results.filter((r) => r.scenario === s.name && r.input === e.input);
      const right = mine.filter(
        (r) => r.verdict === e.verdict && (e.mechanism === undefined || r.mechanism === e.mechanism),
      ).length;
      const counts = new Map<string, number>();
      for (const r of mine) counts.set(String(r.verdict), (counts.get(String(r.verdict)) ?? 0) + 1);
      const times = mine.map((r) => r.seconds).filter(Number.isFinite);
      if (e.verdict === 'throttled') {
        throttledCases += mine.length;
        detected += mine.filter((r) => r.verdict === 'throttled').length;
      } else {
        controlRuns += mine.length;
        falseThrottled += mine.filter((r) => r.verdict === 'throttled').length;
      }
      lines.push(
        `${s.name.padEnd(26)} ${String(e.verdict).padEnd(9)} ${`${right}/${mine.length}`.padStart(6)} ${[
          ...counts,
        ]
          .map(([v, n]) => `${v} ${n}`)
          .join(', ')
          .padEnd(
            34,
          )} ${`${quantile(times, 0.5).toFixed(1)} / ${quantile(times, 0.95).toFixed(1)} s`.padEnd(18)} ${kib(
          quantile(
            mine.map((r) => r.sent),
            0.5,
          ),
        )} / ${kib(
          quantile(
            mine.map((r) => r.received),
            0.5,
          ),
        )}`,
      );
    }
  }
  lines.push('');
  lines.push(`throttled cases detected       ${detected}/${throttledCases} (target: all)`);
  lines.push(`false throttled on controls    ${falseThrottled}/${controlRuns} (target: 0)`);
  lines.push(`wall time                      ${wall.toFixed(0)} s`);
  for (const r of results.filter((x) => x.error)) lines.push(`error: ${r.scenario}: ${r.error}`);

  const appLines: string[] = [];
  let appsNote: string;
  if (existsSync(appsModule)) {
    const apps = await benchApps(appRuns, outDir, appsClient);
    const names = [...new Set(apps.map((a) => a.name))];
    appLines.push(
      `${'experiment'.padEnd(36)} ${'verdicts'.padEnd(14)} ${'time median / max'.padEnd(18)} bytes (sent / received, median)`,
    );
    for (const name of names) {
      const mine = apps.filter((a) => a.name === name);
      const verdicts = [...new Set(mine.map((a) => String(a.verdict)))].join(', ');
      appLines.push(
        `${name.padEnd(36)} ${verdicts.padEnd(14)} ${`${quantile(
          mine.map((a) => a.seconds),
          0.5,
        ).toFixed(2)} / ${Math.max(...mine.map((a) => a.seconds)).toFixed(2)} s`.padEnd(18)} ${kib(
          quantile(
            mine.map((a) => a.sent),
            0.5,
          ),
        )} / ${kib(
          quantile(
            mine.map((a) => a.received),
            0.5,
          ),
        )}`,
      );
    }
    appsNote = `The app and platform experiments, ${appRuns} runs each in a lab without censorship (the default internet's stand-ins, default options); the platforms also with the throttling check on their catalog's throttle endpoint.`;
  } else {
    appsNote = `The app and platform experiments were not built (${path.relative(repoRoot, appsModule)} is missing): throttling only.`;
  }

  console.log(['', ...lines, '', appsNote, ...appLines].join('\n'));
  await recordBenchmark(
    path.join(repoRoot, 'docs', 'benchmarks.md'),
    'bench:apps',
    [
      `The \`throttling\` experiment at its defaults (3 pairs of transfers of at most 512 KiB or 10 s, target`,
      `name and neutral name on the same address, early stop after a plainly unthrottled pair), ${runs} runs of`,
      'each throttle scenario of the suite (`packages/lab/scenarios/throttle-*.yaml`): X shaped to 130 kbit/s',
      'by SNI, Instagram held to a tenth of a 20 mbit/s line by SNI, and three negative controls — the whole',
      `line congested to 2 mbit/s, 2 % random loss, a site slow for everyone (1 mbit/s). ${jobs} labs at once,`,
      'each reused for the runs of one scenario. Target: every throttled case detected, no false `throttled`.',
      '',
      '```',
      ...lines,
      '```',
      '',
      appsNote,
      ...(appLines.length > 0 ? ['', '```', ...appLines, '```'] : []),
    ].join('\n'),
  );
  console.log('recorded in docs/benchmarks.md');
  const errors = results.filter((r) => r.error).length;
  return detected === throttledCases && falseThrottled === 0 && errors === 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main();
}
