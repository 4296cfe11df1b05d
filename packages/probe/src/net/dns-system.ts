/**
 * The system resolver (getaddrinfo via dns.lookup), recorded as OONI records it: one query of
 * type ANY with engine `getaddrinfo` and an empty resolver address. Its traffic goes through
 * libc, so its bytes cannot be counted here.
 */
import { lookup } from 'node:dns/promises';
import type { DNSAnswer } from '@pharos/core';
import { deadline, netFailure } from './failure.js';
import type { OperationContext } from './trace.js';

/** OONI's per-lookup timeout. */
export const DEFAULT_DNS_TIMEOUT_MS = 4_000;

export interface LookupOptions extends OperationContext {
  timeoutMs?: number;
}

export interface LookupResult {
  /** IPv4 and IPv6 addresses, in the resolver's order, without duplicates. */
  addresses: string[];
  failure: string | null;
}

export type Lookup = (hostname: string, options: LookupOptions) => Promise<LookupResult>;

export async function lookupSystem(hostname: string, options: LookupOptions): Promise<LookupResult> {
  const { trace } = options;
  const transactionId = trace.nextTransactionId();
  const t0 = trace.elapsed();
  let addresses: string[] = [];
  let failure: string | null = null;
  try {
    const found = await deadline(
      lookup(hostname, { all: true, verbatim: true }),
      options.timeoutMs ?? DEFAULT_DNS_TIMEOUT_MS,
      'DNS lookup',
      options.signal,
    );
    addresses = [...new Set(found.map((a) => a.address))];
    if (addresses.length === 0) failure = 'dns_no_answer';
  } catch (err) {
    failure = netFailure(err);
  }
  const answers: DNSAnswer[] = addresses.map((ip) =>
    ip.includes(':')
      ? { answer_type: 'AAAA', ipv6: ip, ttl: null }
      : { answer_type: 'A', ipv4: ip, ttl: null },
  );
  trace.queries.push({
    answers: failure === null ? answers : null,
    engine: 'getaddrinfo',
    failure,
    hostname,
    query_type: 'ANY',
    resolver_address: '',
    resolver_hostname: null,
    resolver_port: null,
    t0,
    t: trace.elapsed(),
    tags: [...(options.tags ?? [])],
    transaction_id: transactionId,
  });
  return { addresses: failure === null ? addresses : [], failure };
}
