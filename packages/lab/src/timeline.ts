/**
 * A timeline run's schedule: the censor changes of `timeline:` (each with the full set of rules
 * active after it, which is what the router is given) and the churn's offline/online steps, in
 * time order. Planning is pure and deterministic (churn draws from a seeded generator), so the
 * schedule can be tested without a lab; `runSchedule` carries it out against a clock.
 */

import { seededRandom } from '@pharos/core';
import type { CensorRule, ObservatorySpec } from './spec.js';
import { describeRule } from './world/censor-plan.js';

export type ScheduledEvent =
  | {
      at: number;
      kind: 'censor';
      /** Every rule active after this step (the router's whole rule set). */
      rules: CensorRule[];
      /** What changed, for the log. */
      description: string;
    }
  | { at: number; kind: 'offline' | 'online'; probe: string; description: string };

function ruleLabel(rule: CensorRule): string {
  return `${rule.name ? `${rule.name}: ` : ''}${describeRule(rule)}`;
}

/** The whole schedule, in time order (at equal times: censor changes before churn). */
export function planSchedule(spec: ObservatorySpec, initial: CensorRule[]): ScheduledEvent[] {
  const events: ScheduledEvent[] = [];
  let active = [...initial];
  for (const entry of spec.timeline) {
    const lifted =
      entry.lift === 'all'
        ? active
        : active.filter((r) => r.name !== undefined && entry.lift.includes(r.name));
    active = entry.lift === 'all' ? [] : active.filter((r) => !lifted.includes(r));
    active = [...active, ...entry.censor];
    const parts = [
      ...(entry.lift === 'all' ? ['lift all'] : lifted.map((r) => `lift ${r.name}`)),
      ...entry.censor.map((r) => `apply ${ruleLabel(r)}`),
    ];
    events.push({ at: entry.at, kind: 'censor', rules: active, description: parts.join('; ') });
  }
  const churn = spec.churn;
  if (churn) {
    const random = seededRandom(churn.seed);
    const names = spec.probes.map((p) => p.name);
    // Back online before the run ends, so the last step is observed too.
    for (let at = churn.every; at + churn.offline < spec.duration; at += churn.every) {
      const pool = [...names];
      for (let n = 0; n < churn.probes; n++) {
        const [probe] = pool.splice(Math.floor(random() * pool.length), 1);
        const why = `churn: ${probe} offline for ${churn.offline}s`;
        events.push({ at, kind: 'offline', probe: probe!, description: why });
        events.push({
          at: at + churn.offline,
          kind: 'online',
          probe: probe!,
          description: `churn: ${probe} back`,
        });
      }
    }
  }
  const order = (e: ScheduledEvent) => (e.kind === 'censor' ? 0 : 1);
  return events
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.at - b.e.at || order(a.e) - order(b.e) || a.i - b.i)
    .map(({ e }) => e);
}

/** When an event was planned and when it was carried out (seconds since the start). */
export interface AppliedEvent {
  event: ScheduledEvent;
  plannedAt: number;
  appliedAt: number;
  /** Why it could not be carried out, if it could not. */
  error?: string;
}

export interface ScheduleClock {
  /** Milliseconds since the start of the run. */
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock = (startMs: number): ScheduleClock => ({
  now: () => Date.now() - startMs,
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, Math.max(0, ms));
      function done() {
        signal?.removeEventListener('abort', done);
        clearTimeout(timer);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    }),
});

/**
 * Carries the events out in order, each at its time (never before; late when the previous one took
 * longer). The time recorded is the moment the change took effect (after `apply` resolved), which
 * is what an incident's opening is measured from. A failing event is recorded and the rest go on.
 */
export async function runSchedule(
  events: ScheduledEvent[],
  apply: (event: ScheduledEvent) => Promise<void>,
  clock: ScheduleClock,
  signal?: AbortSignal,
): Promise<AppliedEvent[]> {
  const done: AppliedEvent[] = [];
  for (const event of events) {
    if (signal?.aborted) break;
    const wait = event.at * 1000 - clock.now();
    if (wait > 0) await clock.sleep(wait, signal);
    if (signal?.aborted) break;
    try {
      await apply(event);
      done.push({ event, plannedAt: event.at, appliedAt: clock.now() / 1000 });
    } catch (error) {
      done.push({
        event,
        plannedAt: event.at,
        appliedAt: clock.now() / 1000,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  return done;
}
