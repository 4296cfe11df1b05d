/** TCP connect to ip:port, recorded as OONI's df-005 `tcp_connect` entry and a `connect` event. */
import { Socket } from 'node:net';
import { Connection } from './connection.js';
import { formatEndpoint } from './endpoint.js';
import { deadline, netFailure } from './failure.js';
import type { OperationContext } from './trace.js';

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export interface TCPConnectOptions extends OperationContext {
  timeoutMs?: number;
}

export interface TCPConnectOutcome {
  /** Open connection on success; the caller closes it (or Trace.closeAll does). */
  connection: Connection | null;
  failure: string | null;
}

export async function tcpConnect(
  ip: string,
  port: number,
  options: TCPConnectOptions,
): Promise<TCPConnectOutcome> {
  const { trace, signal } = options;
  const tags = [...(options.tags ?? [])];
  const transactionId = trace.nextTransactionId();
  const t0 = trace.elapsed();
  const socket = new Socket();
  let failure: string | null = null;
  try {
    const connected = new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.connect({ host: ip, port });
    await deadline(connected, options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, 'connect', signal, () =>
      socket.destroy(),
    );
  } catch (err) {
    failure = netFailure(err);
  }
  const t = trace.elapsed();
  trace.tcpConnect.push({
    ip,
    port,
    status: { success: failure === null, failure },
    t0,
    t,
    tags,
    transaction_id: transactionId,
  });
  trace.networkEvents.push({
    address: formatEndpoint(ip, port),
    failure,
    operation: 'connect',
    proto: 'tcp',
    t0,
    t,
    tags: [...tags],
    transaction_id: transactionId,
  });
  if (failure !== null) {
    // A SYN that went out costs bytes too, but the kernel does not tell us: count what Node saw.
    socket.on('error', () => {});
    socket.destroy();
    trace.addBytes(socket.bytesWritten, socket.bytesRead);
    return { connection: null, failure };
  }
  socket.setNoDelay(true);
  socket.removeAllListeners('error');
  return { connection: new Connection(socket, ip, port, transactionId, tags, trace, t0), failure: null };
}
