/**
 * Sends the probe's beacons: one now, then one per interval, each signed, each given a short
 * deadline so a stuck one never delays the next. An attempt no collector takes is written to disk
 * (beacon-state.ts) and reported in the `missed` list of the next beacon that gets through.
 *
 * Beacons go out at a fixed phase in the middle half of each interval, on the collector's clock
 * (learnt from its answers): the server counts probes per step, and a beacon sent right at a step
 * boundary could drift into the next step by network jitter and fake a silence. The phase comes
 * from the key, so probes spread over the interval instead of all arriving in the same second.
 */
import { sign } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Beacon, beaconBody, beaconSigningBytes, beaconTime, parseBeaconTime } from '@pharos/core';
import type { ProbeKey } from '../identity/probe-key.js';
import type { Collector } from '../upload/collector-url.js';
import { Agents, NetworkError, post } from '../upload/http-post.js';
import type { BeaconState } from './beacon-state.js';

export const BEACONS_PATH = 'api/v1/beacons';
/** An attempt never takes longer than this, whatever the interval. */
export const MAX_ATTEMPT_MS = 10_000;

export interface BeaconSenderOptions {
  key: ProbeKey;
  state: BeaconState;
  collectors: Collector[];
  intervalMs: number;
  /** Claimed location: `ZZ` and 0 when withheld. */
  cc: string;
  asn: number;
  region?: string;
  extraCA?: string[];
  now?: () => Date;
  onEvent?: (event: BeaconEvent) => void;
}

export type BeaconEvent =
  | {
      kind: 'delivered';
      seq: number;
      collector: string;
      /** How many earlier missed attempts this beacon reported. */
      missedDelivered: number;
      duplicate: boolean;
    }
  | { kind: 'missed'; seq: number; reasons: string[]; pending: number }
  | { kind: 'refused'; seq: number; collector: string; reason: string }
  | { kind: 'stopped'; seq: number }
  | { kind: 'state-error'; message: string };

export type AttemptResult = BeaconEvent['kind'];

/** `https://collector.example/` → `https://collector.example/api/v1/beacons`. */
export function beaconEndpoint(collector: Collector): URL {
  return new URL(BEACONS_PATH, collector.base);
}

/** The phase (ms into each interval) this key sends at: in [interval/4, 3·interval/4). */
export function beaconPhaseMs(fingerprint: string, intervalMs: number): number {
  const fraction = Number.parseInt(fingerprint.slice(0, 8), 16) / 2 ** 32;
  return Math.floor(intervalMs / 4 + fraction * (intervalMs / 2));
}

/**
 * When to send after a beacon sent at `afterMs` (collector clock): this key's phase in the next
 * step. So every step from the first on holds one beacon, whenever the first went out, and no two
 * go out closer than a quarter interval (the phase is at least that far into its step). Waiting
 * "at least half an interval" instead skipped a whole step after a first beacon sent late in its
 * step, and the server saw the probe silent for it.
 */
export function nextSendTime(afterMs: number, intervalMs: number, phaseMs: number): number {
  return (Math.floor(afterMs / intervalMs) + 1) * intervalMs + phaseMs;
}

export class BeaconSender {
  private readonly agents: Agents;
  private readonly now: () => Date;
  /** Collector clock minus ours, from the last answer (ms). */
  private clockOffsetMs = 0;
  readonly phaseMs: number;

  constructor(private readonly options: BeaconSenderOptions) {
    this.agents = new Agents(options.extraCA ?? []);
    this.now = options.now ?? (() => new Date());
    this.phaseMs = beaconPhaseMs(options.key.fingerprint, options.intervalMs);
  }

  private get attemptMs(): number {
    return Math.min(MAX_ATTEMPT_MS, Math.max(200, this.options.intervalMs * 0.8));
  }

  /**
   * Sends beacons until `signal` aborts or `count` attempts were made, then waits for the ones
   * still in flight (they end by their deadline). Resolves with every attempt's result.
   */
  async run(options: { signal: AbortSignal; count?: number }): Promise<AttemptResult[]> {
    const results: Promise<AttemptResult>[] = [];
    const { signal, count } = options;
    while (!signal.aborted && (count === undefined || results.length < count)) {
      const started = Date.now();
      // Not awaited: the next interval does not wait for a slow attempt.
      results.push(this.attempt(signal));
      if (count !== undefined && results.length >= count) break;
      const collectorNow = started + this.clockOffsetMs;
      const wait = nextSendTime(collectorNow, this.options.intervalMs, this.phaseMs) - collectorNow;
      try {
        await sleep(Math.max(0, wait - (Date.now() - started)), undefined, { signal });
      } catch {
        break; // aborted
      }
    }
    const done = await Promise.all(results);
    this.agents.destroy();
    return done;
  }

