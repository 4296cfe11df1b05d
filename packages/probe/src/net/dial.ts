/**
 * Open a connection to a URL's origin: resolve, connect to each address in turn until one
 * answers, and do the TLS handshake for https. Used for auxiliary traffic (DoH, the control
 * request) and by the test helper; the experiment itself connects to every address instead.
 */
import { isIP } from 'node:net';
import type { Connection } from './connection.js';
import { type Lookup, lookupSystem } from './dns-system.js';
import { urlHostname, urlPort } from './endpoint.js';
import { tcpConnect } from './tcp.js';
import { tlsHandshake } from './tls.js';
import type { OperationContext } from './trace.js';

export interface DialOptions extends OperationContext {
  /** Default: the system resolver, recorded in the given trace. */
  lookup?: Lookup;
  timeouts?: { dns?: number; connect?: number; tls?: number };
  extraCA?: string[];
  /** Addresses that must not be connected to; they fail with `failure`. */
  refuse?: { test: (ip: string) => boolean; failure: string };
}

export type DialOperation = 'resolve' | 'connect' | 'tls_handshake';

export type DialOutcome =
  | { connection: Connection; failure: null }
  | { connection: null; failure: string; operation: DialOperation };

export async function dialURL(url: URL, options: DialOptions): Promise<DialOutcome> {
  const hostname = urlHostname(url);
  const ctx = { trace: options.trace, tags: options.tags, signal: options.signal };
  let addresses: string[];
  if (isIP(hostname) !== 0) {
    addresses = [hostname];
  } else {
    const lookup = options.lookup ?? lookupSystem;
    const found = await lookup(hostname, { ...ctx, timeoutMs: options.timeouts?.dns });
    if (found.failure !== null) return { connection: null, failure: found.failure, operation: 'resolve' };
    addresses = found.addresses;
  }
  const refuse = options.refuse;
  const allowed = refuse ? addresses.filter((ip) => !refuse.test(ip)) : addresses;
  if (refuse && allowed.length === 0)
    return { connection: null, failure: refuse.failure, operation: 'resolve' };

  let first: { failure: string; operation: DialOperation } | null = null;
  for (const ip of allowed) {
    const tcp = await tcpConnect(ip, urlPort(url), { ...ctx, timeoutMs: options.timeouts?.connect });
    if (!tcp.connection) {
      first ??= { failure: tcp.failure ?? 'unknown_failure: no connection', operation: 'connect' };
      continue;
    }
    if (url.protocol !== 'https:') return { connection: tcp.connection, failure: null };
    const tls = await tlsHandshake(tcp.connection, {
      serverName: hostname,
      extraCA: options.extraCA,
      timeoutMs: options.timeouts?.tls,
      signal: options.signal,
    });
    if (tls.connection) return { connection: tls.connection, failure: null };
    first ??= { failure: tls.failure ?? 'unknown_failure: no connection', operation: 'tls_handshake' };
  }
  return { connection: null, ...(first ?? { failure: 'dns_no_answer', operation: 'resolve' }) };
}
