/**
 * Each app and platform experiment end to end against loopback stand-ins: a catalog override
 * points every endpoint at servers on 127.0.0.1 (one that answers, one whose handshakes stall, one
 * that refuses) and a fake test helper answers the control. Nothing leaves the machine.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AppMeasurement, AppTestKeysBase, ControlRequest, ControlResponse } from '@pharos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APP_EXPERIMENTS,
  type AppRunOptions,
  type CatalogFile,
  createDataBudget,
  loadCatalog,
  SOFTWARE_NAME,
  SOFTWARE_VERSION,
} from '../src/index.js';
import {
  makePKI,
  type PKI,
  type Running,
  refusedPort,
  startHTTP,
  startHTTPS,
  startSilent,
} from './net-fixtures.js';

let pki: PKI;
let other: PKI;
let good: Running;
let plain: Running;
let silent: Running;
let refused: number;
let helper: Running;
let helperDown = false;
const controlRequests: ControlRequest[] = [];
let dir: string;

/** A helper on an open network: everything it is asked about works. */
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
    http_request: { body_length: 10, failure: null, title: '', headers: {}, status_code: 200 },
    dns: { failure: null, addrs: ['127.0.0.1'] },
    ip_info: {},
  };
}

function writeCatalog(name: string, edit: (c: CatalogFile) => void): string {
  const catalog: CatalogFile = structuredClone(loadCatalog());
  edit(catalog);
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(catalog));
  return file;
}

let catalogFile: string;

beforeAll(async () => {
  pki = makePKI();
  other = makePKI();
  dir = mkdtempSync(path.join(tmpdir(), 'pharos-apps-'));
  good = await startHTTPS(pki.valid, (req, res) => {
    req.resume();
    res.setHeader('Content-Type', 'text/plain');
    res.end(req.url === '/big' ? 'x'.repeat(100_000) : 'User-agent: *\n');
  });
  plain = await startHTTP((req, res) => {
    req.resume();
    res.end(req.method === 'POST' ? 'posted' : 'hello');
  });
  silent = await startSilent();
  refused = await refusedPort();
  helper = await startHTTP((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (helperDown) {
        res.destroy();
        return;
      }
      const request = JSON.parse(Buffer.concat(chunks).toString()) as ControlRequest;
      controlRequests.push(request);
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(controlFor(request)));
    });
  });
  const g = `localhost:${good.port}`;
  const s = `localhost:${silent.port}`;
  catalogFile = writeCatalog('loopback', (c) => {
    c.apps.whatsapp.endpoints = { hosts: ['localhost'], ports: [good.port, refused] };
    c.apps.whatsapp.registration = `https://${g}/v2/register`;
    c.apps.whatsapp.web = `https://${s}/`;
    c.apps.whatsapp.throttle = `https://${s}/`;
    c.apps.telegram.datacenters = [{ name: 'dc1', ip: '127.0.0.1' }];
    c.apps.telegram.ports = [plain.port, refused];
    c.apps.telegram.web = `https://${g}/`;
    c.apps.telegram.throttle = `https://${g}/`;
    c.apps.signal.targets = [`https://${g}/`];
    c.apps.signal.uptime = 'localhost';
    c.apps.signal.ca = [pki.ca];
    c.apps.facebook_messenger.port = good.port;
    c.apps.facebook_messenger.services = [
      { key: 'stun', host: 'localhost', tcp: false },
      { key: 'b_api', host: 'localhost' },
    ];
    c.platforms.tiktok = {
      name: 'TikTok',
      endpoints: [
        { host: 'localhost', port: good.port, path: '/robots.txt', role: 'web', throttle: true },
        { host: 'localhost', port: good.port, path: '/big', role: 'media' },
        { host: 'localhost', port: silent.port, path: '/robots.txt', role: 'static' },
      ],
    };
    c.platforms.youtube = {
      name: 'YouTube',
      endpoints: [{ host: 'localhost', port: good.port, path: '/robots.txt' }],
    };
  });
});

