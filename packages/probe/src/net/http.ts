/**
 * One HTTP/1.1 round trip over an already connected (plain or TLS) socket, recorded as OONI's
 * df-001 transaction. The body is kept up to a cap (OONI's snapshot size, 512 KiB); past it we
 * stop reading and close the connection, so a large page costs the volunteer no more.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { HTTPTransaction, MaybeBinary } from '@pharos/core';
import { maybeBinary, maybeBinaryHeader } from './binary.js';
import type { Connection } from './connection.js';
import { deadline, netFailure } from './failure.js';

export const DEFAULT_HTTP_TIMEOUT_MS = 10_000;
/** OONI's body snapshot size. */
export const DEFAULT_MAX_BODY_BYTES = 1 << 19;

export interface HTTPRoundTripRequest {
  url: URL;
  method?: string;
  /** Sent in this order after Host; Host is derived from the URL. */
  headers: ReadonlyArray<readonly [string, string]>;
  body?: Uint8Array;
  maxBodyBytes?: number;
  /** For the whole exchange: request, headers and body. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface HTTPResponseData {
  status: number;
  /** Raw header lines as received, in order. */
  headers: [string, string][];
  body: Buffer;
  /** The body went past the cap and was cut there. */
  truncated: boolean;
}

export interface HTTPRoundTripOutcome {
  /** Also appended to the connection's trace. */
  transaction: HTTPTransaction;
  /** What was received, even when the exchange failed part way through the body. */
  response: HTTPResponseData | null;
  failure: string | null;
}

/** Performs the exchange and closes the connection afterwards (we send Connection: close). */
export async function httpRoundTrip(
  conn: Connection,
  req: HTTPRoundTripRequest,
): Promise<HTTPRoundTripOutcome> {
  const { trace } = conn;
  const method = req.method ?? 'GET';
  const headers: [string, string][] = [
    ['Host', req.url.host],
    ...req.headers.map(([k, v]): [string, string] => [k, v]),
  ];
  if (req.body) headers.push(['Content-Length', String(req.body.length)]);
  const maxBody = req.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const t0 = trace.elapsed();
  event(conn, 'http_transaction_start', t0, null);

  const received: Received = { status: null, headers: [], chunks: [], size: 0, truncated: false };
  let failure: string | null = null;
  try {
    await deadline(
      exchange(conn, method, req, headers, maxBody, received),
      req.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS,
      'HTTP round trip',
      req.signal,
      () => conn.stream.destroy(),
    );
  } catch (err) {
    failure = netFailure(err, resetSeen(conn));
  }
  await conn.close();

  const t = trace.elapsed();
  // Whatever arrived, even when the exchange failed part way through the body.
  const got: HTTPResponseData | null =
    received.status === null
      ? null
      : {
          status: received.status,
          headers: received.headers,
          body: Buffer.concat(received.chunks, received.size),
          truncated: received.truncated,
        };
  const transaction: HTTPTransaction = {
    network: 'tcp',
    address: conn.address,
    ...(conn.secure ? { alpn: conn.alpn ?? '' } : {}),
    failure,
    request: {
      url: req.url.href,
      method,
      headers: headerMap(headers),
      headers_list: headers.map(([k, v]): [string, MaybeBinary] => [k, v]),
      body: req.body ? maybeBinary(req.body) : '',
      body_is_truncated: false,
      x_transport: 'tcp',
    },
    // OONI writes a response with code 0 when none arrived; readers expect the object.
    response: got
      ? {
          code: got.status,
          headers: headerMap(got.headers, maybeBinaryHeader),
          headers_list: got.headers.map(([k, v]): [string, MaybeBinary] => [k, maybeBinaryHeader(v)]),
          body: maybeBinary(got.body, got.truncated),
          body_is_truncated: got.truncated,
        }
      : { code: 0, headers: {}, headers_list: [], body: '', body_is_truncated: false },
    t0,
    t,
    tags: [...conn.tags],
    transaction_id: conn.transactionId,
  };
  trace.requests.push(transaction);
  event(conn, 'http_transaction_done', t, failure);
  return { transaction, response: got, failure };
}

/** What the exchange has received so far; the body is joined once, at the end. */
interface Received {
  status: number | null;
  headers: [string, string][];
  chunks: Buffer[];
  size: number;
  /** The body went past the cap and was cut there. */
  truncated: boolean;
}

function exchange(
  conn: Connection,
  method: string,
  req: HTTPRoundTripRequest,
  headers: [string, string][],
  maxBody: number,
  received: Received,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const outgoing = httpRequest({
      method,
      path: `${req.url.pathname}${req.url.search}`,
      headers: Object.fromEntries(headers),
      setHost: false,
      // No agent: node:http then uses exactly this socket (with `agent: false` it would dial its
      // own connection and ignore createConnection).
      createConnection: () => conn.stream,
    });
    outgoing.on('error', reject);
    outgoing.once('response', (res: IncomingMessage) => {
      received.status = res.statusCode ?? 0;
      received.headers = pairs(res.rawHeaders);
      res.on('data', (chunk: Buffer) => {
        if (received.truncated) return;
        const room = maxBody - received.size;
        if (chunk.length > room) {
          received.chunks.push(chunk.subarray(0, room));
          received.size = maxBody;
          received.truncated = true;
          // Stop downloading: the rest would only cost the volunteer bytes.
          conn.stream.destroy();
          resolve();
          return;
        }
        received.chunks.push(chunk);
        received.size += chunk.length;
      });
      res.once('end', () => resolve());
      res.on('error', (err) => {
        if (!received.truncated) reject(err);
      });
      res.once('aborted', () => {
        if (!received.truncated) reject(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
      });
    });
    outgoing.end(req.body ? Buffer.from(req.body) : undefined);
  });
}

/** A reset seen on the socket itself (`read ECONNRESET`), which beats Node's generic errors. */
function resetSeen(conn: Connection): Error | undefined {
  const err = conn.socketError() as (Error & { syscall?: string }) | undefined;
  return err?.syscall ? err : undefined;
}

function pairs(raw: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i] as string, raw[i + 1] as string]);
  return out;
}

/** The first value of each header, as OONI's `headers` map holds. */
function headerMap(
  list: [string, string][],
  encode: (v: string) => MaybeBinary = (v) => v,
): Record<string, MaybeBinary> {
  const out: Record<string, MaybeBinary> = {};
  for (const [k, v] of list) if (!Object.hasOwn(out, k)) out[k] = encode(v);
  return out;
}

function event(conn: Connection, operation: string, t: number, failure: string | null): void {
  conn.trace.networkEvents.push({
    failure,
    operation,
    t0: t,
    t,
    tags: [...conn.tags],
    transaction_id: conn.transactionId,
  });
}
