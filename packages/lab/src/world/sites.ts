import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { Readable } from 'node:stream';
import tls from 'node:tls';
import type { SiteServiceConfig } from './config.js';
import { listen } from './dns-wire.js';
import { defaultPage, sizedPage } from './pages.js';

function siteHandler(site: SiteServiceConfig): http.RequestListener {
  const page = Buffer.from(site.body ?? defaultPage(site.host));
  return (req, res) => {
    req.resume();
    const head = req.method === 'HEAD';
    res.setHeader('Server', 'pharos-lab');
    if (site.redirect) {
      const body = Buffer.from(`<html><body><a href="${site.redirect}">moved</a></body></html>\n`);
      res.writeHead(302, {
        Location: site.redirect,
        'Content-Type': 'text/html; charset=utf-8',
        'Content-Length': body.length,
      });
      res.end(head ? undefined : body);
      return;
    }
    if (site.size !== undefined) {
      res.writeHead(site.status, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': site.size });
      if (head) res.end();
      else Readable.from(sizedPage(site.host, site.size)).pipe(res);
      return;
    }
    res.writeHead(site.status, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': page.length });
    res.end(head ? undefined : page);
  };
}

const sharedContexts = new Map<string, tls.SecureContext>();

/** HTTPS options for SITE: its own key and certificate, or (sharedTls) one context per certificate, by SNI. */
function tlsOptions(site: SiteServiceConfig): https.ServerOptions {
  const pair = site.tls!;
  if (!site.sharedTls) return { key: pair.key, cert: pair.cert };
  let context = sharedContexts.get(pair.cert);
  if (!context) {
    context = tls.createSecureContext({ key: pair.key, cert: pair.cert });
    sharedContexts.set(pair.cert, context);
  }
  const shared = context;
  return { SNICallback: (_name, done) => done(null, shared) };
}

/** Accepts connections and holds them open, saying nothing, until the peer goes. */
function silentServer(): net.Server {
  return net.createServer((socket) => {
    socket.on('error', () => {});
    socket.resume();
  });
}

/**
 * Serves SITE on each of its addresses separately (never 0.0.0.0): HTTP on 80 when `http`, HTTPS on
 * 443 when `https`, plain HTTP on `httpPorts`, silent TCP on `tcpPorts`. A port the site does not
 * serve refuses connections.
 */
export async function startSite(site: SiteServiceConfig): Promise<net.Server[]> {
  const handler = siteHandler(site);
  const servers: net.Server[] = [];
  const serve = async (server: net.Server, address: string, port: number) => {
    await listen(server, address, port);
    servers.push(server);
  };
  await Promise.all(
    site.addresses.map(async (address) => {
      if (site.http) await serve(http.createServer(handler), address, 80);
      if (site.https && site.tls) await serve(https.createServer(tlsOptions(site), handler), address, 443);
      for (const port of site.httpPorts ?? []) await serve(http.createServer(handler), address, port);
      for (const port of site.tcpPorts ?? []) await serve(silentServer(), address, port);
    }),
  );
  return servers;
}
