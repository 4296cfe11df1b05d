/**
 * `pharos-probe beacon`: send reachability beacons until stopped (or --count of them), reporting
 * each attempt on stderr. See beacon/sender.ts for how and when.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BeaconState } from '../beacon/beacon-state.js';
import { type AttemptResult, type BeaconEvent, BeaconSender } from '../beacon/sender.js';
import { stateLayout } from '../identity/state-dir.js';
import { acquireUploadLock } from '../outbox/upload-lock.js';
import { type Collector, parseCollector } from '../upload/collector-url.js';
import { parseASN, parseCountryCode, parseIntegerInRange, parseRegion } from './arg-values.js';
import {
  BEACON_USAGE,
  DEFAULT_BEACON_INTERVAL_SECONDS,
  MIN_BEACON_INTERVAL_SECONDS,
} from './beacon-usage.js';
import { describeParseError, UsageError } from './command-line.js';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_QUEUED, EXIT_USAGE } from './exit-codes.js';
import type { CliIO } from './io.js';
import { readCAFiles } from './run-files.js';
import { openKey, reportingStateErrors, StateError, stateDirOf } from './upload-session.js';

const OPTIONS = {
  collector: { type: 'string', multiple: true },
  interval: { type: 'string' },
  cc: { type: 'string' },
  asn: { type: 'string' },
  region: { type: 'string' },
  'state-dir': { type: 'string' },
  count: { type: 'string' },
  ca: { type: 'string', multiple: true },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface BeaconArgs {
  collectors: Collector[];
  intervalMs: number;
  cc: string;
  asn: number;
  region: string | undefined;
  stateDir: string | undefined;
  count: number | undefined;
  caFiles: string[];
  quiet: boolean;
}

/** How a SIGTERM reaches the command; tests pass their own. */
export interface TerminationSource {
  onTerminate(handler: () => void): () => void;
}

const processTermination: TerminationSource = {
  onTerminate(handler) {
    process.on('SIGTERM', handler);
    return () => process.off('SIGTERM', handler);
  },
};

/** `60`, `60s`, `1.5m`, `1h`, `500ms` → milliseconds; throws a UsageError naming the option. */
export function parseDuration(option: string, value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(value);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m?.[2] ?? 's').toLowerCase() as 'ms'];
  const ms = m ? Number(m[1]) * unit : Number.NaN;
  if (!(ms > 0)) throw new UsageError(`${option} "${value}": expected a duration such as 60s, 5m or 1h`);
  return Math.round(ms);
}

/** `run --beacon-interval`: a duration, only with a collector. */
export function parseBeaconIntervalOption(
  text: string | undefined,
  hasCollector: boolean,
): number | undefined {
  if (text === undefined) return undefined;
  if (!hasCollector)
    throw new UsageError('--beacon-interval needs --collector (the beacons go to the collectors)');
  const ms = parseDuration('--beacon-interval', text);
  if (ms < MIN_BEACON_INTERVAL_SECONDS * 1000)
    throw new UsageError(`--beacon-interval "${text}": must be at least ${MIN_BEACON_INTERVAL_SECONDS}s`);
  return ms;
}

export function parseBeaconArgs(values: {
  collector?: string[];
  interval?: string;
  cc?: string;
  asn?: string;
  region?: string;
  'state-dir'?: string;
  count?: string;
  ca?: string[];
  quiet?: boolean;
}): BeaconArgs {
  const collectors: Collector[] = [];
  for (const text of values.collector ?? []) {
    try {
      const c = parseCollector(text);
      if (!collectors.some((o) => o.base === c.base)) collectors.push(c);
    } catch (err) {
      throw new UsageError(`--collector "${text}": ${(err as Error).message}`);
    }
  }
  if (collectors.length === 0)
    throw new UsageError('no collector: give at least one --collector URL (e.g. https://collector.example/)');
  const intervalMs =
    values.interval === undefined
      ? DEFAULT_BEACON_INTERVAL_SECONDS * 1000
      : parseDuration('--interval', values.interval);
  if (intervalMs < MIN_BEACON_INTERVAL_SECONDS * 1000)
    throw new UsageError(`--interval "${values.interval}": must be at least ${MIN_BEACON_INTERVAL_SECONDS}s`);
  const cc = values.cc === undefined ? 'ZZ' : parseCountryCode('--cc', values.cc);
  const asn = values.asn === undefined ? 0 : Number(parseASN('--asn', values.asn).slice(2));
  const region =
    values.region === undefined
      ? undefined
      : parseRegion('--region', values.region, { option: '--cc', code: cc });
  const stateDir = values['state-dir'];
  if (stateDir !== undefined && stateDir.trim() === '') throw new UsageError('--state-dir needs a directory');
  return {
    collectors,
    intervalMs,
    cc,
    asn,
    region,
    stateDir,
    count: values.count === undefined ? undefined : parseIntegerInRange('--count', values.count, 1),
    caFiles: values.ca ?? [],
    quiet: values.quiet === true,
  };
}

