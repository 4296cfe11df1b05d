/**
 * The user-facing outcome of one Web Connectivity measurement, read from OONI's `blocking` and
 * `accessible` keys plus our `x_mechanism`: the words the progress lines and the summary use.
 */
import type { WebConnectivityMeasurement } from '@pharos/core';

export type Outcome =
  | { kind: 'accessible' }
  | { kind: 'blocked'; blocking: string }
  | { kind: 'website-down' }
  | { kind: 'unknown' }
  | { kind: 'network-down' };

export function outcomeOf(measurement: WebConnectivityMeasurement): Outcome {
  const keys = measurement.test_keys;
  // The other experiments state their verdict directly (x_verdict: ok|blocked|throttled|down|null).
  const verdict = (keys as { x_verdict?: unknown }).x_verdict;
  if (verdict !== undefined && measurement.test_name !== 'web_connectivity')
    return verdictOutcome(verdict, keys.x_mechanism);
  // Checked first: when the network is down nothing else in the verdict is about the site.
  if (keys.x_mechanism === 'network.down') return { kind: 'network-down' };
  if (typeof keys.blocking === 'string') return { kind: 'blocked', blocking: keys.blocking };
  if (keys.blocking === false && keys.accessible === true) return { kind: 'accessible' };
  // OONI's reading of blocking=false, accessible=false: the control failed too, the site is down.
  if (keys.blocking === false && keys.accessible === false) return { kind: 'website-down' };
  return { kind: 'unknown' };
}

function verdictOutcome(verdict: unknown, mechanism: string | null): Outcome {
  if (mechanism === 'network.down') return { kind: 'network-down' };
  switch (verdict) {
    case 'ok':
      return { kind: 'accessible' };
    case 'blocked':
      return { kind: 'blocked', blocking: mechanism ?? 'blocked' };
    case 'throttled':
      return { kind: 'blocked', blocking: `throttled${mechanism ? ` ${mechanism}` : ''}` };
    case 'down':
      return { kind: 'website-down' };
    default:
      return { kind: 'unknown' };
  }
}

export function describeOutcome(outcome: Outcome): string {
  switch (outcome.kind) {
    case 'accessible':
      return 'accessible';
    case 'blocked':
      return `blocked ${outcome.blocking}`;
    case 'website-down':
      return 'website down';
    case 'unknown':
      return 'could not tell';
    case 'network-down':
      return 'network down';
  }
}
