/**
 * `pharos-probe run`: check the arguments, read the inputs, measure the URLs through a pool,
 * append each measurement to the JSONL file as it finishes, show progress and print a summary.
 */
import { setMaxListeners } from 'node:events';
import path from 'node:path';
import type { WebConnectivityMeasurement } from '@pharos/core';
import { createDataBudget } from '../experiments/apps/index.js';
import {
  type AnyMeasurement,
  type ExperimentOptions,
  takesInput,
  WEB_CONNECTIVITY,
} from '../experiments/registry.js';
import { loadInputs } from '../input/inputs.js';
import { type InputURL, TestListError } from '../input/test-list.js';
import { CATEGORY_ANNOTATION, REGION_ANNOTATION } from '../measurement/envelope.js';
import type { WebConnectivityOptions } from '../webconnectivity/index.js';
import { startBackgroundBeacons } from './beacon-background.js';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import type { CliIO } from './io.js';
import { JsonlWriter } from './jsonl-writer.js';
import { outcomeOf } from './outcome.js';
import { runPool } from './pool.js';
import { createProgress } from './progress.js';
import { runReportIds } from './report-id.js';
import { parseRunArgs, type RunArgs } from './run-args.js';
import { readCAFiles, readFingerprintFiles } from './run-files.js';
import { RunUpload } from './run-upload.js';
import {
  controlFailureWarning,
  experimentControlWarnings,
  type FinishedURL,
  formatSummary,
} from './summary.js';
import { compactUTC } from './units.js';
import { StateError, type UploadTuning } from './upload-session.js';
import { CONTROL_TIMEOUT_FACTOR, MAX_CONCURRENCY, MAX_DNS_TIMEOUT_SECONDS, RUN_USAGE } from './usage.js';
import { UsageError } from './usage-error.js';

export type Measure = (input: string, options: WebConnectivityOptions) => Promise<WebConnectivityMeasurement>;
export type RunExperiment = (
  name: string,
  input: string | null,
  options: ExperimentOptions,
) => Promise<AnyMeasurement>;

export interface RunDeps {
  /** Web Connectivity. */
  measure: Measure;
  /** Every other experiment; default: the experiment registry, loaded when first needed. */
  runExperiment?: RunExperiment;
  /** Upload timings; tests shorten them. */
  upload?: UploadTuning;
}

export { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE };

export async function runCommand(argv: string[], io: CliIO, deps: RunDeps): Promise<number> {
  let args: RunArgs;
  try {
    args = parseRunArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) return usageFailure(io, err.message);
    throw err;
  }
  if (args.help) {
    io.stdout.write(RUN_USAGE);
    return EXIT_OK;
  }
  if (args.requestedConcurrency > args.concurrency) {
    warn(
      io,
      `--concurrency ${args.requestedConcurrency} is above the limit; measuring ${MAX_CONCURRENCY} at a time`,
    );
  }

  const start = io.now();
  let setup: Awaited<ReturnType<typeof readRunFiles>>;
  try {
    setup = await readRunFiles(args, io.cwd);
  } catch (err) {
    if (err instanceof UsageError || err instanceof TestListError) return usageFailure(io, err.message);
    throw err;
  }
  for (const warning of setup.warnings) warn(io, warning);
  if (args.experiments.some(takesInput) && setup.urls.length === 0) {
    return usageFailure(
      io,
      'no valid URL to measure: every row of the test list(s) was skipped (see the warnings)',
    );
  }

  let upload: RunUpload | null = null;
  if (args.upload.collectors.length > 0) {
    try {
      upload = await RunUpload.start({ io, args: args.upload, extraCA: setup.extraCA, tuning: deps.upload });
    } catch (err) {
      if (!(err instanceof StateError)) throw err;
      io.stderr.write(`pharos-probe: ${err.message}\n`);
      return EXIT_FAILURE;
    }
  }

  const outputPath = path.resolve(
    io.cwd,
    args.output ??
      `pharos-${args.experiments.length === 1 ? args.experiments[0] : 'run'}-${compactUTC(start)}.jsonl`,
  );
  let writer: JsonlWriter;
  try {
    writer = await JsonlWriter.open(outputPath);
  } catch (err) {
    io.stderr.write(`pharos-probe: cannot open ${outputPath} for writing: ${(err as Error).message}\n`);
    await upload?.finish({ aborted: true, quiet: true });
    return EXIT_FAILURE;
  }

  const timeout = args.timeoutSeconds * 1000;
  const options: ExperimentOptions = {
    testHelpers: args.testHelpers,
    publicResolver: args.resolver,
    dohURL: args.doh,
    extraCA: setup.extraCA.length > 0 ? setup.extraCA : undefined,
    fingerprints: setup.fingerprints,
    timeouts: {
      dns: Math.min(MAX_DNS_TIMEOUT_SECONDS * 1000, timeout),
      connect: timeout,
      tls: timeout,
      http: timeout,
      // The helper performs every step itself (DNS, TCP, TLS, HTTP) before it answers.
      control: CONTROL_TIMEOUT_FACTOR * timeout,
    },
    probeCC: args.probeCC,
    probeASN: args.probeASN,
    // One start time and report id for the whole run, as OONI groups a run's measurements.
    testStartTime: start,
    catalog: args.catalog === undefined ? undefined : path.resolve(io.cwd, args.catalog),
    asnTable: args.asnTable === undefined ? undefined : path.resolve(io.cwd, args.asnTable),
    dataBudget: args.dataBudget === undefined ? undefined : createDataBudget(args.dataBudget),
    stateDir: args.upload.stateDir,
  };
  const jobs = planJobs(args.experiments, setup.urls);
  const reportIdFor = runReportIds(start, args.probeCC, args.probeASN);
  const beacons = args.beaconIntervalMs
    ? await startBackgroundBeacons({
        io,
        stateDir: args.upload.stateDir,
        collectors: args.upload.collectors,
        intervalMs: args.beaconIntervalMs,
        probeCC: args.probeCC,
        probeASN: args.probeASN,
        region: args.region,
        extraCA: setup.extraCA,
        note: (message) => io.stderr.write(message),
      })
    : null;
  try {
    return await measureAll({
      io,
      deps,
      args,
      jobs,
      options,
      reportIdFor,
      writer,
      outputPath,
      start,
      upload,
    });
  } finally {
    await beacons?.stop();
  }
}

