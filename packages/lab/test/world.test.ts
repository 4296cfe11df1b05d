/**
 * The lab's world on real kernel networking: namespaces, the ISP resolver, TLS with the lab CA, and
 * censor rules as the probe would meet them. Needs root and ip/nft/iptables/tc (skipped otherwise,
 * with a warning; in CI a missing prerequisite fails the run) and the compiled lab
 * (npx tsc -b packages/lab), because the lab's own processes run compiled code.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  BOGON_ADDRESS,
  cleanupStaleLabs,
  createLab,
  defaultSite,
  type LabHandle,
} from '../src/world/index.js';
import { labDescribe } from './support/lab-available.js';

const suite = await labDescribe('the lab world tests');

/** A client for the client namespace: one operation per run, one JSON line out. */
const CLIENT = `
import dns from 'node:dns';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
const cmd = JSON.parse(process.argv[2]);
const out = (o) => { console.log(JSON.stringify(o)); process.exit(0); };
setTimeout(() => out({ error: 'timeout' }), cmd.timeoutMs ?? 2000).unref();
const ca = cmd.ca ? fs.readFileSync(cmd.ca) : undefined;
if (cmd.op === 'lookup')
  dns.lookup(cmd.host, { all: true, family: 4 }, (e, a) => out(e ? { error: e.code } : { addresses: a.map((x) => x.address) }));
if (cmd.op === 'resolve') {
  const r = new dns.Resolver({ timeout: 1500, tries: 1 });
  r.setServers([cmd.server]);
  r.resolve4(cmd.host, (e, a) => out(e ? { error: e.code } : { addresses: a }));
}
if (cmd.op === 'tls') {
  const s = tls.connect({ host: cmd.address, port: 443, servername: cmd.sni, ca }, () => out({ ok: true, authorized: s.authorized }));
  s.on('error', (e) => out({ error: e.code ?? e.message }));
}
if (cmd.op === 'get') {
  const mod = cmd.url.startsWith('https:') ? https : http;
  const req = mod.get(cmd.url, { ca }, (res) => {
    let body = '';
    res.setEncoding('utf8').on('data', (d) => { body += d; });
    res.on('end', () => out({ status: res.statusCode, body, title: /<title>(.*?)<\\/title>/.exec(body)?.[1] ?? null }));
  });
  req.on('error', (e) => out({ error: e.code ?? e.message }));
}
`;

const site = defaultSite;

const BLOCKPAGE =
  '<html><head><title>Blocked</title></head><body>This site is blocked by order.</body></html>';

