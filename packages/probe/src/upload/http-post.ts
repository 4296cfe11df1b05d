/**
 * One POST to a collector with node:http(s): no dependency a volunteer would have to install.
 * Keep-alive agents, because on a mobile link a new TLS handshake per batch costs more bytes than
 * a small batch itself.
 */
import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { gunzipSync } from 'node:zlib';
import { describeNetworkError } from './network-error.js';

/** The request never got an HTTP answer: nothing can be concluded about what the collector stored. */
export class NetworkError extends Error {
  override name = 'NetworkError';
  constructor(
    message: string,
    /** The body's size when it was handed to the network in full before the failure, else 0. */
    readonly bytesSent: number,
  ) {
    super(message);
  }
}

export interface PostResult {
  status: number;
  statusText: string;
  headers: http.IncomingHttpHeaders;
  /** Decoded (gunzipped) body. */
  body: Buffer;
  /** Bytes of the request body as sent. */
  bytesSent: number;
  /** Bytes of the response body as received. */
  bytesReceived: number;
}

/** A collector's answer is small; a larger one is not a collector's. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

export class Agents {
  readonly http: http.Agent;
  readonly https: https.Agent;

  /** `extraCA`: PEM texts trusted beside the system's roots (a private collector's CA). */
  constructor(extraCA: string[] = []) {
    this.http = new http.Agent({ keepAlive: true, maxSockets: 1 });
    this.https = new https.Agent({
      keepAlive: true,
      maxSockets: 1,
      ...(extraCA.length > 0 ? { ca: [...rootCertificates, ...extraCA] } : {}),
    });
  }

  for(url: URL): http.Agent {
    return url.protocol === 'https:' ? this.https : this.http;
  }

  /** Closes idle sockets so the process can exit. */
  destroy(): void {
    this.http.destroy();
    this.https.destroy();
  }
}

export function post(
  url: URL,
  body: Buffer,
  options: {
    agents: Agents;
    headers: Record<string, string>;
    /** The connection may be silent at most this long (connecting, sending, waiting for the answer). */
    idleTimeoutMs: number;
    signal?: AbortSignal;
  },
): Promise<PostResult> {
  return new Promise((resolve, reject) => {
    // Until the body is flushed, a failure (refused, unreachable) cost the data plan ~nothing.
    let flushed = false;
    const fail = (err: unknown) =>
      reject(new NetworkError(describeNetworkError(err), flushed ? body.length : 0));
    const transport = url.protocol === 'https:' ? https : http;
    const req = transport.request(url, {
      method: 'POST',
      agent: options.agents.for(url),
      headers: { ...options.headers, 'content-length': String(body.length) },
      timeout: options.idleTimeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('finish', () => {
      flushed = true;
    });
    req.on('error', fail);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > MAX_RESPONSE_BYTES) {
          res.destroy(new Error(`the answer is larger than ${MAX_RESPONSE_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', fail);
      res.on('aborted', () => fail(Object.assign(new Error('answer cut off'), { code: 'ECONNRESET' })));
      res.on('end', () => {
        if (!res.complete) {
          fail(Object.assign(new Error('answer cut off'), { code: 'ECONNRESET' }));
          return;
        }
        let decoded = Buffer.concat(chunks);
        if (/\bgzip\b/i.test(String(res.headers['content-encoding'] ?? ''))) {
          try {
            decoded = gunzipSync(decoded);
          } catch (err) {
            fail(err);
            return;
          }
        }
        resolve({
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? '',
          headers: res.headers,
          body: decoded,
          bytesSent: body.length,
          bytesReceived: received,
        });
      });
    });
    req.end(body);
  });
}
