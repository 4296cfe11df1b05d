/**
 * One bounded, timed transfer over the probe's own primitives: TCP connect, TLS handshake (the
 * server name the censor sees), then an HTTP GET whose response is counted as it arrives. The
 * transfer ends at the end of the body, at the byte cap, or at the time bound, whichever comes
 * first; a transfer cut by the time bound after making progress is a measurement, not a failure.
 */
import { performance } from 'node:perf_hooks';
import { checkServerIdentity, type TLSSocket } from 'node:tls';
import type { TransferObservation } from '@pharos/core';
import { sliceRates } from '@pharos/core';
import { BROWSER_HEADERS } from '../../net/browser.js';
import { formatEndpoint } from '../../net/endpoint.js';
import { httpRoundTrip } from '../../net/http.js';
import { tcpConnect } from '../../net/tcp.js';
import { tlsHandshake } from '../../net/tls.js';
import type { Trace } from '../../net/trace.js';

/** At most this many [ms, bytes] points are kept per transfer in the measurement. */
export const MAX_PROGRESS_POINTS = 64;

export interface TransferSpec {
  role: 'target' | 'control';
  repeat: number;
  ip: string;
  port: number;
  scheme: 'https' | 'http';
  /** The name the censor sees: SNI for https, the Host header for http. */
  serverName: string;
  /** What is requested: path, and (for https) the Host header inside TLS. */
  url: URL;
  /** The target's host: the control records whether the certificate it got names it. */
  targetHost: string;
  /** Verify the certificate (target) or only complete the handshake (control). */
  verify: boolean;
  maxBytes: number;
  maxSeconds: number;
  connectTimeoutMs: number;
  tlsTimeoutMs: number;
  /** Throughput samples per transfer. */
  slices: number;
  extraCA?: string[];
  signal?: AbortSignal;
  trace: Trace;
}

/** What a control's certificate says; the control accepts any certificate, this is only recorded. */
export interface ControlCertificate {
  /** The chain verifies against the trusted roots (and extraCA). */
  valid_chain: boolean;
  /** The leaf is valid for the target's host: the neutral name reached the same site. */
  names_target: boolean;
}

export interface TransferRecord extends TransferObservation {
  role: 'target' | 'control';
  repeat: number;
  server_name: string;
  address: string;
  /** Seconds since the measurement started. */
  t0: number;
  connect_ms: number | null;
  tls_handshake_ms: number | null;
  /** From the request written to the first response byte. */
  ttfb_ms: number | null;
  /** From the request written to the last byte (or to the time bound when it timed out). */
  duration_ms: number | null;
  status: number | null;
  body_bytes: number;
  /** Ended at the end of the body or at the byte cap. */
  complete: boolean;
  /** Cumulative response bytes over time: [ms since the request, bytes], at most 64 points. */
  progress: [number, number][];
  /** On the wire, TLS and TCP payload included: what the volunteer paid for. */
  bytes_sent: number;
  bytes_received: number;
  certificate?: ControlCertificate;
}

/** Milliseconds with microsecond resolution: fast lab transfers last a few ms. */
const ms = (x: number) => Math.round(x * 1000) / 1000;

/** Keeps the first, the last and evenly spaced points between them. */
export function thinProgress(points: [number, number][], max = MAX_PROGRESS_POINTS): [number, number][] {
  if (points.length <= max) return points.map(([t, b]) => [ms(t), b]);
  const out: [number, number][] = [];
  for (let k = 0; k < max; k++) {
    const [t, b] = points[Math.round((k * (points.length - 1)) / (max - 1))]!;
    out.push([ms(t), b]);
  }
  return out;
}

