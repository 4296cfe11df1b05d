/**
 * Beacons beside a `pharos-probe run --collector URL --beacon-interval 60s`: the same sender as
 * `pharos-probe beacon`, started before the measurements and stopped after them. Problems are
 * notes, never a reason to fail the run: the measurements are what the volunteer asked for.
 */
import path from 'node:path';
import { BeaconState } from '../beacon/beacon-state.js';
import { BeaconSender } from '../beacon/sender.js';
import { acquireUploadLock } from '../outbox/upload-lock.js';
import type { Collector } from '../upload/collector-url.js';
import type { CliIO } from './io.js';
import { openKey, stateDirOf } from './upload-session.js';

export interface BackgroundBeacons {
  /** Stops sending and waits for an attempt in flight (bounded by its deadline). */
  stop(): Promise<void>;
}

export async function startBackgroundBeacons(options: {
  io: CliIO;
  stateDir: string | undefined;
  collectors: Collector[];
  intervalMs: number;
  /** As the run records them: `AZ`, `AS29049`; undefined when not given. */
  probeCC: string | undefined;
  probeASN: string | undefined;
  /** `AZ-FUZ`; undefined when not given. */
  region?: string;
  extraCA: string[];
  note: (message: string) => void;
}): Promise<BackgroundBeacons> {
  const none: BackgroundBeacons = { stop: async () => {} };
  const stateDir = stateDirOf(options.io, options.stateDir);
  try {
    const { key } = await openKey(stateDir);
    const lock = await acquireUploadLock(path.join(stateDir, 'beacon.lock'));
    if (!lock.ok) {
      options.note(
        `pharos-probe: beacons: another beacon sender (pid ${lock.holder}) already runs; not sending\n`,
      );
      return none;
    }
    const { state, problem } = await BeaconState.open(stateDir);
    if (problem) options.note(`pharos-probe: beacons: ${problem}\n`);
    const sender = new BeaconSender({
      key,
      state,
      collectors: options.collectors,
      intervalMs: options.intervalMs,
      cc: options.probeCC ?? 'ZZ',
      asn: Number((options.probeASN ?? 'AS0').slice(2)),
      ...(options.region ? { region: options.region } : {}),
      extraCA: options.extraCA,
      now: () => options.io.now(),
      onEvent: (event) => {
        if (event.kind === 'refused')
          options.note(`pharos-probe: beacon ${event.seq} refused by ${event.collector}: ${event.reason}\n`);
        else if (event.kind === 'state-error') options.note(`pharos-probe: beacons: ${event.message}\n`);
      },
    });
    const controller = new AbortController();
    const running = sender.run({ signal: controller.signal });
    return {
      async stop() {
        controller.abort();
        await running.catch(() => {});
        await lock.release();
      },
    };
  } catch (err) {
    options.note(`pharos-probe: beacons: not sending: ${(err as Error).message}\n`);
    return none;
  }
}