export async function beaconCommand(
  argv: string[],
  io: CliIO,
  termination: TerminationSource = processTermination,
): Promise<number> {
  let args: BeaconArgs;
  let extraCA: string[];
  try {
    const parsed = parse(argv);
    if (parsed.values.help) {
      io.stdout.write(BEACON_USAGE);
      return EXIT_OK;
    }
    if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument "${parsed.positionals[0]}"`);
    args = parseBeaconArgs(parsed.values);
    extraCA = await readCAFiles(io.cwd, args.caFiles);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`pharos-probe: ${err.message}\nRun "pharos-probe beacon --help" for usage.\n`);
    return EXIT_USAGE;
  }

  const stateDir = stateDirOf(io, args.stateDir);
  return reportingStateErrors(io, async () => {
    const { key } = await openKey(stateDir);
    const lock = await acquireUploadLock(path.join(stateLayout(stateDir).dir, 'beacon.lock'));
    if (!lock.ok) {
      throw new StateError(
        `another beacon sender (pid ${lock.holder}) uses the state directory ${stateDir}: one is enough`,
      );
    }
    try {
      const opened = await BeaconState.open(stateDir).catch((err: Error) => {
        throw new StateError(`cannot use the state directory ${stateDir}: ${err.message}`);
      });
      if (opened.problem) io.stderr.write(`pharos-probe: ${opened.problem}\n`);
      return await send(io, termination, args, extraCA, key, opened.state);
    } finally {
      await lock.release();
    }
  });
}

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(describeParseError(err));
  }
}

async function send(
  io: CliIO,
  termination: TerminationSource,
  args: BeaconArgs,
  extraCA: string[],
  key: Awaited<ReturnType<typeof openKey>>['key'],
  state: BeaconState,
): Promise<number> {
  const stop = new AbortController();
  let interrupted = false;
  const offInterrupt = io.onInterrupt(() => {
    interrupted = true;
    stop.abort();
  });
  const offTerminate = termination.onTerminate(() => stop.abort());
  const sender = new BeaconSender({
    key,
    state,
    collectors: args.collectors,
    intervalMs: args.intervalMs,
    cc: args.cc,
    asn: args.asn,
    ...(args.region ? { region: args.region } : {}),
    extraCA,
    now: () => io.now(),
    onEvent: (event) => report(io, event, args.quiet),
  });
  if (!args.quiet) {
    const every = args.intervalMs % 1000 === 0 ? `${args.intervalMs / 1000}s` : `${args.intervalMs}ms`;
    io.stderr.write(
      `pharos-probe: a beacon every ${every} to ${args.collectors.map((c) => c.base).join(', ')} ` +
        `(probe ${key.fingerprint.slice(0, 16)}; Ctrl-C stops)\n`,
    );
  }
  let results: AttemptResult[];
  try {
    results = await sender.run({ signal: stop.signal, ...(args.count ? { count: args.count } : {}) });
  } finally {
    offInterrupt();
    offTerminate();
  }
  if (interrupted) return EXIT_INTERRUPTED;
  if (results.includes('refused') || results.includes('state-error')) return EXIT_FAILURE;
  if (state.missed.length > 0) {
    io.stderr.write(
      `pharos-probe: ${state.missed.length} missed attempts are kept in ${state.file}; the next beacon that gets through reports them\n`,
    );
    return EXIT_QUEUED;
  }
  return EXIT_OK;
}

function report(io: CliIO, event: BeaconEvent, quiet: boolean): void {
  const at = io.now().toISOString().slice(0, 19);
  switch (event.kind) {
    case 'delivered':
      if (quiet && event.missedDelivered === 0) return;
      io.stderr.write(
        `${at} beacon ${event.seq} delivered to ${event.collector}` +
          (event.missedDelivered > 0 ? `, reporting ${event.missedDelivered} missed attempts` : '') +
          (event.duplicate ? ' (already there)' : '') +
          '\n',
      );
      return;
    case 'missed':
      io.stderr.write(
        `${at} beacon ${event.seq}: no collector reached (${event.reasons.join('; ')}); ` +
          `recorded, ${event.pending} attempts to report when one gets through\n`,
      );
      return;
    case 'refused':
      io.stderr.write(`${at} beacon ${event.seq} refused by ${event.collector}: ${event.reason}\n`);
      return;
    case 'stopped':
      return;
    case 'state-error':
      io.stderr.write(`pharos-probe: ${event.message}\n`);
      return;
  }
}
