/**
 * Running a timeline scenario (docs/lab.md, "Timelines"): one lab with a namespace per probe, the
 * observatory server (`pharos serve`) in the lab's internet, every probe beaconing to it (and
 * running its experiments in a loop), the timeline's censor changes and the churn carried out at
 * their times, and the incidents the server opened judged against the scenario's.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatSeconds } from './duration.js';
import { type IncidentPoll, judgeIncidents, type ObservedIncident } from './incident-check.js';
import { type ExpectationResult, probeCliPath, type RunOptions, type ScenarioResult } from './runner.js';
import type { ObservatorySpec, ProbeNode, ScenarioSpec } from './spec.js';
import { type AppliedEvent, planSchedule, realClock, runSchedule, type ScheduledEvent } from './timeline.js';
import {
  checkCensorRules,
  childScript,
  createLab,
  type LabHandle,
  type LabProcess,
  worldSites,
} from './world/lab.js';

/** The observatory's CLI (`pharos`), as installed from the workspace. */
export function serverCliPath(): string {
  return path.join(path.dirname(fileURLToPath(import.meta.resolve('@pharos/server'))), 'cli.js');
}

export const SERVER_PORT = 8080;
export const INCIDENTS_PATH = 'api/v1/incidents';
/** The detection loop's status (passes run, the last one's range and changes): the run's diagnostics. */
export const DETECTION_PATH = 'api/v1/detection';
const POLL_MS = 1000;
/** WhatsApp has 18 endpoints; every one at once. */
const EXPERIMENT_CONCURRENCY = 18;
/** Short enough that a blocked round ends soon, long enough that a busy machine is not a block. */
const EXPERIMENT_TIMEOUT_SECONDS = 4;
const SERVER_START_TIMEOUT_MS = 60_000;

/**
 * Each probe's address (a /32) → its country and ASN: written beside the run (locator.json), so
 * what each lab address stood for can be read afterwards; the shape a `--locator FILE` would take.
 */
export function locatorTable(
  probes: ProbeNode[],
  addresses: Record<string, string>,
): Record<string, { cc: string; asn: number }> {
  return Object.fromEntries(probes.map((p) => [`${addresses[p.name]}/32`, { cc: p.cc, asn: p.asn }]));
}

/**
 * The detector settings a lab run gives the server (`--detect-config`, written beside the run as
 * detect-config.json). The defaults are tuned for platforms of hundreds of probes and measurement
 * steps of minutes; a lab unit has 2-7 probes and its step is the beacon interval. What changes,
 * and why (docs/lab.md, "Detector settings"):
 *
 * - `beacon.disconnected` burst, `minSilentSteps: 1`: the default (2) exists to reject reboot
 *   waves whose probes are back within minutes; waiting for a second silent step makes an alert
 *   known three steps after the cut at the worst, past the two intervals the lab allows. The
 *   size rules stay as they are (3 probes, half the unit, a unit of 3 heard before): churn takes
 *   2 probes at a time, which is not 3, and a cut of one ISP's region (3 probes) is.
 * - `measurement.blocked_fraction` CUSUM: a lab network has 2 probes, each sending one
 *   measurement of an app per round, so a step holds a few measurements, not the 5 the defaults
 *   weigh fully. `fullWeightCount: 2` (both probes' rounds make a full step; one alone weighs
 *   half) and `minMeasurements: 2` (one odd measurement is never an alert: both probes, or one
 *   probe twice, must agree). `expectedDelaySteps: 0.35`, so h = 0.35 · 0.7 / 2 = 0.1225: a
 *   full-weight step at least half blocked (score x − 0.35 ≥ 0.15) opens. Measurements are
 *   binned by when they started, so the step of the cut still holds the clean rounds from before
 *   it; waiting for a step that is mostly blocked can take 2.2 intervals. `recoveryFactor: 0.5`
 *   (0.061) closes at a step at most about 29% blocked, for the same reason at the lift.
 */
export function labDetectConfig(): Record<string, unknown> {
  return {
    signals: {
      'beacon.disconnected': { burst: { minSilentSteps: 1 } },
      'measurement.blocked_fraction': {
        cusum: { fullWeightCount: 2, minMeasurements: 2, expectedDelaySteps: 0.35, recoveryFactor: 0.5 },
      },
    },
  };
}

/**
 * `pharos serve` as the lab runs it: detection at the beacon interval, measurement outcomes binned
 * at the same step (the server's default, 10 minutes, is longer than a lab run), and the lab's
 * detector settings (`labDetectConfig`). Lab addresses are private,
 * so the server's IP datasets know none of them; it then takes the country and ASN a beacon or a
 * measurement states, which are the probe's (`--cc`, `--asn`, `--probe-asn`). A locator file, if
 * given (`--locator`, for a server that would rather map addresses itself), is passed on.
 */
