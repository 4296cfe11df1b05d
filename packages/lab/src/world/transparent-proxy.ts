import net from 'node:net';
import { listen } from './dns-wire.js';
import { headComplete, httpHost, peek, splice, tlsRecordComplete, tlsServerName } from './stream-peek.js';

const BAD_GATEWAY =
  'HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: close\r\n\r\nbad gateway\n';

/**
 * The ISP's transparent proxy: whatever arrives on ADDRESS:80 is forwarded to the site its Host
 * header names, and whatever arrives on ADDRESS:443 to the site its ClientHello's SNI names (a byte
 * pipe: the client talks TLS with the real site). RESOLVE maps a name to an address (or undefined).
 */
export async function startTransparentProxy(
  address: string,
  resolve: (host: string) => string | undefined,
): Promise<net.Server[]> {
  const httpProxy = net.createServer(async (client) => {
    client.on('error', () => {});
    const head = await peek(client, headComplete, { maxBytes: 64 * 1024, timeoutMs: 30_000 });
    const host = httpHost(head);
    const target = host ? resolve(host) : undefined;
    if (!target) {
      client.end(BAD_GATEWAY);
      return;
    }
    splice(client, net.connect({ host: target, port: 80 }), head);
  });
  const tlsProxy = net.createServer(async (client) => {
    client.on('error', () => {});
    const hello = await peek(client, tlsRecordComplete, { maxBytes: 64 * 1024, timeoutMs: 30_000 });
    const name = tlsServerName(hello);
    const target = name ? resolve(name) : undefined;
    if (!target) {
      client.resetAndDestroy();
      return;
    }
    splice(client, net.connect({ host: target, port: 443 }), hello);
  });
  await listen(httpProxy, address, 80);
  await listen(tlsProxy, address, 443);
  return [httpProxy, tlsProxy];
}