suite('lab world (real namespaces)', () => {
  let lab: LabHandle;
  let workDir: string;
  let client: string;

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'pharos-world-'));
    client = join(workDir, 'client.mjs');
    writeFileSync(client, CLIENT);
    lab = await createLab({
      sites: [site('news.example.az'), site('shop.example.net')],
      censor: [
        { match: { kind: 'sni', name: 'news.example.az' }, action: { kind: 'drop' }, via: 'resolver' },
        {
          match: { kind: 'dst', target: 'shop.example.net', port: 443 },
          action: { kind: 'reset' },
          via: 'resolver',
        },
        {
          match: { kind: 'dns_name', name: 'www.example.org' },
          action: { kind: 'spoof', address: 'bogon' },
          via: 'resolver',
        },
        {
          match: { kind: 'host', name: 'news.example.az' },
          action: { kind: 'blockpage', html: BLOCKPAGE },
          via: 'resolver',
        },
      ],
      workDir,
    });
  }, 30_000);

  afterAll(async () => {
    await lab?.teardown();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  async function inClient(cmd: Record<string, unknown>): Promise<Record<string, unknown>> {
    const result = await lab.runInClient(
      [process.execPath, client, JSON.stringify({ ca: lab.caCertFile, ...cmd })],
      {
        timeoutMs: 10_000,
      },
    );
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as Record<string, unknown>;
  }

  it('gives the probe the ISP resolver as its system resolver', async () => {
    const { stdout, code } = await lab.runInClient(['getent', 'hosts', 'news.example.az']);
    expect(code).toBe(0);
    expect(stdout).toContain(lab.addresses.sites['news.example.az']![0]);
    expect(await inClient({ op: 'lookup', host: 'no-such-name.example' })).toEqual({ error: 'ENOTFOUND' });
  });

  it('serves HTTPS with certificates of the lab CA', async () => {
    const page = await inClient({ op: 'get', url: 'https://www.example.com/' });
    expect(page.status).toBe(200);
    expect(page.title).toBe('www.example.com');
    expect((page.body as string).length).toBeGreaterThan(1000);
    expect(lab.probeNetworkArgs).toEqual([
      '--th',
      'https://th.pharos.example/',
      '--resolver',
      `${lab.addresses.publicResolver}:53`,
      '--doh',
      'https://dns.public.example/dns-query',
      '--ca',
      lab.caCertFile,
    ]);
  });

  it('drops a TLS connection by its SNI, and only that name', async () => {
    const address = lab.addresses.sites['news.example.az']![0];
    expect(await inClient({ op: 'tls', address, sni: 'news.example.az' })).toEqual({ error: 'timeout' });
    const other = lab.addresses.sites['www.example.com']![0];
    expect(await inClient({ op: 'tls', address: other, sni: 'www.example.com' })).toEqual({
      ok: true,
      authorized: true,
    });
  });

  it('resets connections to a dst address and port', async () => {
    const result = await inClient({
      op: 'tls',
      address: lab.addresses.sites['shop.example.net']![0],
      sni: 'shop.example.net',
    });
    expect(['ECONNRESET', 'ECONNREFUSED']).toContain(result.error);
    // Port 80 of the same site is untouched.
    expect((await inClient({ op: 'get', url: 'http://shop.example.net/' })).status).toBe(200);
  });

  it('lets the ISP resolver spoof the bogon while the public resolver stays honest', async () => {
    expect(await inClient({ op: 'lookup', host: 'www.example.org' })).toEqual({ addresses: [BOGON_ADDRESS] });
    expect(
      await inClient({ op: 'resolve', host: 'www.example.org', server: lab.addresses.publicResolver }),
    ).toEqual({
      addresses: lab.addresses.sites['www.example.org'],
    });
  });

  it('injects a blockpage for the matched Host only', async () => {
    const blocked = await inClient({ op: 'get', url: 'http://news.example.az/' });
    expect(blocked).toMatchObject({ status: 200, body: BLOCKPAGE, title: 'Blocked' });
    const other = await inClient({ op: 'get', url: 'http://www.example.com/' });
    expect(other).toMatchObject({ status: 200, title: 'www.example.com' });
  });

  it('replaces the rules at run time', async () => {
    await lab.applyCensor([]);
    const address = lab.addresses.sites['news.example.az']![0];
    expect(await inClient({ op: 'tls', address, sni: 'news.example.az' })).toEqual({
      ok: true,
      authorized: true,
    });
    expect(await inClient({ op: 'lookup', host: 'www.example.org' })).toEqual({
      addresses: lab.addresses.sites['www.example.org'],
    });
  });

  it('leaves nothing behind after teardown', async () => {
    const { client: cli, router, internet } = lab.namespaces;
    await lab.teardown();
    await lab.teardown(); // idempotent
    for (const name of [cli, router, internet]) {
      expect(existsSync(`/run/netns/${name}`)).toBe(false);
      expect(existsSync(`/etc/netns/${name}`)).toBe(false);
    }
    await expect(lab.runInClient(['true'])).rejects.toThrow(/torn down/);
  });

  it('removes what a process that died without tearing down left behind', async () => {
    // Another process builds a lab and is killed outright: no handler runs, the namespaces stay.
    const compiled = new URL('../dist/world/index.js', import.meta.url).href;
    const script = `import { createLab } from ${JSON.stringify(compiled)};
const lab = await createLab({ sites: [], censor: [], workDir: ${JSON.stringify(join(workDir, 'dead'))} });
console.log(JSON.stringify(lab.namespaces));
setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.setEncoding('utf8').once('data', (chunk: string) => resolve(chunk));
      child.once('exit', (code) => reject(new Error(`the lab-building process exited (${code})`)));
    });
    const dead = JSON.parse(line) as LabHandle['namespaces'];
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(existsSync(`/run/netns/${dead.client}`)).toBe(true);
    expect(await cleanupStaleLabs()).toBeGreaterThanOrEqual(1);
    for (const name of [dead.client, dead.router, dead.internet]) {
      expect(existsSync(`/run/netns/${name}`)).toBe(false);
      expect(existsSync(`/etc/netns/${name}`)).toBe(false);
    }
  });
});