/** One job per (experiment, URL) for experiments that take URLs, one per experiment otherwise. */
function planJobs(experiments: string[], urls: InputURL[]): Job[] {
  return experiments.flatMap((experiment): Job[] => {
    if (!takesInput(experiment)) {
      return [
        { experiment, target: null, input: { url: experiment, categoryCode: null, origin: '--experiment' } },
      ];
    }
    // The label names the experiment when it is not the default, so rows of one URL stay apart.
    return urls.map((u) => ({
      experiment,
      target: u.url,
      input: experiment === WEB_CONNECTIVITY ? u : { ...u, url: `${experiment} ${u.url}` },
    }));
  });
}

async function readRunFiles(args: RunArgs, cwd: string) {
  const inputs = await loadInputs({
    inputs: args.inputs,
    lists: args.lists.map((list) => ({ path: path.resolve(cwd, list), displayName: list })),
  });
  const fingerprints = await readFingerprintFiles(cwd, args.fingerprintFiles);
  const fingerprintWarnings = (fingerprints?.rejected ?? []).map(
    (row) => `${row.file}:${row.line}: fingerprint "${row.name}" skipped: ${row.reason}`,
  );
  return {
    urls: inputs.urls,
    warnings: [...inputs.warnings, ...fingerprintWarnings],
    extraCA: await readCAFiles(cwd, args.caFiles),
    fingerprints,
  };
}

