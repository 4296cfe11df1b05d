import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { Readable } from 'node:stream';
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

/**
 * Serves SITE on each of its addresses separately (never 0.0.0.0): HTTP on 80 when `http`, HTTPS on
 * 443 when `https`. A port the site does not serve refuses connections.
 */
export async function startSite(site: SiteServiceConfig): Promise<net.Server[]> {
  const handler = siteHandler(site);
  const servers: net.Server[] = [];
  for (const address of site.addresses) {
    if (site.http) {
      const server = http.createServer(handler);
      await listen(server, address, 80);
      servers.push(server);
    }
    if (site.https && site.tls) {
      const server = https.createServer({ key: site.tls.key, cert: site.tls.cert }, handler);
      await listen(server, address, 443);
      servers.push(server);
    }
  }
  return servers;
}
