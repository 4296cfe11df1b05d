/**
 * The internet namespace's process (run by the lab as `ip netns exec phx<k>-net node services-main.js
 * CONFIG.json`): the authoritative DNS server, the public resolver (DNS and DoH), the test helper, the
 * web sites and the ISP's transparent proxy. Prints {"ready":true} once every listener is up; exits
 * when its stdin closes (the lab went away).
 */
import { readFileSync } from 'node:fs';
import type { ServicesConfig } from './config.js';
import { buildResponse, parseQuery, questionOf, serveDns } from './dns-wire.js';
import { startPublicResolver } from './public-resolver.js';
import { startSite } from './sites.js';
import { startTestHelper } from './test-helper.js';
import { startTransparentProxy } from './transparent-proxy.js';
import { lookupZone } from './zone.js';

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: services-main.js CONFIG.json');
  const config = JSON.parse(readFileSync(file, 'utf8')) as ServicesConfig;
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();

  const zone = config.zone;
  await serveDns(config.authoritative, 53, async (message, remote) => {
    const query = parseQuery(message);
    if (!query) return null;
    const { name, type } = questionOf(query);
    const answer = lookupZone(zone, name, type, remote.address === config.ispSource ? 'isp' : 'others');
    return buildResponse(query, { rcode: answer.rcode, addresses: answer.addresses, authoritative: true });
  });
  await startPublicResolver(config.publicResolver, zone, config.dohTls);
  await Promise.all(config.sites.map((site) => startSite(site)));
  await startTransparentProxy(config.proxy, (host) => lookupZone(zone, host, 'A', 'others').addresses[0]);
  const warning = await startTestHelper({
    address: config.testHelper,
    resolver: config.publicResolver,
    caPem: config.caPem,
    tls: config.testHelperTls,
    labPrefix: config.labPrefix,
  });
  if (warning) process.stderr.write(`${warning}\n`);
  process.stdout.write(`${JSON.stringify({ ready: true, warnings: warning ? [warning] : [] })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `lab services failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
