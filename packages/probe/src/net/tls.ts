/**
 * TLS handshake on a connected socket, recorded as OONI's df-006 `tls_handshakes` entry plus
 * `tls_handshake_start`/`tls_handshake_done` events. The certificate is verified against
 * Node's roots plus any extra CA given (the lab's CA); the peer's chain is recorded even when
 * verification fails, because that chain is the evidence of an interception.
 */
import { isIP } from 'node:net';
import {
  checkServerIdentity,
  connect,
  type PeerCertificate,
  rootCertificates,
  type TLSSocket,
} from 'node:tls';
import { failureFromError } from '@pharos/core';
import type { Connection } from './connection.js';
import { deadline, netFailure } from './failure.js';

export const DEFAULT_TLS_TIMEOUT_MS = 10_000;

export interface TLSHandshakeOptions {
  /** SNI and the name the certificate must be valid for. */
  serverName: string;
  /** Default `['http/1.1']`: we speak HTTP/1.1 over the result. */
  alpn?: string[];
  /** PEM certificates trusted in addition to Node's roots. */
  extraCA?: string[];
  /**
   * Default true. False accepts any certificate: the handshake only has to complete (the throttling
   * experiment's control, which sends a neutral server name to the target's address). Recorded
   * as `no_tls_verify: true`; the peer's chain is still recorded.
   */
  verify?: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface TLSHandshakeOutcome {
  /** The same connection, now speaking TLS; null (and the connection closed) on failure. */
  connection: Connection | null;
  failure: string | null;
}

export async function tlsHandshake(
  conn: Connection,
  options: TLSHandshakeOptions,
): Promise<TLSHandshakeOutcome> {
  const { trace } = conn;
  const t0 = trace.elapsed();
  event(conn, 'tls_handshake_start', t0, t0, null);
  const socket = connect({
    socket: conn.raw,
    // SNI must be a host name (RFC 6066); for an IP literal we send none but still verify.
    servername: isIP(options.serverName) === 0 ? options.serverName : undefined,
    ALPNProtocols: options.alpn ?? ['http/1.1'],
    ca: options.extraCA && options.extraCA.length > 0 ? [...rootCertificates, ...options.extraCA] : undefined,
    // We verify ourselves after the handshake so the peer's chain can be recorded either way.
    rejectUnauthorized: false,
    // Node checks the name against `host` ("localhost" when only a socket is given): use ours.
    checkServerIdentity: (_host, cert) => checkServerIdentity(options.serverName, cert),
  });
  socket.on('error', () => {});
  let failure: string | null = null;
  try {
    const handshake = new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    await deadline(
      handshake,
      options.timeoutMs ?? DEFAULT_TLS_TIMEOUT_MS,
      'TLS handshake',
      options.signal,
      () => socket.destroy(),
    );
  } catch (err) {
    failure = netFailure(err);
  }
  const chain = failure === null ? peerChain(socket) : [];
  if (failure === null && options.verify !== false) failure = verify(socket, options.serverName);
  const t = trace.elapsed();
  const cipher = failure === null || chain.length > 0 ? socket.getCipher() : undefined;
  trace.tlsHandshakes.push({
    network: 'tcp',
    address: conn.address,
    server_name: options.serverName,
    cipher_suite: cipher?.standardName ?? '',
    failure,
    negotiated_protocol: failure === null ? socket.alpnProtocol || '' : '',
    no_tls_verify: options.verify === false,
    peer_certificates: chain.length > 0 ? chain : null,
    tls_version: cipher ? (socket.getProtocol() ?? '') : '',
    t0,
    t,
    tags: [...conn.tags],
    transaction_id: conn.transactionId,
  });
  event(conn, 'tls_handshake_done', t, t, failure);
  if (failure !== null) {
    socket.destroy();
    await conn.close();
    return { connection: null, failure };
  }
  conn.upgrade(socket, socket.alpnProtocol || '');
  return { connection: conn, failure: null };
}

/** Chain verification first, then the name, as browsers report them. */
function verify(socket: TLSSocket, serverName: string): string | null {
  if (!socket.authorized) {
    const code = String(socket.authorizationError ?? 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    return failureFromError({ code, message: code });
  }
  const identityError = checkServerIdentity(serverName, socket.getPeerCertificate());
  return identityError ? failureFromError(identityError) : null;
}

/** The certificates as the peer presented them, leaf first, base64 DER. */
function peerChain(socket: TLSSocket): { format: 'base64'; data: string }[] {
  const out: { format: 'base64'; data: string }[] = [];
  const seen = new Set<string>();
  let cert: PeerCertificate | undefined = socket.getPeerCertificate(true);
  while (cert?.raw && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    out.push({ format: 'base64', data: cert.raw.toString('base64') });
    cert = (cert as { issuerCertificate?: PeerCertificate }).issuerCertificate;
  }
  return out;
}

function event(conn: Connection, operation: string, t0: number, t: number, failure: string | null): void {
  conn.trace.networkEvents.push({
    address: conn.address,
    failure,
    operation,
    proto: 'tcp',
    t0,
    t,
    tags: [...conn.tags],
    transaction_id: conn.transactionId,
  });
}
