/**
 * `pharos-probe run --region` and test-list categories end to end: the real experiments measure
 * loopback stand-ins (a site, a test helper, a DNS server), and the JSONL file must carry the
 * annotations the server groups its signals by — and nothing when the run has none to give.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ControlRequest, ControlResponse } from '@pharos/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CliIO } from '../src/cli/io.js';
import { defaultRunDeps, main } from '../src/cli/main.js';
import { type CatalogFile, loadCatalog } from '../src/index.js';
import { makePKI, type PKI, page, type Running, startDNS, startHTTP, startHTTPS } from './net-fixtures.js';

const HOME = page('Pharos home', 2000);
let pki: PKI;
let site: Running;
let helper: Running;
let dns: Awaited<ReturnType<typeof startDNS>>;
let dir: string;

/** What a helper on an open network would say about any URL of the site. */
function controlFor(request: ControlRequest): ControlResponse {
  const tcp: ControlResponse['tcp_connect'] = {};
  const tls: NonNullable<ControlResponse['tls_handshake']> = {};
  for (const ep of request.tcp_connect) {
    tcp[ep] = { status: true, failure: null };
    tls[ep] = { server_name: 'localhost', status: true, failure: null };
  }
  return {
    tcp_connect: tcp,
    tls_handshake: tls,
    http_request: {
      body_length: Buffer.byteLength(HOME),
      failure: null,
      title: 'Pharos home',
      headers: { 'Content-Type': 'text/html' },
      status_code: 200,
    },
    dns: { failure: null, addrs: ['127.0.0.1'] },
    ip_info: { '127.0.0.1': { asn: 0, flags: 11 } },
  };
}

beforeAll(async () => {
  pki = makePKI();
  site = await startHTTPS(pki.valid, (req, res) => {
    req.resume();
    res.setHeader('Content-Type', 'text/html');
    res.end(HOME);
  });
  helper = await startHTTP((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // The same server stands in for the DoH resolver, which finds nothing here.
      if (req.url?.startsWith('/dns-query')) return res.writeHead(404).end();
      const request = JSON.parse(Buffer.concat(chunks).toString()) as ControlRequest;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(controlFor(request)));
    });
  });
  dns = await startDNS({ localhost: { A: ['127.0.0.1'] } });
});
afterAll(async () => {
  await Promise.all([site?.close(), helper?.close(), dns?.close()]);
});
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pharos-annotations-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function fakeIO() {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: { write: (chunk) => (stdout += chunk) },
    stderr: { write: (chunk) => (stderr += chunk), isTTY: false },
    cwd: dir,
    now: () => new Date(),
    onInterrupt: () => () => {},
  };
  return { io, stdout: () => stdout, stderr: () => stderr };
}

/** The listed URL (with a category) and one from --input (without), both on the local site. */
async function runOnLoopback(extra: string[]) {
  const listed = `https://localhost:${site.port}/news`;
  const given = `https://localhost:${site.port}/other`;
  await writeFile(
    path.join(dir, 'az.csv'),
    'url,category_code,category_description,date_added,source,notes\n' +
      `${listed},NEWS,News Media,2017-04-01,citizenlab,\n`,
  );
  await writeFile(path.join(dir, 'ca.pem'), pki.ca);
  // A platform experiment beside Web Connectivity: it measures its own endpoints, here the site.
  const catalog: CatalogFile = structuredClone(loadCatalog());
  catalog.platforms.youtube = {
    name: 'YouTube',
    endpoints: [{ host: 'localhost', port: site.port, path: '/' }],
  };
  await writeFile(path.join(dir, 'catalog.json'), JSON.stringify(catalog));
  const t = fakeIO();
  const code = await main(
    [
      'run',
      ...['--experiment', 'web_connectivity', '--experiment', 'youtube', '--catalog', 'catalog.json'],
      ...['--list', 'az.csv', '--input', given, '--output', 'out.jsonl', '--quiet'],
      ...['--ca', 'ca.pem', '--th', `http://127.0.0.1:${helper.port}/`],
      ...['--resolver', dns.address, '--doh', `http://127.0.0.1:${helper.port}/dns-query`],
      ...['--timeout', '2', ...extra],
    ],
    t.io,
    defaultRunDeps,
  );
  const text = await readFile(path.join(dir, 'out.jsonl'), 'utf8');
  const lines = text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { test_name: string; input: string | null; annotations: object });
  const find = (testName: string, input: string | null) => {
    const m = lines.find((l) => l.test_name === testName && (input === null || l.input === input));
    if (!m) throw new Error(`no ${testName} measurement of ${input} in ${text}\n${t.stderr()}`);
    return m;
  };
  return {
    code,
    stderr: t.stderr(),
    count: lines.length,
    listed: find('web_connectivity', listed),
    given: find('web_connectivity', given),
    platform: find('youtube', null),
  };
}

describe('pharos-probe run: region and category annotations', () => {
  it('--region goes in every measurement; a listed URL also carries its category', async () => {
    const run = await runOnLoopback(['--probe-cc', 'AZ', '--region', 'az-fuz']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.count).toBe(3);
    expect(run.listed.annotations).toMatchObject({
      x_region: 'AZ-FUZ',
      x_category_code: 'NEWS',
      engine_name: 'pharos-probe',
    });
    expect(run.given.annotations).toMatchObject({ x_region: 'AZ-FUZ' });
    expect(run.given.annotations).not.toHaveProperty('x_category_code');
    expect(run.platform.annotations).toMatchObject({ x_region: 'AZ-FUZ' });
    expect(run.platform.annotations).not.toHaveProperty('x_category_code');
    // OONI's annotations are a flat map of strings.
    for (const m of [run.listed, run.given, run.platform]) {
      for (const value of Object.values(m.annotations)) expect(typeof value).toBe('string');
    }
  }, 30_000);

  it('without --region no region is added; only the listed URL has a category', async () => {
    const run = await runOnLoopback([]);
    expect(run.code, run.stderr).toBe(0);
    for (const m of [run.listed, run.given, run.platform])
      expect(m.annotations).not.toHaveProperty('x_region');
    expect(run.listed.annotations).toMatchObject({ x_category_code: 'NEWS' });
    expect(run.given.annotations).not.toHaveProperty('x_category_code');
    expect(run.platform.annotations).not.toHaveProperty('x_category_code');
  }, 30_000);

  it.each([
    [['--region', 'Fuzuli'], /--region "Fuzuli": expected an ISO 3166-2 subdivision, e.g. AZ-FUZ/],
    [['--region', 'AM-ER', '--probe-cc', 'AZ'], /--region AM-ER is not in --probe-cc AZ/],
    [['--region', 'AZ-FUZ', '--region', 'AZ-BA'], /--region may be given only once/],
    [['--region'], /--region needs a value/],
  ])('run %j is a usage error naming --region', async (args, message) => {
    const t = fakeIO();
    let measured = 0;
    const code = await main(['run', '--input', 'https://a.example/', ...args], t.io, {
      measure: async () => {
        measured++;
        throw new Error('must not measure');
      },
    });
    expect(code).toBe(2);
    expect(t.stderr()).toMatch(message);
    expect(t.stderr()).toContain('Run "pharos-probe run --help" for usage.');
    expect(measured).toBe(0);
  });

  it('is in the usage text', async () => {
    const t = fakeIO();
    expect(await main(['run', '--help'], t.io, defaultRunDeps)).toBe(0);
    expect(t.stdout()).toMatch(/--region REGION\s+ISO 3166-2 region/);
  });
});