export async function measureTransfer(spec: TransferSpec): Promise<TransferRecord> {
  const { trace, signal } = spec;
  const tags = [`throttling=${spec.role}`, `repeat=${spec.repeat}`];
  const record: TransferRecord = {
    role: spec.role,
    repeat: spec.repeat,
    server_name: spec.serverName,
    address: formatEndpoint(spec.ip, spec.port),
    t0: trace.elapsed(),
    connect_ms: null,
    tls_handshake_ms: null,
    ttfb_ms: null,
    duration_ms: null,
    status: null,
    body_bytes: 0,
    complete: false,
    progress: [],
    bytes_sent: 0,
    bytes_received: 0,
    failed_operation: null,
    failure: null,
    handshake_bytes_received: 0,
    bytes: 0,
    goodput_kbit_s: null,
    slices_kbit_s: [],
    timed_out: false,
  };

  const connectStart = performance.now();
  const tcp = await tcpConnect(spec.ip, spec.port, { trace, tags, signal, timeoutMs: spec.connectTimeoutMs });
  record.connect_ms = ms(performance.now() - connectStart);
  if (!tcp.connection) {
    record.failed_operation = 'connect';
    record.failure = tcp.failure;
    return record;
  }
  let conn = tcp.connection;
  const raw = conn.raw;
  const settle = () => {
    record.bytes_sent = raw.bytesWritten;
    record.bytes_received = raw.bytesRead;
  };

  if (spec.scheme === 'https') {
    const handshakeStart = performance.now();
    const tls = await tlsHandshake(conn, {
      serverName: spec.serverName,
      extraCA: spec.extraCA,
      verify: spec.verify,
      timeoutMs: spec.tlsTimeoutMs,
      signal,
    });
    record.tls_handshake_ms = ms(performance.now() - handshakeStart);
    if (!tls.connection) {
      record.failed_operation = 'tls_handshake';
      record.failure = tls.failure;
      // What the server managed to send before the handshake died: > 0 means it was answering.
      record.handshake_bytes_received = raw.bytesRead;
      settle();
      return record;
    }
    conn = tls.connection;
    if (spec.role === 'control')
      record.certificate = controlCertificate(conn.stream as TLSSocket, spec.targetHost);
  }

  // Response bytes as they arrive (HTTP's own parser reads the same stream).
  const points: [number, number][] = [[0, 0]];
  let received = 0;
  let requestAt = performance.now();
  const onData = (chunk: Buffer) => {
    received += chunk.length;
    points.push([performance.now() - requestAt, received]);
  };
  conn.stream.on('data', onData);
  requestAt = performance.now();
  const rt = await httpRoundTrip(conn, {
    url: spec.url,
    headers: BROWSER_HEADERS,
    maxBodyBytes: spec.maxBytes,
    timeoutMs: spec.maxSeconds * 1000,
    signal,
  });
  const endedAt = performance.now() - requestAt;
  conn.stream.off('data', onData);
  settle();

  record.status = rt.response?.status ?? null;
  record.body_bytes = rt.response?.body.length ?? 0;
  record.bytes = received;
  record.failure = rt.failure;
  record.complete = rt.failure === null;
  record.timed_out = rt.failure === 'generic_timeout_error' && received > 0;
  if (!record.complete && !record.timed_out) record.failed_operation = 'http';
  record.ttfb_ms = points.length > 1 ? ms(points[1]![0]) : null;
  const lastByte = points.at(-1)![0];
  const duration = record.timed_out || received === 0 ? endedAt : lastByte;
  record.duration_ms = ms(duration);
  record.goodput_kbit_s = duration > 0 ? Number(((received * 8) / duration).toPrecision(4)) : 0;
  // Throughput samples from the first byte on: the wait for it is in the goodput and the TTFB, and
  // would otherwise add empty slices to every sample, fast or slow.
  const firstByte = points.length > 1 ? points[1]![0] : 0;
  // (A response that came in one piece is sampled from the request on.)
  const rates =
    received === 0
      ? new Array<number>(spec.slices).fill(0)
      : duration > firstByte
        ? sliceRates(points.slice(1), firstByte, duration, spec.slices)
        : sliceRates(points, 0, duration, spec.slices);
  record.slices_kbit_s = rates.map((r) => Number(r.toPrecision(4)));
  record.progress = thinProgress(points);
  return record;
}

function controlCertificate(socket: TLSSocket, targetHost: string): ControlCertificate {
  const cert = socket.getPeerCertificate();
  let namesTarget = false;
  try {
    namesTarget = Boolean(cert?.raw) && checkServerIdentity(targetHost, cert) === undefined;
  } catch {
    namesTarget = false;
  }
  // Node folds the name check into `authorized`; a name mismatch (expected: the control sends a
  // neutral name) means the chain itself verified.
  const chainOk = socket.authorized || String(socket.authorizationError) === 'ERR_TLS_CERT_ALTNAME_INVALID';
  return { valid_chain: chainOk, names_target: namesTarget };
}
