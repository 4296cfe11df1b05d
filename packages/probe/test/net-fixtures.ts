/**
 * Loopback fixtures for the network tests: a throwaway PKI made with the openssl CLI, HTTP(S)
 * servers, a tiny DNS server, a refused port and a port whose connects hang. Everything binds
 * to 127.0.0.1; nothing leaves the machine.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import {
  createServer as createHTTPServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHTTPSServer } from 'node:https';
import { type AddressInfo, connect, createServer as createTCPServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import dnsPacket from 'dns-packet';

export interface KeyPair {
  key: string;
  cert: string;
}

export interface PKI {
  /** The CA tests trust through `extraCA`. */
  ca: string;
  /** localhost and 127.0.0.1, signed by the CA. */
  valid: KeyPair;
  /** Signed by the CA, already expired. */
  expired: KeyPair;
  /** Signed by the CA for another name. */
  wrongName: KeyPair;
  /** localhost, signed by a CA nobody trusts. */
  unknownCA: KeyPair;
}

/**
 * Generates the PKI once per test file (EC keys: fast). Leaf certificates are for localhost,
 * 127.0.0.1 and `names`; the wrong-name one only for other.example.
 */
export function makePKI(names: string[] = []): PKI {
  const dir = mkdtempSync(path.join(tmpdir(), 'pharos-pki-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const read = (name: string) => readFileSync(path.join(dir, name), 'utf8');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  try {
    const ca = (name: string) =>
      run(
        'req',
        '-x509',
        ...ec,
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.pem`,
        '-days',
        '2',
        '-subj',
        `/CN=${name}`,
      );
    ca('pharos-test-ca');
    ca('untrusted-ca');
    const leaf = (name: string, caName: string, san: string, days: string): KeyPair => {
      run('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=pharos-test');
      writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
      run(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        `${caName}.pem`,
        '-CAkey',
        `${caName}.key`,
        '-CAcreateserial',
        '-days',
        days,
        '-extfile',
        `${name}.ext`,
        '-out',
        `${name}.pem`,
      );
      return { key: read(`${name}.key`), cert: read(`${name}.pem`) };
    };
    const san = ['DNS:localhost', ...names.map((n) => `DNS:${n}`), 'IP:127.0.0.1'].join(',');
    return {
      ca: read('pharos-test-ca.pem'),
      valid: leaf('valid', 'pharos-test-ca', san, '2'),
      // notAfter before notBefore: expired from the start.
      expired: leaf('expired', 'pharos-test-ca', san, '-1'),
      wrongName: leaf('wrong-name', 'pharos-test-ca', 'DNS:other.example', '2'),
      unknownCA: leaf('unknown-ca', 'untrusted-ca', san, '2'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Running {
  port: number;
  /** TCP connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function listen(server: Server | ReturnType<typeof createTCPServer>): Promise<Running> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sockets = new Set<Socket>();
  let connections = 0;
  server.on('connection', (s: Socket) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export function startHTTP(handler: Handler): Promise<Running> {
  return listen(createHTTPServer(handler));
}

export function startHTTPS(pair: KeyPair, handler: Handler): Promise<Running> {
  return listen(createHTTPSServer({ key: pair.key, cert: pair.cert }, handler));
}

/** Accepts connections and never says a word: TLS handshakes and HTTP requests stall. */
export function startSilent(): Promise<Running> {
  return listen(createTCPServer(() => {}));
}

/** A port nothing listens on: connects are refused. */
export async function refusedPort(): Promise<number> {
  const server = await listen(createTCPServer());
  await server.close();
  return server.port;
}

/**
 * A port whose connects hang: a listener in a child process whose event loop is blocked never
 * accepts, so once its backlog is full the kernel ignores new SYNs.
 */
export async function hangingPort(): Promise<Running> {
  const child: ChildProcess = spawn(process.execPath, [
    '-e',
    `require('net').createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, function () {
       process.stdout.write(String(this.address().port) + '\\n');
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
     });`,
  ]);
  const port = await new Promise<number>((resolve) =>
    child.stdout?.once('data', (d) => resolve(Number(String(d).trim()))),
  );
  const held: Socket[] = [];
  // Fill the backlog until a connect stays pending.
  for (let i = 0; i < 16; i++) {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => {});
    const connected = await new Promise<boolean>((resolve) => {
      s.once('connect', () => resolve(true));
      setTimeout(() => resolve(false), 300);
    });
    if (!connected) {
      s.destroy();
      break;
    }
    held.push(s);
  }
  return {
    port,
    connections: held.length,
    close: async () => {
      for (const s of held) s.destroy();
      child.kill('SIGKILL');
    },
  };
}

export type DNSZone = Record<
  string,
  { A?: string[]; AAAA?: string[] } | 'nxdomain' | 'servfail' | 'refused' | 'silent'
>;

/** A DNS server on 127.0.0.1 answering from `zone`; names not in it are NXDOMAIN. */
export async function startDNS(
  zone: DNSZone,
): Promise<{ address: string; queries: number; close(): Promise<void> }> {
  const socket = createSocket('udp4');
  const state = {
    address: '',
    queries: 0,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  socket.on('message', (message, rinfo) => {
    state.queries++;
    const query = dnsPacket.decode(message);
    const question = query.questions?.[0];
    if (!question) return;
    const entry = zone[question.name.toLowerCase()] ?? 'nxdomain';
    if (entry === 'silent') return;
    const rcode = { nxdomain: 3, servfail: 2, refused: 5 } as const;
    const type = question.type;
    const answers =
      typeof entry === 'object' && (type === 'A' || type === 'AAAA')
        ? (entry[type] ?? []).map((data) => ({
            type,
            name: question.name,
            ttl: 60,
            class: 'IN' as const,
            data,
          }))
        : [];
    const flags =
      dnsPacket.RECURSION_DESIRED |
      dnsPacket.RECURSION_AVAILABLE |
      (typeof entry === 'string' ? rcode[entry] : 0);
    const response = dnsPacket.encode({
      type: 'response',
      id: query.id,
      flags,
      questions: [question],
      answers,
    });
    socket.send(response, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  state.address = `127.0.0.1:${socket.address().port}`;
  return state;
}

/** A page of `size` bytes with a title. */
export function page(title: string, size = 0): string {
  const head = `<!doctype html><html><head><title>${title}</title></head><body>`;
  const padding = 'x'.repeat(Math.max(0, size - head.length - 14));
  return `${head}${padding}</body></html>`;
}