async function measureAll(run: {
  io: CliIO;
  deps: RunDeps;
  args: RunArgs;
  jobs: Job[];
  options: ExperimentOptions;
  /** OONI groups a run's measurements of one experiment under one report id. */
  reportIdFor: (experiment: string) => string;
  writer: JsonlWriter;
  outputPath: string;
  start: Date;
  upload: RunUpload | null;
}): Promise<number> {
  const { io, args, jobs, writer, upload } = run;
  const budget = run.options.dataBudget;
  let overBudget = 0;
  const progress = createProgress({ stream: io.stderr, total: jobs.length, quiet: args.quiet, now: io.now });
  if (upload) upload.note = (message) => progress.note(message);
  const finished: FinishedURL[] = [];
  const controller = new AbortController();
  // Every running DNS lookup, connection and fetch of every job listens on this one signal.
  setMaxListeners(0, controller.signal);
  let errors = 0;
  let queueErrors = 0;
  let running = 0;
  let stopping = false;
  let aborting = false;
  let abortedWait: () => void = () => {};
  const aborted = new Promise<void>((resolve) => {
    abortedWait = resolve;
  });

  // First Ctrl-C: start nothing new, let running URLs finish (their measurements are whole).
  // Second: abort them and stop waiting; what they would return is partial and is dropped.
  const unsubscribe = io.onInterrupt(() => {
    if (!stopping) {
      stopping = true;
      progress.note(
        `pharos-probe: interrupted: starting no new URLs, waiting for ${running} running (Ctrl-C again to abort them)\n`,
      );
    } else if (!aborting) {
      aborting = true;
      controller.abort();
      progress.note(`pharos-probe: aborted ${running} running URLs; they are not recorded\n`);
      abortedWait();
    }
  });

  const measureOne = async (job: Job) => {
    const { input } = job;
    // The data budget is the volunteer's money: once it is spent, nothing new starts.
    if (budget && budget.remaining() <= 0) {
      overBudget++;
      return;
    }
    running++;
    try {
      let measurement: WebConnectivityMeasurement;
      try {
        const options = {
          ...run.options,
          reportId: run.reportIdFor(job.experiment),
          signal: controller.signal,
          annotations: jobAnnotations(job, args.region),
        };
        if (job.experiment === WEB_CONNECTIVITY) {
          measurement = await run.deps.measure(job.target!, options);
          // Web Connectivity does not know the budget; the other experiments spend from it themselves.
          budget?.spend(measurement.test_keys.x_bytes_sent + measurement.test_keys.x_bytes_received);
        } else {
          const runExperiment =
            run.deps.runExperiment ?? (await import('../experiments/registry.js')).runExperiment;
          // The summary reads the keys all experiments share (x_verdict, x_mechanism, x_bytes_*).
          measurement = (await runExperiment(
            job.experiment,
            job.target,
            options,
          )) as unknown as WebConnectivityMeasurement;
        }
      } catch (err) {
        if (aborting) return;
        // Experiments report network failures inside the measurement; a throw is a bug, and one
        // job's bug must not cost the rest of the run.
        errors++;
        progress.note(`pharos-probe: error: measuring ${input.url} failed: ${(err as Error).message}\n`);
        return;
      }
      if (aborting) return;
      await writer.write(measurement);
      if (upload) {
        try {
          // Durable in the outbox before any upload is tried; the JSONL line is written already.
          await upload.queue(measurement);
        } catch (err) {
          queueErrors++;
          progress.note(
            `pharos-probe: error: cannot queue the measurement of ${input.url} for upload: ${(err as Error).message}\n`,
          );
        }
      }
      const result: FinishedURL = { input, measurement, outcome: outcomeOf(measurement) };
      finished.push(result);
      progress.finished(result);
    } finally {
      running--;
    }
  };

  let writeError: unknown = null;
  const pool = runPool(jobs, args.concurrency, measureOne, () => !stopping);
  // After an abort, measurements that ignore the signal must not keep the run (and the user) waiting.
  pool.catch(() => {});
  try {
    await Promise.race([pool, aborted]);
  } catch (err) {
    writeError = err;
  }
  unsubscribe();
  progress.stop();
  if (upload) upload.note = (message) => io.stderr.write(message);
  try {
    await writer.close();
  } catch (err) {
    writeError ??= err;
  }

  io.stdout.write(
    formatSummary({
      planned: jobs.length,
      finished,
      errors,
      elapsedMs: io.now().getTime() - run.start.getTime(),
      outputPath: run.outputPath,
      interrupted: stopping,
    }),
  );
  const controlWarning = controlFailureWarning(finished, args.testHelpers);
  if (controlWarning) io.stderr.write(`pharos-probe: ${controlWarning}`);
  for (const line of experimentControlWarnings(finished, args.testHelpers))
    io.stderr.write(`pharos-probe: ${line}`);
  if (overBudget > 0) {
    io.stderr.write(
      `pharos-probe: the data budget (--data-budget ${args.dataBudget} bytes) was spent; ${overBudget} measurements were not started\n`,
    );
  }
  if (upload) {
    const { summary, left } = await upload.finish({ aborted: aborting, quiet: args.quiet });
    io.stdout.write(summary);
    if (left) io.stderr.write(`pharos-probe: ${left}`);
  }
  if (writeError !== null) {
    io.stderr.write(`pharos-probe: cannot write to ${run.outputPath}: ${(writeError as Error).message}\n`);
    return EXIT_FAILURE;
  }
  if (queueErrors > 0) {
    io.stderr.write(
      `pharos-probe: ${queueErrors} measurements could not be queued for upload (they are in ${run.outputPath}; ` +
        'submit them later with "pharos-probe submit")\n',
    );
    return EXIT_FAILURE;
  }
  return stopping ? EXIT_INTERRUPTED : EXIT_OK;
}

/** One measurement to make: an experiment, on a URL or on its own endpoints. */
interface Job {
  experiment: string;
  /** The URL measured; null for experiments with their own endpoints. */
  target: string | null;
  /** What progress and the summary show for it. */
  input: InputURL;
}

/**
 * What the server groups this job's measurement by, besides country and network: the run's
 * region, and for Web Connectivity the category the test list gives the URL (URLs from --input
 * have none). Undefined when there is nothing to add.
 */
function jobAnnotations(job: Job, region: string | undefined): Record<string, string> | undefined {
  const annotations: Record<string, string> = {};
  if (region !== undefined) annotations[REGION_ANNOTATION] = region;
  if (job.experiment === WEB_CONNECTIVITY && job.input.categoryCode !== null)
    annotations[CATEGORY_ANNOTATION] = job.input.categoryCode;
  return Object.keys(annotations).length > 0 ? annotations : undefined;
}

function warn(io: CliIO, message: string): void {
  io.stderr.write(`pharos-probe: warning: ${message}\n`);
}

function usageFailure(io: CliIO, message: string): number {
  io.stderr.write(`pharos-probe: ${message}\nRun "pharos-probe run --help" for usage.\n`);
  return EXIT_USAGE;
}
