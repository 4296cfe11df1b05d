/**
 * Pharos's verdict for an app or platform, from its endpoints (docs/experiments.md):
 *
 * - every endpoint reached → `ok`;
 * - an endpoint that fails here while the test helper reaches it from outside is `blocked`, one
 *   that fails for the helper too is `down`, one without a helper answer is unknown;
 * - the experiment is `blocked` when any counted endpoint is blocked (the mechanism is the most
 *   frequent among them); else null ("could not tell") when any failure is unknown; else `down`
 *   when every measured endpoint failed, `ok` when some still work;
 * - nothing measured (the data budget ran out first) → null.
 *
 * The messaging apps count only the failures OONI's rule for them counts (their modules say
 * which); the platforms count every endpoint.
 */
import type { AppVerdict } from '@pharos/core';
import type { EndpointRecord } from './engine.js';

export interface Decision {
  verdict: AppVerdict;
  mechanism: string | null;
  /** Every failed endpoint, counted or not, in order. */
  failed: string[];
  /** The counted endpoints found blocked. */
  blocked: string[];
}

/** Sets each record's own verdict from its status and control. */
export function endpointVerdicts(records: EndpointRecord[]): void {
  for (const r of records) {
    if (r.status === 'ok') r.verdict = 'ok';
    else if (r.status === 'skipped') r.verdict = null;
    else r.verdict = r.control === 'reachable' ? 'blocked' : r.control === 'unreachable' ? 'down' : null;
  }
}

/** The most frequent value, the earliest on ties. */
export function mostFrequent(values: string[]): string | null {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: string | null = null;
  let bestCount = 0;
  for (const [v, n] of counts)
    if (n > bestCount) {
      best = v;
      bestCount = n;
    }
  return best;
}

export function decide(records: EndpointRecord[]): Decision {
  endpointVerdicts(records);
  const failed = records.filter((r) => r.status === 'failed' && !r.informational).map((r) => r.name);
  const measured = records.filter((r) => r.status !== 'skipped');
  const none = { failed, blocked: [] as string[], mechanism: null };
  if (measured.length === 0) return { ...none, verdict: null };
  const counted = measured.filter((r) => r.counted);
  const failures = counted.filter((r) => r.status === 'failed');
  if (failures.length === 0) return { ...none, verdict: 'ok' };
  const blocked = failures.filter((r) => r.verdict === 'blocked');
  if (blocked.length > 0)
    return {
      verdict: 'blocked',
      mechanism: mostFrequent(blocked.flatMap((r) => (r.mechanism ? [r.mechanism] : []))),
      failed,
      blocked: blocked.map((r) => r.name),
    };
  if (failures.some((r) => r.verdict === null)) return { ...none, verdict: null };
  return { ...none, verdict: failures.length === counted.length ? 'down' : 'ok' };
}
