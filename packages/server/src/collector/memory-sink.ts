/**
 * An in-memory MeasurementSink: dedupes by id and numbers entries in order, as the evidence store
 * does, without disk or log. For tests of the collector and for trying it without a data dir.
 */
import type { AppendResult, IncomingMeasurement, MeasurementSink } from './store.js';

export class MemorySink implements MeasurementSink {
  readonly entries: IncomingMeasurement[] = [];
  private readonly byId = new Map<string, number>();
  /** When set, append waits for it (to hold a batch in flight) or fails with it. */
  gate: Promise<void> | undefined;

  async append(batch: IncomingMeasurement[]): Promise<AppendResult[]> {
    if (this.gate) await this.gate;
    return batch.map((m) => {
      const existing = this.byId.get(m.id);
      if (existing !== undefined) return { id: m.id, log_index: existing, duplicate: true, late: false };
      const index = this.entries.length;
      this.entries.push(m);
      this.byId.set(m.id, index);
      return { id: m.id, log_index: index, duplicate: false, late: false };
    });
  }

  get(id: string): IncomingMeasurement | undefined {
    const index = this.byId.get(id);
    return index === undefined ? undefined : this.entries[index];
  }
}
