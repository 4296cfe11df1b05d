/**
 * The scenario runner: for each scenario, build its lab, run the production probe inside it with
 * its ordinary options, compare the verdicts with the expectations, and always tear the lab down.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Envelope } from '@pharos/core';
import { compareVerdict, type Verdict, verdictOf } from './compare.js';
import { runObservatoryScenario } from './observatory-run.js';
import { TAKES_INPUT } from './scenario.js';
import type { Expectation, ScenarioSpec } from './spec.js';
import { createLab } from './world/index.js';

export interface ExpectationResult {
  scenario: string;
  experiment: string;
  input: string | null;
  pass: boolean;
  /** The verdict fields stated; for `experiment: "incident"`, the incident's expected scope, type and timing. */
  expected: Verdict | Record<string, unknown>;
  got: Verdict | Record<string, unknown> | null;
  /**
   * Path of the full measurement JSON, or null when the probe produced none for this input. For
   * incident results: the run's record (timeline.json: when each step was applied).
   */
  measurement: string | null;
  /** Why there is no verdict, when there is none. */
  error?: string;
}

export interface ScenarioResult {
  scenario: string;
  file: string;
  seconds: number;
  results: ExpectationResult[];
}

/** The production probe's CLI, as installed from the workspace. */
export function probeCliPath(): string {
  return path.join(path.dirname(fileURLToPath(import.meta.resolve('@pharos/probe'))), 'cli.js');
}

function slug(input: string): string {
  return input
    .replace(/^https?:\/\//, (m) => m.replace('://', '_'))
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .slice(0, 100);
}

export interface RunOptions {
  /** Each scenario's lab, logs and measurements go under OUT/<scenario>/. */
  outDir: string;
  log?: (line: string) => void;
  /** Extra pharos-probe options (e.g. --timeout) for every scenario. */
  probeArgs?: string[];
  /** Cuts a timeline run short (Ctrl-C): what was seen so far is judged and the lab torn down. */
  signal?: AbortSignal;
}

export async function runScenario(spec: ScenarioSpec, options: RunOptions): Promise<ScenarioResult> {
  if (spec.observatory) return runObservatoryScenario(spec, options);
  const started = Date.now();
  const workDir = path.join(options.outDir, spec.name);
  await mkdir(workDir, { recursive: true });
  const noVerdict = (e: Expectation, error: string): ExpectationResult => ({
    scenario: spec.name,
    experiment: e.experiment,
    input: e.input,
    pass: false,
    expected: compareVerdict(e, {} as Required<Verdict>).expected,
    got: null,
    measurement: null,
    error,
  });
  const finish = (results: ExpectationResult[]): ScenarioResult => ({
    scenario: spec.name,
    file: spec.file,
    seconds: (Date.now() - started) / 1000,
    results,
  });

  let lab: Awaited<ReturnType<typeof createLab>> | undefined;
  try {
    lab = await createLab({
      sites: spec.sites,
      censor: spec.censor,
      workDir: path.join(workDir, 'lab'),
      ...(options.log ? { log: options.log } : {}),
    });
    const output = path.join(workDir, 'measurements.jsonl');
    const argv = [
      process.execPath,
      probeCliPath(),
      'run',
      ...experimentArgs(spec),
      ...spec.probe.inputs.flatMap((input) => ['--input', input]),
      '--output',
      output,
      '--probe-cc',
      spec.probe.cc,
      '--probe-asn',
      `AS${spec.probe.asn}`,
      '--concurrency',
      String(Math.max(1, Math.min(8, spec.probe.inputs.length))),
      '--quiet',
      ...spec.probe.fingerprints.flatMap((f) => ['--fingerprints', f]),
      ...lab.probeNetworkArgs,
      // The lab's stand-ins for app and platform endpoints: its own catalog and IP→ASN table.
      ...(experimentArgs(spec).length > 0 ? lab.appProbeArgs : []),
      ...(options.probeArgs ?? []),
    ];
    const run = await lab.runInClient(argv, { timeoutMs: 300_000 });
    await writeFile(path.join(workDir, 'probe.log'), `$ ${argv.join(' ')}\n${run.stdout}\n${run.stderr}`);
    const measurements = await readMeasurements(output);
    const byKey = new Map(measurements.map((m) => [measurementKey(m.test_name, m.input), m]));
    const results: ExpectationResult[] = [];
    for (const e of spec.expect) {
      const m = byKey.get(measurementKey(e.experiment, e.input));
      if (!m) {
        const tail = run.stderr.trim().split('\n').slice(-3).join(' | ');
        results.push(
          noVerdict(e, `the probe wrote no measurement for this input (exit ${run.code}): ${tail}`),
        );
        continue;
      }
      const file = path.join(workDir, `${e.input ? slug(e.input) : e.experiment}.json`);
      await writeFile(file, `${JSON.stringify(m, null, 2)}\n`);
      const { pass, expected, got } = compareVerdict(e, verdictOf(m));
      results.push({
        scenario: spec.name,
        experiment: e.experiment,
        input: e.input,
        pass,
        expected,
        got,
        measurement: file,
      });
    }
    return finish(results);
  } catch (err) {
    return finish(spec.expect.map((e) => noVerdict(e, `the lab failed: ${(err as Error).message}`)));
  } finally {
    await lab?.teardown();
  }
}

/** Experiments with their own endpoints are matched by name alone (platforms put their name in input). */
function measurementKey(experiment: string, input: string | null): string {
  return TAKES_INPUT.has(experiment) ? `${experiment} ${input ?? ''}` : experiment;
}

/** Web Connectivity is the probe's default; anything else is asked for by name. */
function experimentArgs(spec: ScenarioSpec): string[] {
  const { experiments } = spec.probe;
  if (experiments.length === 1 && experiments[0] === 'web_connectivity') return [];
  return experiments.flatMap((x) => ['--experiment', x]);
}

type AnyMeasurement = Envelope<Record<string, unknown>>;

async function readMeasurements(file: string): Promise<AnyMeasurement[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as AnyMeasurement);
}

/**
 * Run scenarios, `jobs` labs at a time (each lab has its own namespaces and addresses), then the
 * timeline scenarios alone, calling `onResult` as each finishes. Stops starting new ones once
 * `signal` is aborted.
 */
export async function runScenarios(
  specs: ScenarioSpec[],
  options: RunOptions & { jobs: number; signal?: AbortSignal; onResult?: (r: ScenarioResult) => void },
): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  // Timeline scenarios judge how soon the observatory notices a change: they run after the others,
  // one at a time, so no other lab competes with them for the CPU.
  const ordinary = specs.filter((s) => !s.observatory);
  const timelines = specs.filter((s) => s.observatory);
  let next = 0;
  const worker = async () => {
    while (next < ordinary.length && !options.signal?.aborted) {
      const spec = ordinary[next++]!;
      const result = await runScenario(spec, options);
      results.push(result);
      options.onResult?.(result);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.jobs, ordinary.length)) }, worker));
  for (const spec of timelines) {
    if (options.signal?.aborted) break;
    const result = await runScenario(spec, options);
    results.push(result);
    options.onResult?.(result);
  }
  return results;
}