export function serverArgs(o: {
  dataDir: string;
  host: string;
  interval: number;
  detectConfigFile?: string;
  locatorFile?: string;
}): string[] {
  return [
    'serve',
    '--data',
    o.dataDir,
    '--host',
    o.host,
    '--port',
    String(SERVER_PORT),
    '--beacon-interval',
    formatSeconds(o.interval),
    '--detect-every',
    formatSeconds(o.interval),
    '--measurement-step',
    formatSeconds(o.interval),
    ...(o.detectConfigFile ? ['--detect-config', o.detectConfigFile] : []),
    ...(o.locatorFile ? ['--locator', o.locatorFile] : []),
    '--log',
  ];
}

/** `pharos-probe beacon` for one probe. */
export function beaconArgs(
  probe: ProbeNode,
  o: { collector: string; interval: number; stateDir: string },
): string[] {
  return [
    'beacon',
    '--collector',
    o.collector,
    '--interval',
    formatSeconds(o.interval),
    '--region',
    probe.region,
    '--cc',
    probe.cc,
    '--asn',
    String(probe.asn),
    '--state-dir',
    o.stateDir,
  ];
}

/** One round of a probe's experiments, uploaded to the observatory as they finish. */
export function experimentArgs(
  probe: ProbeNode,
  o: { collector: string; stateDir: string; output: string; networkArgs: string[]; appArgs: string[] },
): string[] {
  const others = probe.experiments.filter((x) => x !== 'web_connectivity');
  return [
    'run',
    ...(probe.experiments.length === 1 && probe.experiments[0] === 'web_connectivity'
      ? []
      : probe.experiments.flatMap((x) => ['--experiment', x])),
    ...probe.inputs.flatMap((input) => ['--input', input]),
    '--collector',
    o.collector,
    '--state-dir',
    o.stateDir,
    '--output',
    o.output,
    '--probe-cc',
    probe.cc,
    '--probe-asn',
    `AS${probe.asn}`,
    // A blocked app's endpoints all time out: measured at once, a blocked round takes one
    // timeout, not one per batch of four, so the observatory hears of a block soon after it starts.
    '--concurrency',
    String(EXPERIMENT_CONCURRENCY),
    '--timeout',
    String(EXPERIMENT_TIMEOUT_SECONDS),
    '--upload-timeout',
    '5',
    '--quiet',
    ...o.networkArgs,
    ...(others.length > 0 ? o.appArgs : []),
  ];
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return realClock(0).sleep(ms, signal);
}

