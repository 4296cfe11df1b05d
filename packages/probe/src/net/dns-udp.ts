/**
 * Plain DNS over UDP to a given resolver (`ip:port`): an A and an AAAA query from one socket,
 * as two df-002 entries sharing a transaction id, engine `udp`, with the raw reply.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import {
  type DecodedResponse,
  decodeResponse,
  encodeQuery,
  newQueryId,
  QUERY_TYPES,
  type QueryType,
  wireQuery,
} from './dns-message.js';
import { DEFAULT_DNS_TIMEOUT_MS, type LookupOptions, type LookupResult } from './dns-system.js';
import { formatEndpoint, parseEndpoint } from './endpoint.js';
import { interruptedError, netFailure, timeoutError } from './failure.js';

interface Pending {
  type: QueryType;
  id: number;
  t0: number;
  t?: number;
  response?: Buffer;
  decoded?: DecodedResponse;
  failure?: string;
}

export async function lookupUDP(
  hostname: string,
  resolver: string,
  options: LookupOptions,
): Promise<LookupResult> {
  const { trace } = options;
  const tags = [...(options.tags ?? [])];
  const transactionId = trace.nextTransactionId();
  const endpoint = parseEndpoint(resolver);
  const pending: Pending[] = QUERY_TYPES.map((type) => ({ type, id: newQueryId(), t0: trace.elapsed() }));
  if (!endpoint) {
    for (const p of pending) p.failure = `unknown_failure: resolver address ${resolver} is not ip:port`;
  } else {
    await exchange(hostname, endpoint, pending, options, tags, transactionId);
  }
  const addresses: string[] = [];
  for (const p of pending) {
    trace.queries.push(
      wireQuery({
        engine: 'udp',
        hostname,
        query_type: p.type,
        resolver_address: resolver,
        t0: p.t0,
        t: p.t ?? trace.elapsed(),
        transaction_id: transactionId,
        tags: [...tags],
        response: p.response,
        decoded: p.decoded,
        failure: p.failure ?? p.decoded?.failure ?? null,
      }),
    );
    if (p.decoded) addresses.push(...p.decoded.addresses);
  }
  const failures = pending.map((p) => p.failure ?? p.decoded?.failure ?? null);
  // Like getaddrinfo: success if either family has addresses; else the A query's failure.
  return addresses.length > 0
    ? { addresses, failure: null }
    : { addresses: [], failure: failures[0] ?? 'dns_no_answer' };
}

function exchange(
  hostname: string,
  endpoint: { ip: string; port: number },
  pending: Pending[],
  options: LookupOptions,
  tags: string[],
  transactionId: number,
): Promise<void> {
  const { trace, signal } = options;
  const address = formatEndpoint(endpoint.ip, endpoint.port);
  return new Promise<void>((resolve) => {
    const socket: Socket = createSocket(isIP(endpoint.ip) === 6 ? 'udp6' : 'udp4');
    let done = false;
    const finish = (failure?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      for (const p of pending) {
        if (p.decoded === undefined && p.failure === undefined) {
          p.failure = failure ?? 'generic_timeout_error';
          p.t = trace.elapsed();
        }
      }
      socket.close();
      resolve();
    };
    const onAbort = () => finish(netFailure(interruptedError()));
    const timer = setTimeout(
      () => finish(netFailure(timeoutError('DNS over UDP'))),
      options.timeoutMs ?? DEFAULT_DNS_TIMEOUT_MS,
    );
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });

    socket.on('error', (err) => finish(netFailure(err)));
    socket.on('message', (message: Buffer) => {
      trace.addBytes(0, message.length);
      event('read_from', message.length);
      let decoded: DecodedResponse | undefined;
      let malformed = false;
      for (const p of pending) {
        if (p.decoded || p.failure) continue;
        try {
          decoded = decodeResponse(message, p.type);
        } catch {
          malformed = true;
          continue;
        }
        // Replies with an id or question we did not ask are ignored, as a stub resolver does.
        if (decoded.id !== p.id || decoded.questionType !== p.type) continue;
        p.decoded = decoded;
        p.response = message;
        p.t = trace.elapsed();
      }
      if (malformed && decoded === undefined) {
        for (const p of pending) if (!p.decoded && !p.failure) p.failure = 'dns_server_misbehaving';
      }
      if (pending.every((p) => p.decoded || p.failure)) finish();
    });
    // A connected UDP socket surfaces ICMP port unreachable as ECONNREFUSED.
    socket.connect(endpoint.port, endpoint.ip, () => {
      for (const p of pending) {
        const query = encodeQuery(hostname, p.type, p.id);
        p.t0 = trace.elapsed();
        socket.send(query, (err) => {
          if (err) return finish(netFailure(err));
          trace.addBytes(query.length, 0);
          event('write_to', query.length);
        });
      }
    });

    function event(operation: string, numBytes: number) {
      const t = trace.elapsed();
      trace.networkEvents.push({
        address,
        failure: null,
        num_bytes: numBytes,
        operation,
        proto: 'udp',
        t0: t,
        t,
        tags: [...tags],
        transaction_id: transactionId,
      });
    }
  });
}
