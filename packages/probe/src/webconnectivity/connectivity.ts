/**
 * The connectivity step: TCP connect (and TLS handshake for https, or on :443 to validate the
 * addresses of an http URL) to every address, all at once. The first connection that is ready
 * for the page is handed to the HTTP step, so a blocked handshake costs one timeout, not two.
 */
import type { Connection } from '../net/connection.js';
import { tcpConnect } from '../net/tcp.js';
import { tlsHandshake } from '../net/tls.js';
import type { Trace } from '../net/trace.js';
import type { ResolvedTimeouts } from './options.js';

export interface EndpointPlan {
  ip: string;
  port: number;
  tls: boolean;
  /** Whether this connection may carry the page (OONI's `fetch_body` tag). */
  fetchBody: boolean;
}

export interface ConnectivityOptions {
  trace: Trace;
  serverName: string;
  /** Tags for the plan, e.g. classic, depth=0. */
  tags: (plan: EndpointPlan) => string[];
  timeouts: ResolvedTimeouts;
  extraCA?: string[];
  signal?: AbortSignal;
}

export interface Connectivity {
  /** The first connection ready to carry the page; its failure otherwise. */
  usable: Promise<
    { connection: Connection } | { connection: null; failure: string; operation: 'connect' | 'tls_handshake' }
  >;
  /** Settles when every attempt is over and every connection not handed out is closed. */
  settled: Promise<void>;
}

export function connectAll(plans: EndpointPlan[], options: ConnectivityOptions): Connectivity {
  let handedOut: Connection | null = null;
  let resolveUsable: (v: Awaited<Connectivity['usable']>) => void = () => {};
  const usable = new Promise<Awaited<Connectivity['usable']>>((resolve) => {
    resolveUsable = resolve;
  });

  const attempts = plans.map((plan) =>
    attempt(plan).catch((err: unknown) => {
      // A bug must not leave the HTTP step waiting for a connection that will never come.
      const failure = `unknown_failure: ${err instanceof Error ? err.message : String(err)}`;
      return { plan, failure, operation: 'connect' as const };
    }),
  );

  async function attempt(plan: EndpointPlan) {
    const tcp = await tcpConnect(plan.ip, plan.port, {
      trace: options.trace,
      tags: options.tags(plan),
      timeoutMs: options.timeouts.connect,
      signal: options.signal,
    });
    if (!tcp.connection)
      return { plan, failure: tcp.failure ?? 'unknown_failure', operation: 'connect' as const };
    let connection: Connection | null = tcp.connection;
    if (plan.tls) {
      const tls = await tlsHandshake(connection, {
        serverName: options.serverName,
        extraCA: options.extraCA,
        timeoutMs: options.timeouts.tls,
        signal: options.signal,
      });
      if (!tls.connection)
        return { plan, failure: tls.failure ?? 'unknown_failure', operation: 'tls_handshake' as const };
      connection = tls.connection;
    }
    if (plan.fetchBody && handedOut === null) {
      handedOut = connection;
      resolveUsable({ connection });
    } else {
      await connection.close();
    }
    return { plan, failure: null, operation: null };
  }

  const settled = Promise.all(attempts).then((results) => {
    if (handedOut !== null) return;
    // No connection could carry the page: the HTTP step fails as the first one did.
    const first = results.find((r) => r.plan.fetchBody && r.failure !== null);
    resolveUsable({
      connection: null,
      failure: first?.failure ?? 'dns_no_answer',
      operation: first?.operation ?? 'connect',
    });
  });
  return { usable, settled };
}