afterAll(async () => {
  await Promise.all([good, plain, silent, helper].map((s) => s?.close()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function options(extra: AppRunOptions = {}): AppRunOptions {
  return {
    catalog: catalogFile,
    extraCA: [pki.ca],
    testHelpers: [`http://127.0.0.1:${helper.port}/`],
    timeouts: { dns: 2000, connect: 2000, tls: 600, http: 2000, control: 3000 },
    probeCC: 'AZ',
    probeASN: 'AS29049',
    ...extra,
  };
}

/** Every endpoint record, for messages. */
function endpoints(m: AppMeasurement<AppTestKeysBase>): string {
  return JSON.stringify(m.test_keys.x_endpoints, null, 1);
}

describe('app experiments against loopback stand-ins', () => {
  it('whatsapp: endpoints and registration answer, web stalls after the ClientHello', async () => {
    const m = await APP_EXPERIMENTS.whatsapp!.run(options());
    expect(m).toMatchObject({
      data_format_version: '0.2.0',
      test_name: 'whatsapp',
      test_version: '0.11.0',
      input: null,
      probe_ip: '127.0.0.1',
      probe_cc: 'AZ',
      probe_asn: 'AS29049',
      software_name: SOFTWARE_NAME,
      software_version: SOFTWARE_VERSION,
      test_helpers: { backend: { address: `http://127.0.0.1:${helper.port}/`, type: 'http' } },
    });
    expect(m.report_id).toMatch(/^\d{8}T\d{6}Z_whatsapp_AZ_29049_n1_[A-Za-z0-9]{16}$/);
    expect(m.test_keys, endpoints(m)).toMatchObject({
      whatsapp_endpoints_status: 'ok',
      whatsapp_endpoints_blocked: [],
      registration_server_status: 'ok',
      whatsapp_web_status: 'blocked',
      whatsapp_web_failure: 'generic_timeout_error',
      x_verdict: 'blocked',
      x_mechanism: 'tls.timeout',
      x_failed_endpoints: ['localhost'],
      x_data_budget_exhausted: false,
      x_failure: null,
    });
    expect(m.test_keys.tcp_connect!.length).toBeGreaterThanOrEqual(3);
    expect(m.test_keys.x_bytes_received).toBeGreaterThan(0);
  });

  it('telegram: one data-centre port answers the POST, so neither TCP nor HTTP is blocked', async () => {
    const m = await APP_EXPERIMENTS.telegram!.run(options());
    expect(m.test_keys, endpoints(m)).toMatchObject({
      telegram_tcp_blocking: false,
      telegram_http_blocking: false,
      telegram_web_status: 'ok',
      telegram_web_failure: null,
      x_verdict: 'ok',
      x_failed_endpoints: [`127.0.0.1:${refused}`],
    });
    const post = m.test_keys.requests!.find((r) => r.request.method === 'POST');
    expect(post?.response?.body).toBe('posted');
  });

  it('signal: the chain leads to the pinned CA; another pinned CA makes the same server fail', async () => {
    const m = await APP_EXPERIMENTS.signal!.run(options());
    expect(m.test_keys, endpoints(m)).toMatchObject({
      signal_backend_status: 'ok',
      signal_backend_failure: null,
      x_verdict: 'ok',
    });
    const pinnedElsewhere = writeCatalog('signal-other-ca', (c) => {
      c.apps.signal.targets = [`https://localhost:${good.port}/`];
      c.apps.signal.ca = [other.ca];
    });
    const mitm = await APP_EXPERIMENTS.signal!.run(options({ catalog: pinnedElsewhere }));
    expect(mitm.test_keys, endpoints(mitm)).toMatchObject({
      signal_backend_status: 'blocked',
      signal_backend_failure: 'ssl_unknown_authority',
      x_verdict: 'blocked',
      x_mechanism: 'tls.mitm.self_signed',
    });
    const handshake = mitm.test_keys.tls_handshakes!.at(-1)!;
    expect(handshake.failure).toBe('ssl_unknown_authority');
    expect(handshake.peer_certificates?.length).toBeGreaterThan(0);
  });

  it('facebook_messenger: consistent only when the answers are in AS32934', async () => {
    const table = path.join(dir, 'asn.csv');
    writeFileSync(table, 'start,end,asn\n127.0.0.1,127.0.0.1,32934\n::1,::1,32934\n');
    const m = await APP_EXPERIMENTS.facebook_messenger!.run(options({ asnTable: table }));
    expect(m.test_keys, endpoints(m)).toMatchObject({
      facebook_stun_dns_consistent: true,
      facebook_stun_reachable: null,
      facebook_b_api_dns_consistent: true,
      facebook_b_api_reachable: true,
      facebook_dns_blocking: false,
      facebook_tcp_blocking: false,
      x_verdict: 'ok',
    });
    // Without the table, 127.0.0.1 is nobody's: OONI's rule calls that DNS blocking.
    const outside = await APP_EXPERIMENTS.facebook_messenger!.run(options());
    expect(outside.test_keys).toMatchObject({
      facebook_b_api_dns_consistent: false,
      facebook_b_api_reachable: null,
      facebook_dns_blocking: true,
    });
    // The helper's answers are not in AS32934 either: not a lie, the data is stale.
    expect(outside.test_keys.x_verdict).toBe('ok');
  });

  it('a platform: blocked for the endpoint that stalls, the big body cut at the cap', async () => {
    controlRequests.length = 0;
    const m = await APP_EXPERIMENTS.tiktok!.run(options());
    expect(m).toMatchObject({ test_name: 'tiktok', input: 'tiktok', test_version: '0.1.0' });
    expect(m.test_keys, endpoints(m)).toMatchObject({
      x_platform: 'TikTok',
      x_verdict: 'blocked',
      x_mechanism: 'tls.timeout',
      x_failed_endpoints: ['localhost'],
      x_blocked_endpoints: ['localhost'],
    });
    expect(m.test_keys.x_endpoints.map((e) => e.status)).toEqual(['ok', 'ok', 'failed']);
    const big = m.test_keys.requests!.find((r) => r.request.url.endsWith('/big'))!;
    expect(big.response?.body_is_truncated).toBe(true);
    // Only the failed endpoint was sent to the helper.
    expect(controlRequests.map((r) => r.http_request)).toEqual([
      `https://localhost:${silent.port}/robots.txt`,
    ]);
  });

  it('says null, not blocked, when no test helper answers', async () => {
    helperDown = true;
    try {
      const m = await APP_EXPERIMENTS.tiktok!.run(options());
      expect(m.test_keys.x_verdict).toBeNull();
      expect(m.test_keys.x_failed_endpoints).toEqual(['localhost']);
      expect(m.test_keys.x_control_failure).not.toBeNull();
    } finally {
      helperDown = false;
    }
  });

  it('stops starting endpoints once the data budget is spent, and says so', async () => {
    const budget = createDataBudget(1);
    const m = await APP_EXPERIMENTS.tiktok!.run(options({ dataBudget: budget, concurrency: 1 }));
    expect(m.test_keys.x_data_budget_exhausted).toBe(true);
    expect(m.test_keys.x_endpoints.map((e) => e.status)).toEqual(['ok', 'skipped', 'skipped']);
    expect(m.test_keys.x_verdict).toBe('ok');
    expect(budget.spent).toBe(m.test_keys.x_bytes_sent + m.test_keys.x_bytes_received);
    const none = await APP_EXPERIMENTS.youtube!.run(options({ dataBudget: budget }));
    expect(none.test_keys).toMatchObject({ x_verdict: null, x_data_budget_exhausted: true, x_bytes_sent: 0 });
  });

  it('hands a reachable platform to the throttling check, and reports what it says', async () => {
    const seen: string[] = [];
    const m = await APP_EXPERIMENTS.youtube!.run(
      options({
        throttling: async (target) => {
          seen.push(`${target.experiment} ${target.url} ${target.address}`);
          return {
            throttled: true,
            mechanism: 'tls.throttle.sni',
            testKeys: { ratio: 0.03 },
            bytesReceived: 1000,
          };
        },
      }),
    );
    expect(seen).toEqual([`youtube https://localhost:${good.port}/robots.txt 127.0.0.1`]);
    expect(m.test_keys).toMatchObject({
      x_verdict: 'throttled',
      x_mechanism: 'tls.throttle.sni',
      x_throttling: [{ endpoint: 'localhost', throttled: true, test_keys: { ratio: 0.03 } }],
    });
    // A blocked experiment is not checked for throttling.
    let called = false;
    const blocked = await APP_EXPERIMENTS.whatsapp!.run(
      options({
        throttling: async () => {
          called = true;
          return { throttled: false };
        },
      }),
    );
    expect(blocked.test_keys.x_verdict).toBe('blocked');
    expect(called).toBe(false);
  });

  it('never throws: an unreadable catalog is a measurement with x_failure', async () => {
    const m = await APP_EXPERIMENTS.signal!.run(options({ catalog: path.join(dir, 'missing.json') }));
    expect(m.test_keys).toMatchObject({
      x_verdict: null,
      signal_backend_status: null,
      x_failure: expect.stringMatching(/^unknown_failure: catalog .*missing\.json: cannot read/),
    });
  });
});
