/**
 * The end-of-run report on stdout: how many URLs had each outcome, one row per URL that was not
 * plainly accessible, and what the run cost. A warning when the test helper never answered,
 * because then no verdict in the file can be trusted and the table alone would not say why.
 */
import type { WebConnectivityMeasurement } from '@pharos/core';
import type { InputURL } from '../input/test-list.js';
import { describeOutcome, type Outcome } from './outcome.js';
import { formatTable } from './table.js';
import { formatBytes, formatDuration } from './units.js';

export interface FinishedURL {
  input: InputURL;
  measurement: WebConnectivityMeasurement;
  outcome: Outcome;
}

export interface RunReport {
  /** URLs the run set out to measure. */
  planned: number;
  finished: FinishedURL[];
  /** URLs whose measurement raised an error instead of producing a measurement. */
  errors: number;
  elapsedMs: number;
  outputPath: string;
  interrupted: boolean;
}

const OUTCOME_ORDER: Outcome['kind'][] = ['blocked', 'website-down', 'unknown', 'network-down', 'accessible'];

export function formatSummary(report: RunReport): string {
  const parts: string[] = [formatOutcomeCounts(report)];
  const notAccessible = report.finished
    .filter((f) => f.outcome.kind !== 'accessible')
    .sort(
      (a, b) =>
        OUTCOME_ORDER.indexOf(a.outcome.kind) - OUTCOME_ORDER.indexOf(b.outcome.kind) ||
        describeOutcome(a.outcome).localeCompare(describeOutcome(b.outcome)) ||
        a.input.url.localeCompare(b.input.url),
    );
  if (notAccessible.length > 0) parts.push(formatURLRows(notAccessible));

  let sent = 0;
  let received = 0;
  for (const { measurement } of report.finished) {
    // Measurements from other tools may lack our x_ keys.
    sent += measurement.test_keys.x_bytes_sent ?? 0;
    received += measurement.test_keys.x_bytes_received ?? 0;
  }
  const measured = `${report.finished.length} of ${report.planned} URLs`;
  const status = report.interrupted ? `Interrupted: measured ${measured}` : `Measured ${measured}`;
  parts.push(
    `${status} in ${formatDuration(report.elapsedMs)}; sent ${formatBytes(sent)}, received ${formatBytes(received)}.\n` +
      `Measurements: ${report.outputPath}\n`,
  );
  return parts.join('\n');
}

function formatOutcomeCounts(report: RunReport): string {
  const count = (predicate: (o: Outcome) => boolean) =>
    report.finished.filter((f) => predicate(f.outcome)).length;
  const blockedKinds = new Map<string, number>();
  for (const { outcome } of report.finished) {
    if (outcome.kind === 'blocked')
      blockedKinds.set(outcome.blocking, (blockedKinds.get(outcome.blocking) ?? 0) + 1);
  }
  const rows: string[][] = [['accessible', String(count((o) => o.kind === 'accessible'))]];
  if (blockedKinds.size === 0) rows.push(['blocked', '0']);
  for (const [kind, n] of [...blockedKinds].sort(([a], [b]) => a.localeCompare(b)))
    rows.push([`blocked (${kind})`, String(n)]);
  rows.push(
    ['website down', String(count((o) => o.kind === 'website-down'))],
    ['could not tell', String(count((o) => o.kind === 'unknown'))],
    ['network down', String(count((o) => o.kind === 'network-down'))],
  );
  if (report.errors > 0) rows.push(['failed to measure', String(report.errors)]);
  return formatTable(['outcome', 'URLs'], rows, ['left', 'right']);
}

function formatURLRows(finished: FinishedURL[]): string {
  const rows = finished.map(({ input, measurement, outcome }) => {
    const keys = measurement.test_keys;
    return [
      input.url,
      input.categoryCode ?? '',
      describeOutcome(outcome),
      // Experiments other than Web Connectivity have no blocking/accessible keys.
      keys.blocking === undefined ? '-' : String(keys.blocking),
      keys.x_mechanism ?? '',
      keys.accessible === undefined ? '-' : String(keys.accessible),
      keys.x_confirmed ? 'yes' : 'no',
    ];
  });
  return formatTable(
    ['URL', 'category', 'outcome', 'blocking', 'mechanism', 'accessible', 'confirmed'],
    rows,
  );
}

/**
 * Non-null when every measurement lacks the control: the helper is unreachable or broken, and
 * the user must know before reading any verdict.
 */
export function controlFailureWarning(finished: FinishedURL[], testHelpers: string[]): string | null {
  // Only measurements that ask the helper every time (Web Connectivity's) have a control_failure.
  finished = finished.filter((f) => 'control_failure' in f.measurement.test_keys);
  if (finished.length === 0) return null;
  const failures = new Map<string, number>();
  for (const { measurement } of finished) {
    const failure = measurement.test_keys.control_failure;
    if (failure === null || failure === undefined) return null;
    failures.set(failure, (failures.get(failure) ?? 0) + 1);
  }
  const listed = [...failures]
    .sort(([, a], [, b]) => b - a)
    .map(([failure, n]) => (failures.size === 1 ? failure : `${failure} (${n})`))
    .join(', ');
  const helpers = testHelpers.join(', ');
  const scope = finished.length === 1 ? 'the only URL' : `all ${finished.length} URLs`;
  return (
    `warning: the test helper never answered: ${helpers} failed for ${scope} with ${listed}.\n` +
    '  Without its view (the control) no verdict can be trusted. Check that the helper is reachable from\n' +
    '  this network, or give another one with --th URL.\n'
  );
}

/**
 * One line per app or platform measurement that could not tell because the test helper never
 * answered: with every endpoint failing too, the likeliest reason is that this machine is offline,
 * and "could not tell" alone would not say so.
 */
export function experimentControlWarnings(finished: FinishedURL[], testHelpers: string[]): string[] {
  const lines: string[] = [];
  for (const { measurement } of finished) {
    const keys = measurement.test_keys as unknown as Record<string, unknown>;
    if (!('x_verdict' in keys) || keys.x_verdict !== null || typeof keys.x_control_failure !== 'string')
      continue;
    const failed = Array.isArray(keys.x_failed_endpoints) ? keys.x_failed_endpoints.length : 0;
    const endpoints = Array.isArray(keys.x_endpoints) ? keys.x_endpoints.length : failed;
    const offline =
      failed > 0 && failed === endpoints ? '; every endpoint failed too: is this machine online?' : '';
    lines.push(
      `warning: ${measurement.test_name}: could not tell blocked from down: the test helper (${testHelpers.join(', ')}) ` +
        `failed with ${keys.x_control_failure}${offline}\n`,
    );
  }
  return lines;
}