  /** One beacon: signed, tried on each collector in turn within the deadline. Never throws. */
  async attempt(stop?: AbortSignal): Promise<AttemptResult> {
    const { state } = this.options;
    const clock = this.now();
    const sentAt = beaconTime(clock);
    const { seq, saved } = state.nextSeq(clock.getTime());
    try {
      await saved;
    } catch (err) {
      this.emit({ kind: 'state-error', message: stateMessage(state.file, err) });
    }
    const sentMs = parseBeaconTime(sentAt);
    const missed = state.missed.filter((t) => parseBeaconTime(t) < sentMs);
    const beacon: Beacon = {
      v: 1,
      probe_key: this.options.key.publicKeyBase64,
      seq,
      sent_at: sentAt,
      cc: this.options.cc,
      asn: this.options.asn,
      ...(this.options.region ? { region: this.options.region } : {}),
      missed,
    };
    const signature = sign(null, beaconSigningBytes(beacon), this.options.key.privateKey).toString('base64');
    const body = Buffer.from(beaconBody({ beacon, signature }), 'utf8');

    const deadline = AbortSignal.timeout(this.attemptMs);
    const signal = stop ? AbortSignal.any([stop, deadline]) : deadline;
    const reasons: string[] = [];
    let refused: { collector: string; reason: string } | null = null;
    for (const collector of this.options.collectors) {
      if (signal.aborted) {
        reasons.push(`${collector.base}: no time left in this attempt`);
        continue;
      }
      const localSent = Date.now();
      try {
        const answer = await post(beaconEndpoint(collector), body, {
          agents: this.agents,
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          idleTimeoutMs: this.attemptMs,
          signal,
        });
        const text = answer.body.toString('utf8');
        if (answer.status === 202 || answer.status === 200) {
          this.learnClock(text, localSent, Date.now());
          try {
            await state.delivered(missed, sentAt);
          } catch (err) {
            this.emit({ kind: 'state-error', message: stateMessage(state.file, err) });
          }
          return this.emit({
            kind: 'delivered',
            seq,
            collector: collector.base,
            missedDelivered: missed.length,
            duplicate: /"duplicate"\s*:\s*true/.test(text),
          });
        }
        const reason = `${answer.status} ${answer.statusText}${errorOf(text)}`.trim();
        // 408, 429 and 5xx: not now; other 4xx: this collector will not take this beacon.
        if (answer.status >= 400 && answer.status < 500 && answer.status !== 408 && answer.status !== 429) {
          refused = { collector: collector.base, reason };
        } else {
          reasons.push(`${collector.base}: ${reason}`);
        }
      } catch (err) {
        if (stop?.aborted) return this.emit({ kind: 'stopped', seq });
        const why = deadline.aborted
          ? 'timed out (the network may be down or blocked)'
          : err instanceof NetworkError
            ? err.message
            : (err as Error).message;
        reasons.push(`${collector.base}: ${why}`);
      }
    }
    if (stop?.aborted) return this.emit({ kind: 'stopped', seq });
    // A collector answered: the network works; this beacon is not a missed attempt.
    if (refused) return this.emit({ kind: 'refused', seq, ...refused });
    try {
      await state.recordMissed(sentAt);
    } catch (err) {
      this.emit({ kind: 'state-error', message: stateMessage(state.file, err) });
    }
    return this.emit({ kind: 'missed', seq, reasons, pending: state.missed.length });
  }

  /** The collector's `server_time`, against the middle of the exchange on our clock. */
  private learnClock(text: string, sentMs: number, receivedMs: number): void {
    try {
      const serverTime = (JSON.parse(text) as { server_time?: unknown }).server_time;
      const serverMs = typeof serverTime === 'string' ? Date.parse(serverTime) : Number.NaN;
      if (Number.isFinite(serverMs)) this.clockOffsetMs = serverMs - (sentMs + receivedMs) / 2;
    } catch {
      // An answer without a time: keep the last offset.
    }
  }

  private emit<E extends BeaconEvent>(event: E): E['kind'] {
    this.options.onEvent?.(event);
    return event.kind;
  }
}

function errorOf(text: string): string {
  try {
    const error = (JSON.parse(text) as { error?: unknown }).error;
    if (typeof error === 'string') return `: ${error.slice(0, 300)}`;
  } catch {
    // Not JSON: a proxy's page.
  }
  return '';
}

function stateMessage(file: string, err: unknown): string {
  return `cannot write ${file}: ${(err as Error).message}`;
}
