/**
 * A trace collects what one measurement observed, in OONI's shapes, against one clock.
 *
 * Every network primitive takes a trace and appends its observation to it, so the experiment
 * assembles test keys from the trace instead of threading results around. Traffic that is not
 * part of the experiment proper (the control request, the DoH transport) goes to a sidecar
 * trace: it shares the clock, the transaction ids and the byte counters (the volunteer pays for
 * those bytes too) but keeps its observations apart.
 */
import { performance } from 'node:perf_hooks';
import type { DNSQuery, HTTPTransaction, NetworkEvent, TCPConnectResult, TLSHandshake } from '@pharos/core';

/** State shared by a trace and its sidecars. */
interface SharedState {
  zero: number;
  nextTransactionId: number;
  bytesSent: number;
  bytesReceived: number;
  /** Connections not yet closed: their bytes are only final once they are. */
  open: Set<Closable>;
}

export interface Closable {
  close(): Promise<void>;
}

export class Trace {
  readonly queries: DNSQuery[] = [];
  readonly tcpConnect: TCPConnectResult[] = [];
  readonly tlsHandshakes: TLSHandshake[] = [];
  /** In the order the requests were made (oldest first); OONI's format wants them reversed. */
  readonly requests: HTTPTransaction[] = [];
  readonly networkEvents: NetworkEvent[] = [];
  private readonly shared: SharedState;

  constructor(shared?: SharedState) {
    this.shared = shared ?? {
      zero: performance.now(),
      nextTransactionId: 1,
      bytesSent: 0,
      bytesReceived: 0,
      open: new Set(),
    };
  }

  /** Seconds since the trace started, with microsecond resolution as OONI writes them. */
  elapsed(): number {
    return Math.round((performance.now() - this.shared.zero) * 1000) / 1e6;
  }

  nextTransactionId(): number {
    return this.shared.nextTransactionId++;
  }

  /** A trace on the same clock and counters whose observations are kept apart. */
  sidecar(): Trace {
    return new Trace(this.shared);
  }

  addBytes(sent: number, received: number): void {
    this.shared.bytesSent += sent;
    this.shared.bytesReceived += received;
  }

  get bytesSent(): number {
    return this.shared.bytesSent;
  }

  get bytesReceived(): number {
    return this.shared.bytesReceived;
  }

  /** Remember an open connection so closeAll can settle the byte counts. */
  track(connection: Closable): void {
    this.shared.open.add(connection);
  }

  untrack(connection: Closable): void {
    this.shared.open.delete(connection);
  }

  /** Close every connection still open (of this trace and its sidecars) and wait until closed. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.shared.open].map((c) => c.close()));
  }
}

/** What every primitive needs besides its own arguments. */
export interface OperationContext {
  trace: Trace;
  /** OONI tags for the observation (`classic`, `depth=0`, …). */
  tags?: string[];
  /** Aborts the operation; it then fails with `interrupted`. */
  signal?: AbortSignal;
}
