/**
 * `pharos lab …`: run scenario files in the network lab. Reached through the `pharos` CLI, which
 * imports this module only when asked for the lab.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { ExpectationResult, ScenarioResult } from './runner.js';
import { runScenarios } from './runner.js';
import type { ScenarioSpec } from './spec.js';
import { loadScenarios, suiteFiles } from './suite.js';
import { cleanupStaleLabs, preflight } from './world/index.js';

export const LAB_USAGE = `Usage:
  pharos lab run FILE... [--json] [--jobs N] [--out DIR]
  pharos lab run --suite [--json] [--jobs N] [--out DIR]

Builds a small internet in Linux network namespaces (root only), applies each scenario's censor
rules in the kernel, runs the production probe inside it, and compares its verdicts. Timeline
scenarios (probes:) also run the observatory server inside the lab, change the censor's rules at
their times, and judge the incidents the server opens (lines with "experiment":"incident").

  --suite      run the project's own scenario suite (packages/lab/scenarios)
  --json       print one JSON object per (scenario, input) instead of the table
  --jobs N     labs to run at the same time (default 3)
  --out DIR    where measurements and logs go (default lab-results/<time>)
  --only NAME  with --suite: run only the scenarios whose name contains NAME (repeatable)

Exit status 0 only when every expectation holds.`;

function stamp(): string {
  return new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

function show(v: unknown): string {
  return v === undefined ? '-' : JSON.stringify(v);
}

function describeIncident(r: ExpectationResult): string {
  const head = `${r.pass ? 'PASS' : 'FAIL'}  ${r.scenario}  incident ${r.input ?? ''}`;
  const got = (r.got ?? {}) as Record<string, unknown>;
  const timing = [
    got.opened_after_cut_s !== undefined ? `opened ${show(got.opened_after_cut_s)}s after the cut` : '',
    got.closed_after_restore_s !== undefined
      ? `ended ${show(got.closed_after_restore_s)}s after the restoration`
      : '',
  ]
    .filter(Boolean)
    .join(', ');
  if (r.pass) return `${head}${timing ? `  ${timing}` : ''}`;
  return `${head}\n      ${r.error ?? 'did not hold'}${r.measurement ? `\n      record: ${r.measurement}` : ''}`;
}

function describeResult(r: ExpectationResult): string {
  if (r.experiment === 'incident') return describeIncident(r);
  const what =
    r.experiment === 'web_connectivity' ? r.input : r.input ? `${r.experiment} ${r.input}` : r.experiment;
  const head = `${r.pass ? 'PASS' : 'FAIL'}  ${r.scenario}  ${what}`;
  if (r.pass)
    return `${head}  ${Object.values(r.got ?? {})
      .map(show)
      .join(' ')}`;
  if (!r.got) return `${head}\n      ${r.error}`;
  const diffs = Object.keys(r.expected)
    .filter((k) => (r.expected as Record<string, unknown>)[k] !== (r.got as Record<string, unknown>)[k])
    .map(
      (k) =>
        `${k}: expected ${show((r.expected as Record<string, unknown>)[k])}, got ${show((r.got as Record<string, unknown>)[k])}`,
    );
  return `${head}\n      ${diffs.join('; ')}\n      measurement: ${r.measurement}`;
}

export async function main(argv: string[], out = process.stdout, err = process.stderr): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help') {
    out.write(`${LAB_USAGE}\n`);
    return command ? 0 : 2;
  }
  if (command !== 'run') {
    err.write(`pharos lab: unknown command "${command}"\n\n${LAB_USAGE}\n`);
    return 2;
  }
  let args: ReturnType<typeof parseLabArgs>;
  try {
    args = parseLabArgs(rest);
  } catch (e) {
    err.write(`pharos lab: ${(e as Error).message}\n\n${LAB_USAGE}\n`);
    return 2;
  }

  let specs: ScenarioSpec[];
  try {
    const files = args.suite ? await suiteFiles() : args.files;
    specs = await loadScenarios(files);
    if (args.only.length > 0) specs = specs.filter((s) => args.only.some((o) => s.name.includes(o)));
    if (specs.length === 0) throw new Error('no scenario matches');
  } catch (e) {
    err.write(`pharos lab: ${(e as Error).message}\n`);
    return 2;
  }

  try {
    await preflight();
  } catch (e) {
    err.write(`pharos lab: ${(e as Error).message}\n`);
    return 2;
  }
  const stale = await cleanupStaleLabs();
  if (stale > 0) err.write(`pharos lab: removed ${stale} lab(s) left behind by an interrupted run\n`);

  const outDir = path.resolve(args.out ?? path.join('lab-results', stamp()));
  const controller = new AbortController();
  const onSignal = () => {
    err.write('\npharos lab: interrupted; finishing the running scenarios and tearing their labs down\n');
    controller.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const total = specs.length;
  let done = 0;
  const started = Date.now();
  const all: ScenarioResult[] = [];
  try {
    await runScenarios(specs, {
      outDir,
      jobs: args.jobs,
      signal: controller.signal,
      onResult: (r) => {
        done++;
        all.push(r);
        for (const x of r.results) {
          if (args.json) {
            const line: Record<string, unknown> = {
              scenario: x.scenario,
              experiment: x.experiment,
              input: x.input,
              pass: x.pass,
              expected: x.expected,
              got: x.got,
              measurement: x.measurement,
            };
            if (x.error) line.error = x.error;
            out.write(`${JSON.stringify(line)}\n`);
          } else out.write(`${describeResult(x)}\n`);
        }
        err.write(`[${done}/${total}] ${r.scenario} (${r.seconds.toFixed(1)} s)\n`);
      },
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const results = all.flatMap((r) => r.results);
  const passed = results.filter((r) => r.pass).length;
  const failed = results.length - passed;
  const skipped = specs.filter((s) => !all.some((r) => r.scenario === s.name)).length;
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  err.write(`pharos lab: ${all.length} scenario(s) in ${seconds} s; measurements in ${outDir}\n`);
  if (!args.json) out.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  return failed === 0 && skipped === 0 && !controller.signal.aborted ? 0 : 1;
}

function parseLabArgs(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      suite: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      jobs: { type: 'string' },
      out: { type: 'string' },
      only: { type: 'string', multiple: true },
    },
  });
  if (values.suite && positionals.length > 0) throw new Error('give scenario files or --suite, not both');
  if (!values.suite && positionals.length === 0)
    throw new Error('give at least one scenario file, or --suite');
  const jobs = values.jobs === undefined ? 3 : Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 16)
    throw new Error(`--jobs must be 1..16, not "${values.jobs}"`);
  return {
    suite: values.suite,
    json: values.json,
    jobs,
    out: values.out,
    only: values.only ?? [],
    files: positionals.map((f) => path.resolve(f)),
  };
}