/** Waits until the server's log says it listens, or fails with the log's tail. */
async function waitForServer(logFile: string, server: LabProcess): Promise<void> {
  let exitCode: number | null | undefined;
  void server.exited.then((code) => {
    exitCode = code;
  });
  const deadline = Date.now() + SERVER_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const log = await readFile(logFile, 'utf8').catch(() => '');
    if (log.includes('listening on')) return;
    if (exitCode !== undefined)
      throw new Error(
        `pharos serve exited (${exitCode}) before listening: ${log.trim().split('\n').slice(-4).join(' | ')}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`pharos serve did not listen within ${SERVER_START_TIMEOUT_MS / 1000}s (see ${logFile})`);
}

/** The incidents API's answers, from the watcher's file. */
export function readPolls(text: string, startMs: number): IncidentPoll[] {
  const polls: IncidentPoll[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let row: { t: number; path: string; status: number | null; body?: unknown; error?: string };
    try {
      row = JSON.parse(line);
    } catch {
      continue;
    }
    if (row.path !== INCIDENTS_PATH) continue;
    const at = (row.t - startMs) / 1000;
    const list = (row.body as { incidents?: unknown } | null)?.incidents;
    if (row.status === 200 && Array.isArray(list)) polls.push({ at, incidents: list as ObservedIncident[] });
    else
      polls.push({
        at,
        error:
          row.status === null
            ? (row.error ?? 'no answer')
            : `HTTP ${row.status}${row.error ? ` (${row.error})` : ''}`,
      });
  }
  return polls;
}

/**
 * What the detection loop said last (`GET /api/v1/detection`, from the watcher's file): how many
 * passes ran, the last pass, and the last error; null when it never answered. A run whose
 * incidents are missing is read from here first: no passes, an error, or passes that saw nothing.
 */
export function lastDetectionStatus(text: string): Record<string, unknown> | null {
  let last: Record<string, unknown> | null = null;
  for (const line of text.split('\n')) {
    if (!line.includes(DETECTION_PATH)) continue;
    try {
      const row = JSON.parse(line) as { path?: string; status?: number | null; body?: unknown };
      if (row.path === DETECTION_PATH && row.status === 200 && row.body && typeof row.body === 'object')
        last = row.body as Record<string, unknown>;
    } catch {}
  }
  return last;
}

/**
 * Beacons the server took and refused, counted from its request log (`--log`, pino JSON lines):
 * the request's line has the URL, the response's line the status, joined by their reqId.
 */
export function beaconCounts(serverLog: string): { accepted: number; refused: number } {
  const beaconRequests = new Set<string>();
  let accepted = 0;
  let refused = 0;
  for (const line of serverLog.split('\n')) {
    if (!line.startsWith('{')) continue;
    let row: { reqId?: string; req?: { url?: string }; res?: { statusCode?: number } };
    try {
      row = JSON.parse(line);
    } catch {
      continue;
    }
    if (!row.reqId) continue;
    if (row.req?.url?.startsWith('/api/v1/beacons')) beaconRequests.add(row.reqId);
    const status = row.res?.statusCode;
    if (status !== undefined && beaconRequests.delete(row.reqId)) {
      if (status >= 200 && status < 300) accepted++;
      else refused++;
    }
  }
  return { accepted, refused };
}

export async function runObservatoryScenario(
  spec: ScenarioSpec,
  options: RunOptions,
): Promise<ScenarioResult> {
  const observatory = spec.observatory as ObservatorySpec;
  const started = Date.now();
  const workDir = path.join(options.outDir, spec.name);
  await mkdir(workDir, { recursive: true });
  const log = options.log ?? (() => {});
  const recordFile = path.join(workDir, 'timeline.json');
  const finish = (results: ExpectationResult[]): ScenarioResult => ({
    scenario: spec.name,
    file: spec.file,
    seconds: (Date.now() - started) / 1000,
    results,
  });
  const failAll = (error: string): ScenarioResult =>
    finish(
      (observatory.incidents.length > 0 ? observatory.incidents : [null]).map((e) => ({
        scenario: spec.name,
        experiment: 'incident',
        input: e ? (e.entity ?? `${e.type} ${e.extent}`) : 'no incident',
        pass: false,
        expected: {},
        got: null,
        measurement: null,
        error,
      })),
    );

  const probeNames = observatory.probes.map((p) => p.name);
  const events = planSchedule(observatory, spec.censor);
  let lab: LabHandle | undefined;
  const stopLoops = new AbortController();
  const processes: LabProcess[] = [];
  try {
    // Every rule set the timeline will give the router is checked before anything is built.
    const sites = worldSites(spec.sites);
    for (const e of events) if (e.kind === 'censor') checkCensorRules(sites, probeNames, e.rules);

    lab = await createLab({
      sites: spec.sites,
      censor: spec.censor,
      workDir: path.join(workDir, 'lab'),
      probes: probeNames,
      log,
    });
    const theLab = lab;
    const host = lab.addresses.testHelper;
    const collector = `http://${host}:${SERVER_PORT}/`;
    const locatorFile = path.join(workDir, 'locator.json');
    await writeFile(
      locatorFile,
      `${JSON.stringify(locatorTable(observatory.probes, lab.addresses.probes), null, 2)}\n`,
    );

    const detectConfigFile = path.join(workDir, 'detect-config.json');
    await writeFile(detectConfigFile, `${JSON.stringify(labDetectConfig(), null, 2)}\n`);

    const serverLog = path.join(workDir, 'server.log');
    const argv = [
      process.execPath,
      serverCliPath(),
      ...serverArgs({
        dataDir: path.join(workDir, 'server'),
        host,
        interval: observatory.interval,
        detectConfigFile,
      }),
    ];
    await writeFile(serverLog, `$ ${argv.join(' ')}\n`);
    const server = lab.startProcess('internet', argv, serverLog);
    processes.push(server);
    await waitForServer(serverLog, server);

    const pollFile = path.join(workDir, 'incidents.jsonl');
    const watcher = lab.startProcess(
      'internet',
      [
        process.execPath,
        childScript('incident-watch-main'),
        collector,
        pollFile,
        String(POLL_MS),
        INCIDENTS_PATH,
        DETECTION_PATH,
      ],
      path.join(workDir, 'watch.log'),
    );
    processes.push(watcher);

    // t = 0: the probes start beaconing; the timeline counts from here.
    const startMs = Date.now();
    const probeCli = probeCliPath();
    for (const probe of observatory.probes) {
      const stateDir = path.join(workDir, 'probes', probe.name);
      await mkdir(stateDir, { recursive: true });
      const beaconLog = path.join(workDir, 'probes', `${probe.name}.beacon.log`);
      const beaconArgv = [
        process.execPath,
        probeCli,
        ...beaconArgs(probe, { collector, interval: observatory.interval, stateDir }),
      ];
      await writeFile(beaconLog, `$ ${beaconArgv.join(' ')}\n`);
      processes.push(lab.startProcess({ probe: probe.name }, beaconArgv, beaconLog));
    }
    const loops = observatory.probes
      .filter((p) => p.experiments.length > 0)
      .map((probe) =>
        experimentLoop(theLab, probe, {
          collector,
          every: observatory.experimentEvery,
          dir: path.join(workDir, 'probes'),
          probeCli,
          signal: stopLoops.signal,
        }),
      );

    const clock = realClock(startMs);
    log(`${spec.name}: timeline started (${events.length} events over ${observatory.duration}s)`);
    const applied = await runSchedule(
      events,
      async (event: ScheduledEvent) => {
        if (event.kind === 'censor') await theLab.applyCensor(event.rules);
        else await theLab.setProbeOnline(event.probe, event.kind === 'online');
        log(`${spec.name}: t=${(clock.now() / 1000).toFixed(1)}s ${event.description}`);
      },
      clock,
      options.signal,
    );
    await clock.sleep(observatory.duration * 1000 - clock.now(), options.signal);

    stopLoops.abort();
    await Promise.all(loops);
    await Promise.all(processes.map((p) => p.stop()));

    const pollText = await readFile(pollFile, 'utf8').catch(() => '');
    const polls = readPolls(pollText, startMs);
    const detection = lastDetectionStatus(pollText);
    const beacons = beaconCounts(await readFile(serverLog, 'utf8').catch(() => ''));
    const appliedAt = (planned: number) =>
      applied.find((a) => a.event.kind === 'censor' && a.plannedAt === planned)?.appliedAt ?? planned;
    await writeFile(
      recordFile,
      `${JSON.stringify({ start: new Date(startMs).toISOString(), events: applied.map(describeApplied), beacons, polls: polls.length, detection }, null, 2)}\n`,
    );
    log(
      `${spec.name}: the server took ${beacons.accepted} beacons and refused ${beacons.refused}; ${polls.length} incident polls; ${detection ? `${detection.passes} detection passes${detection.lastError ? `, last error: ${detection.lastError}` : ''}` : 'detection never answered'}`,
    );
    const failedEvents = applied.filter((a) => a.error);
    const verdicts = judgeIncidents(observatory.incidents, polls, startMs, appliedAt);
    const results: ExpectationResult[] = verdicts.map((v) => ({
      scenario: spec.name,
      experiment: 'incident',
      input: v.label,
      pass: v.pass && failedEvents.length === 0,
      expected: v.expected,
      got: v.got,
      measurement: recordFile,
      ...(v.error || failedEvents.length
        ? {
            error: [
              v.error,
              ...failedEvents.map((f) => `timeline step at ${f.plannedAt}s failed: ${f.error}`),
            ]
              .filter(Boolean)
              .join('; '),
          }
        : {}),
    }));
    return finish(results);
  } catch (err) {
    return failAll(`the lab failed: ${(err as Error).message}`);
  } finally {
    stopLoops.abort();
    await Promise.all(processes.map((p) => p.stop(2000))).catch(() => {});
    await lab?.teardown();
  }
}

