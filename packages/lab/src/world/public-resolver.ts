import https from 'node:https';
import type net from 'node:net';
import type { KeyAndCert } from './certificates.js';
import { buildResponse, type DnsServer, listen, parseQuery, questionOf, serveDns } from './dns-wire.js';
import { lookupZone, type Zone } from './zone.js';

/** An honest recursive resolver's answer from the lab's zone data (the view everyone but the ISP gets). */
export function publicAnswer(zone: Zone, message: Buffer): Buffer | null {
  const query = parseQuery(message);
  if (!query) return null;
  const { name, type } = questionOf(query);
  const answer = lookupZone(zone, name, type, 'others');
  return buildResponse(query, { rcode: answer.rcode, addresses: answer.addresses, recursionAvailable: true });
}

/** The public resolver: plain DNS on ADDRESS:53 (UDP and TCP) and DNS-over-HTTPS on ADDRESS:443/dns-query. */
export async function startPublicResolver(
  address: string,
  zone: Zone,
  tls: KeyAndCert,
): Promise<{ dns: DnsServer; doh: net.Server }> {
  const dns = await serveDns(address, 53, async (message) => publicAnswer(zone, message));
  const doh = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://dns.public.example');
    const reply = (message: Buffer | null) => {
      if (!message) {
        res.writeHead(400, { 'Content-Type': 'text/plain' }).end('not a DNS query\n');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/dns-message', 'Content-Length': message.length });
      res.end(message);
    };
    if (url.pathname !== '/dns-query') {
      req.resume();
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    if (req.method === 'GET') {
      req.resume();
      const encoded = url.searchParams.get('dns');
      reply(encoded ? publicAnswer(zone, Buffer.from(encoded, 'base64url')) : null);
      return;
    }
    if (req.method === 'POST') {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= 65_535) chunks.push(chunk);
      });
      req.on('end', () => reply(size <= 65_535 ? publicAnswer(zone, Buffer.concat(chunks)) : null));
      return;
    }
    req.resume();
    res.writeHead(405, { Allow: 'GET, POST', 'Content-Type': 'text/plain' }).end('method not allowed\n');
  });
  await listen(doh, address, 443);
  return { dns, doh };
}
