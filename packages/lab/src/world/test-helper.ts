import https from 'node:https';
import { isBogon } from '@pharos/core';
import type { KeyAndCert } from './certificates.js';
import { listen } from './dns-wire.js';

/** The signature of @pharos/server's factory, as agreed with the server package. */
type CreateTestHelperServer = (options: {
  resolver?: string;
  extraCA?: string[];
  https?: { key: string; cert: string };
  logger?: boolean;
  isBogon?: (ip: string) => boolean;
}) => Promise<{ listen(options: { host: string; port: number }): Promise<unknown> }>;

/**
 * Starts the test helper (control) from @pharos/server on ADDRESS:443, resolving through RESOLVER and
 * trusting the lab CA. If the server package cannot be loaded, a stand-in answers 503 so the rest of
 * the lab still works, and the returned warning says why.
 */
export async function startTestHelper(options: {
  address: string;
  resolver: string;
  caPem: string;
  tls: KeyAndCert;
  /** The lab's own addresses start with this (10.O.): not bogons for the helper, though private. */
  labPrefix: string;
}): Promise<string | undefined> {
  let create: CreateTestHelperServer | undefined;
  let why = '';
  try {
    // A variable specifier: the lab must not need the server's type declarations to compile.
    const specifier = '@pharos/server';
    const mod = (await import(specifier)) as { createTestHelperServer?: CreateTestHelperServer };
    create = mod.createTestHelperServer;
    if (typeof create !== 'function') why = '@pharos/server does not export createTestHelperServer';
  } catch (error) {
    why = `cannot load @pharos/server (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`;
  }
  if (create && !why) {
    const app = await create({
      resolver: `${options.resolver}:53`,
      extraCA: [options.caPem],
      https: { key: options.tls.key, cert: options.tls.cert },
      logger: false,
      isBogon: (ip) => !ip.startsWith(options.labPrefix) && isBogon(ip),
    });
    await app.listen({ host: options.address, port: 443 });
    return undefined;
  }
  const warning = `test helper unavailable: ${why}; a stand-in answers 503 (build it with npx tsc -b packages/server)`;
  const standIn = https.createServer({ key: options.tls.key, cert: options.tls.cert }, (req, res) => {
    req.resume();
    res.writeHead(503, { 'Content-Type': 'application/json' }).end(`${JSON.stringify({ error: warning })}\n`);
  });
  await listen(standIn, options.address, 443);
  return warning;
}