function describeApplied(a: AppliedEvent): Record<string, unknown> {
  return {
    planned_s: a.plannedAt,
    applied_s: Math.round(a.appliedAt * 10) / 10,
    kind: a.event.kind,
    what: a.event.description,
    ...(a.error ? { error: a.error } : {}),
  };
}

/** A probe's experiments, again and again until the run ends; each round's log kept. */
async function experimentLoop(
  lab: LabHandle,
  probe: ProbeNode,
  o: { collector: string; every: number; dir: string; probeCli: string; signal: AbortSignal },
): Promise<void> {
  const stateDir = path.join(o.dir, probe.name);
  const logFile = path.join(o.dir, `${probe.name}.run.log`);
  let round = 0;
  while (!o.signal.aborted) {
    const began = Date.now();
    round++;
    const argv = [
      process.execPath,
      o.probeCli,
      ...experimentArgs(probe, {
        collector: o.collector,
        stateDir,
        output: path.join(o.dir, `${probe.name}.measurements.jsonl`),
        networkArgs: lab.probeNetworkArgs,
        appArgs: lab.appProbeArgs,
      }),
    ];
    const result = await lab
      .runInProbe(probe.name, argv, { timeoutMs: 120_000, signal: o.signal })
      .catch((error: Error) => ({
        code: null,
        stdout: '',
        stderr: error.message,
      }));
    await writeFile(
      logFile,
      `--- round ${round} at ${new Date(began).toISOString()} (exit ${result.code})\n$ ${argv.join(' ')}\n${result.stdout}${result.stderr}\n`,
      { flag: 'a' },
    );
    await sleep(o.every * 1000 - (Date.now() - began), o.signal);
  }
}
