/**
 * The columns the store keeps beside each measurement body: what it is (test, input, start time),
 * where it claims to come from and where the collector saw it come from, and whether it arrived
 * late. They are copies for queries; the body is the evidence.
 */
import type { MeasurementRow } from './database.js';
import { envelopeOf, type IncomingMeasurement } from './types.js';

/** OONI's "YYYY-MM-DD hh:mm:ss" (UTC) as a Date, or null when it is not that. */
export function parseOoniTime(value: unknown): Date | null {
  if (typeof value !== 'string') return null;
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(value);
  if (!m) return null;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isNaN(ms) ? null : new Date(ms);
}

/**
 * When the measurement ended: its start plus its runtime. A measurement is late when the collector
 * receives it more than `lateAfterMs` after that (docs/evidence-log.md).
 */
export function lateness(
  measurement: Record<string, unknown>,
  receivedAt: Date,
  lateAfterMs: number,
): { late: boolean; delaySeconds: number | null; startTime: Date | null } {
  const startTime = parseOoniTime(measurement.measurement_start_time);
  if (!startTime) return { late: false, delaySeconds: null, startTime };
  const runtime =
    typeof measurement.test_runtime === 'number' && measurement.test_runtime > 0
      ? measurement.test_runtime
      : 0;
  const endMs = startTime.getTime() + runtime * 1000;
  const delayMs = receivedAt.getTime() - endMs;
  return { late: delayMs > lateAfterMs, delaySeconds: Math.round(delayMs) / 1000, startTime };
}

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** The row stored for a new measurement, but for its log index and where its body is. */
export function measurementRow(
  item: IncomingMeasurement,
  lateAfterMs: number,
): Omit<MeasurementRow, 'logIndex' | 'body'> {
  const envelope = envelopeOf(item);
  const { late, delaySeconds, startTime } = lateness(envelope, item.receivedAt, lateAfterMs);
  return {
    id: item.id,
    probeKey: item.probeKey,
    signature: item.signature,
    scrubbed: item.scrubbed,
    receivedAt: item.receivedAt,
    late,
    uploadDelaySeconds: delaySeconds,
    testName: text(envelope.test_name),
    input: text(envelope.input),
    startTime,
    probeCC: item.network.claimedCC,
    probeASN: item.network.claimedASN,
    derivedCC: item.network.derivedCC,
    derivedASN: item.network.derivedASN,
    locationMismatch: item.network.mismatch,
  };
}
