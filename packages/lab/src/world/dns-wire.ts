import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket } from 'dns-packet';

export const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;
export type Rcode = keyof typeof RCODE;

const RECURSION_DESIRED = 0x0100;
const AUTHORITATIVE = 0x0400;
const RECURSION_AVAILABLE = 0x0080;
const TTL = 60;

export interface Endpoint {
  address: string;
  port: number;
}

/** Answers one DNS message (raw bytes in, raw bytes out); null means: never answer. */
export type DnsHandler = (
  message: Buffer,
  remote: Endpoint,
  transport: 'udp' | 'tcp',
) => Promise<Buffer | null>;

export function parseQuery(message: Buffer): DecodedPacket | null {
  try {
    const packet = dnsPacket.decode(message);
    if (packet.type !== 'query' || !packet.questions?.length) return null;
    return packet;
  } catch {
    return null;
  }
}

export function questionOf(query: DecodedPacket): { name: string; type: string } {
  const q = query.questions?.[0];
  return { name: q?.name ?? '', type: q?.type ?? 'A' };
}

/** A response to QUERY with RCODE and, for an A question, one A record per address. */
export function buildResponse(
  query: DecodedPacket,
  options: { rcode: Rcode; addresses?: string[]; authoritative?: boolean; recursionAvailable?: boolean },
): Buffer {
  const { name, type } = questionOf(query);
  const answers: Answer[] =
    options.rcode === 'NOERROR' && (type === 'A' || type === 'ANY')
      ? (options.addresses ?? []).map((data) => ({ type: 'A', class: 'IN', name, ttl: TTL, data }))
      : [];
  let flags = ((query.flags ?? 0) & RECURSION_DESIRED) | RCODE[options.rcode];
  if (options.authoritative) flags |= AUTHORITATIVE;
  if (options.recursionAvailable) flags |= RECURSION_AVAILABLE;
  return dnsPacket.encode({
    type: 'response',
    id: query.id ?? 0,
    flags,
    questions: query.questions ?? [],
    answers,
    authorities: [],
    additionals: [],
  });
}

export interface DnsServer {
  close(): void;
}

/** Serves DNS on ADDRESS:PORT over UDP and TCP (length-prefixed messages, pipelined). */
export async function serveDns(address: string, port: number, handler: DnsHandler): Promise<DnsServer> {
  const udp = dgram.createSocket({ type: 'udp4' });
  udp.on('message', (message, rinfo) => {
    handler(message, { address: rinfo.address, port: rinfo.port }, 'udp')
      .then((answer) => {
        if (answer) udp.send(answer, rinfo.port, rinfo.address);
      })
      .catch((error: unknown) => process.stderr.write(`dns ${address}:${port}: ${String(error)}\n`));
  });
  const tcp = net.createServer((socket) => {
    let pending = Buffer.alloc(0);
    socket.setTimeout(30_000, () => socket.destroy());
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const length = pending.readUInt16BE(0);
        if (pending.length < 2 + length) break;
        const message = pending.subarray(2, 2 + length);
        pending = pending.subarray(2 + length);
        handler(message, { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 }, 'tcp')
          .then((answer) => {
            if (!answer || socket.destroyed) return;
            const prefix = Buffer.alloc(2);
            prefix.writeUInt16BE(answer.length);
            socket.write(Buffer.concat([prefix, answer]));
          })
          .catch((error: unknown) => process.stderr.write(`dns ${address}:${port}/tcp: ${String(error)}\n`));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(port, address, () => {
      udp.off('error', reject);
      resolve();
    });
  });
  await listen(tcp, address, port);
  return {
    close() {
      udp.close();
      tcp.close();
    },
  };
}

export function listen(server: net.Server, address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Sends MESSAGE to SERVER over UDP from LOCAL_ADDRESS (any port) and resolves with the first reply
 * carrying the same id, or null after TIMEOUT_MS.
 */
export function forwardUdp(
  server: Endpoint,
  message: Buffer,
  options: { localAddress?: string; timeoutMs: number },
): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket({ type: 'udp4' });
    const id = message.readUInt16BE(0);
    let done = false;
    const finish = (answer: Buffer | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      resolve(answer);
    };
    const timer = setTimeout(() => finish(null), options.timeoutMs);
    socket.on('error', () => finish(null));
    socket.on('message', (reply) => {
      if (reply.length >= 2 && reply.readUInt16BE(0) === id) finish(reply);
    });
    socket.bind({ address: options.localAddress, port: 0 }, () => {
      socket.send(message, server.port, server.address, (error) => {
        if (error) finish(null);
      });
    });
  });
}
