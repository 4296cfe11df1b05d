/**
 * A connected TCP socket, optionally upgraded to TLS, that settles its byte counts into the
 * trace when it closes and records them as `read`/`write` network events.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { formatEndpoint } from './endpoint.js';
import type { Closable, Trace } from './trace.js';

export class Connection implements Closable {
  /** The stream HTTP is spoken over: the TCP socket, or the TLS socket after a handshake. */
  stream: Socket | TLSSocket;
  /** ALPN protocol negotiated by the TLS handshake; null for plain TCP. */
  alpn: string | null = null;
  private firstError: Error | undefined;
  private readonly closed: Promise<void>;

  constructor(
    readonly raw: Socket,
    readonly ip: string,
    readonly port: number,
    readonly transactionId: number,
    readonly tags: string[],
    readonly trace: Trace,
    readonly t0: number,
  ) {
    this.stream = raw;
    this.watch(raw);
    this.closed = new Promise((resolve) => {
      raw.once('close', () => {
        this.settle();
        resolve();
      });
    });
    trace.track(this);
  }

  get address(): string {
    return formatEndpoint(this.ip, this.port);
  }

  get secure(): boolean {
    return this.alpn !== null;
  }

  /** The first error seen on the socket: a reset shows up here before any higher-level error. */
  socketError(): Error | undefined {
    return this.firstError;
  }

  /** Called by the TLS handshake once it succeeded. */
  upgrade(stream: TLSSocket, alpn: string): void {
    this.stream = stream;
    this.alpn = alpn;
    this.watch(stream);
  }

  close(): Promise<void> {
    this.stream.destroy();
    this.raw.destroy();
    return this.closed;
  }

  private watch(stream: Socket): void {
    // A listener also keeps an unexpected error from crashing the process.
    stream.on('error', (err) => {
      this.firstError ??= err;
    });
  }

  /**
   * The raw socket counts the bytes on the wire (TLS records included, even once TLS owns the
   * handle), and keeps the totals after it is destroyed.
   */
  private settle(): void {
    const sent = this.raw.bytesWritten;
    const received = this.raw.bytesRead;
    this.trace.addBytes(sent, received);
    this.trace.untrack(this);
    const t = this.trace.elapsed();
    for (const [operation, num] of [
      ['write', sent],
      ['read', received],
    ] as const) {
      this.trace.networkEvents.push({
        address: this.address,
        failure: null,
        num_bytes: num,
        operation,
        proto: 'tcp',
        t0: this.t0,
        t,
        tags: [...this.tags],
        transaction_id: this.transactionId,
      });
    }
  }
}
