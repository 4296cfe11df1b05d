/**
 * The router namespace's process (`ip netns exec phx<k>-rtr node router-main.js CONFIG.json`): the
 * ISP resolver (the probe's system resolver), the on-path DNS censor (DNS queries crossing the router
 * are DNAT-ed to one local port per original destination) and the inline HTTP middlebox that injects
 * blockpages (port-80 traffic DNAT-ed the same way). Rules arrive on stdin as JSON lines
 * ({"type":"rules","id":N,"rules":…}) and are acknowledged on stdout ({"ack":N}).
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { createInterface } from 'node:readline';
import type { RouterConfig, RouterMessage, RouterRules } from './config.js';
import { asRecursiveAnswer, censoredAnswer, matchDnsRule } from './dns-censor.js';
import { buildResponse, forwardUdp, listen, parseQuery, serveDns } from './dns-wire.js';
import { headComplete, httpHost, peek, splice } from './stream-peek.js';

const UPSTREAM_TIMEOUT_MS = 3000;

function blockpageResponse(html: string): Buffer {
  const body = Buffer.from(html);
  const head =
    'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n' +
    `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), body]);
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: router-main.js CONFIG.json');
  const config = JSON.parse(readFileSync(file, 'utf8')) as RouterConfig;
  let rules: RouterRules = config.rules;

  // The ISP resolver: every DNS rule applies here (an on-path censor sees its queries too).
  await serveDns(config.ispResolver, 53, async (message, remote) => {
    const query = parseQuery(message);
    if (!query) return null;
    const rule = matchDnsRule(rules.dns, query, remote.address);
    if (rule) return censoredAnswer(rule, query);
    const answer = await forwardUdp({ address: config.authoritative, port: 53 }, message, {
      timeoutMs: UPSTREAM_TIMEOUT_MS,
    });
    return answer
      ? asRecursiveAnswer(answer)
      : buildResponse(query, { rcode: 'SERVFAIL', recursionAvailable: true });
  });

  // The on-path censor: answers `via: path` rules, passes everything else to the original destination.
  for (const interception of config.dnsInterceptions) {
    await serveDns(config.ispResolver, interception.port, async (message, remote) => {
      const query = parseQuery(message);
      const rule = query
        ? matchDnsRule(
            rules.dns.filter((r) => r.via === 'path'),
            query,
            remote.address,
          )
        : undefined;
      if (query && rule) return censoredAnswer(rule, query);
      if (!interception.original) return null;
      return forwardUdp({ address: interception.original, port: 53 }, message, {
        localAddress: config.ispResolver,
        timeoutMs: UPSTREAM_TIMEOUT_MS,
      });
    });
  }

  // The inline HTTP middlebox: a blockpage for a matching Host, otherwise a faithful relay.
  for (const interception of config.httpInterceptions) {
    const original = interception.original;
    if (!original) continue;
    const server = net.createServer(async (client) => {
      client.on('error', () => {});
      const head = await peek(client, headComplete, { maxBytes: 64 * 1024, timeoutMs: 30_000 });
      if (client.destroyed) return;
      const host = httpHost(head);
      const rule = host ? rules.blockpages.find((b) => b.host === host) : undefined;
      if (rule) {
        client.end(blockpageResponse(rule.html));
        return;
      }
      splice(client, net.connect({ host: original, port: 80, localAddress: config.ispResolver }), head);
    });
    await listen(server, config.ispResolver, interception.port);
  }

  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (!line.trim()) return;
    const message = JSON.parse(line) as RouterMessage;
    if (message.type === 'rules') {
      rules = message.rules;
      process.stdout.write(`${JSON.stringify({ ack: message.id })}\n`);
    }
  });
  lines.on('close', () => process.exit(0));
  process.stdout.write(`${JSON.stringify({ ready: true, warnings: [] })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `lab router failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
