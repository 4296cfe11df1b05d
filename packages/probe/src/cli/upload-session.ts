/**
 * Opening the state a command uploads from: the outbox (and, for commands that sign, the key),
 * with the failures a user can fix turned into one plain message.
 */
import { loadOrCreateProbeKey, type ProbeKey, ProbeKeyError } from '../identity/probe-key.js';
import { type Env, resolveStateDir, stateLayout } from '../identity/state-dir.js';
import { Outbox } from '../outbox/outbox.js';
import type { BackoffPolicy } from '../upload/backoff.js';
import type { Collector } from '../upload/collector-url.js';
import { type UploadEvent, Uploader } from '../upload/uploader.js';
import { EXIT_FAILURE } from './exit-codes.js';
import type { CliIO } from './io.js';

/** Knobs tests turn to make retries fast; production uses the defaults. */
export interface UploadTuning {
  backoff?: BackoffPolicy;
  idleTimeoutMs?: number;
  lingerMs?: number;
  maxBatchItems?: number;
  random?: () => number;
}

export function stateDirOf(io: CliIO, option: string | undefined): string {
  return resolveStateDir(option, (io.env ?? process.env) as Env, io.cwd);
}

export class StateError extends Error {
  override name = 'StateError';
}

export async function openOutbox(stateDir: string): Promise<Outbox> {
  try {
    return await Outbox.open(stateDir);
  } catch (err) {
    throw new StateError(`cannot use the state directory ${stateDir}: ${(err as Error).message}`);
  }
}

/** Runs `use` with the outbox of `stateDir` open, and closes it whatever happens. */
export async function withOutbox(
  stateDir: string,
  use: (outbox: Outbox) => Promise<number>,
): Promise<number> {
  const outbox = await openOutbox(stateDir);
  try {
    return await use(outbox);
  } finally {
    await outbox.close();
  }
}

/** A state directory the command cannot use is the user's to fix: say why, exit 1. */
export async function reportingStateErrors(io: CliIO, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof StateError)) throw err;
    io.stderr.write(`pharos-probe: ${err.message}\n`);
    return EXIT_FAILURE;
  }
}

export async function openKey(stateDir: string): Promise<{ key: ProbeKey; created: boolean }> {
  try {
    return await loadOrCreateProbeKey(stateLayout(stateDir));
  } catch (err) {
    if (err instanceof ProbeKeyError) throw new StateError(err.message);
    throw new StateError(`cannot read or create the probe key in ${stateDir}: ${(err as Error).message}`);
  }
}

export function createUploader(
  outbox: Outbox,
  options: {
    collectors: Collector[];
    extraCA: string[];
    tuning: UploadTuning | undefined;
    now: () => Date;
    onEvent: (event: UploadEvent) => void;
  },
): Uploader {
  const { tuning } = options;
  return new Uploader(outbox, {
    collectors: options.collectors,
    extraCA: options.extraCA,
    now: options.now,
    onEvent: options.onEvent,
    ...(tuning?.backoff ? { backoff: tuning.backoff } : {}),
    ...(tuning?.idleTimeoutMs ? { idleTimeoutMs: tuning.idleTimeoutMs } : {}),
    ...(tuning?.maxBatchItems ? { maxBatchItems: tuning.maxBatchItems } : {}),
    ...(tuning?.random ? { random: tuning.random } : {}),
  });
}

/** Queued measurements not yet in the ledger. */
export async function countQueued(outbox: Outbox): Promise<number> {
  return (await outbox.list()).filter((f) => !outbox.isSent(f.id)).length;
}
