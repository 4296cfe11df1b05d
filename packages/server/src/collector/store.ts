/**
 * The one method the collector needs from the evidence store (../evidence), whose types it hands
 * over; keeping the collector's view this narrow lets its tests run against a small in-memory store.
 */

import type { AppendResult, IncomingMeasurement } from '../evidence/types.js';

export type { AppendResult, IncomingMeasurement };

export interface MeasurementSink {
  /** Resolves once the whole batch is durably stored and in the log, in the batch's order. */
  append(batch: IncomingMeasurement[]): Promise<AppendResult[]>;
}
