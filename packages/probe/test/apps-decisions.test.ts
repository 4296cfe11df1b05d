/**
 * The app and platform experiments' decisions, from synthetic observations: OONI's keys for each
 * messaging app, the control's judgement of a failed endpoint, Pharos's verdict, mechanisms, the
 * ASN table, the data budget and the catalog. No network.
 */
import type { ControlResponse } from '@pharos/core';
import { describe, expect, it } from 'vitest';
import { AsnTable, ipToBigInt, loadAsnTable, prefixRange } from '../src/experiments/apps/asn.js';
import { BudgetGate, createDataBudget } from '../src/experiments/apps/budget.js';
import { type EndpointRecord, fail, judgeControl, newRecord } from '../src/experiments/apps/engine.js';
import { APP_EXPERIMENTS, PLATFORM_NAMES } from '../src/experiments/apps/index.js';
import { failureMechanism } from '../src/experiments/apps/mechanism.js';
import { asnJudge, messengerKeys, outsideFailure } from '../src/experiments/apps/messenger.js';
import { signalKeys } from '../src/experiments/apps/signal.js';
import { telegramKeys } from '../src/experiments/apps/telegram.js';
import { decide, mostFrequent } from '../src/experiments/apps/verdict.js';
import { whatsappKeys } from '../src/experiments/apps/whatsapp.js';
import { CatalogError, loadCatalog, parseCatalog } from '../src/experiments/catalog/index.js';
import { Trace } from '../src/net/trace.js';

function ok(name: string, kind: EndpointRecord['kind'] = 'https'): EndpointRecord {
  return newRecord(name, kind, `https://${name}/`, name);
}

function failed(
  name: string,
  operation: Parameters<typeof fail>[1],
  failure: string,
  control: EndpointRecord['control'] = null,
  url = `https://${name}/`,
): EndpointRecord {
  const r = fail(newRecord(name, url.startsWith('https') ? 'https' : 'http', url, name), operation, failure);
  r.control = control;
  return r;
}

function skipped(name: string): EndpointRecord {
  const r = ok(name);
  r.status = 'skipped';
  return r;
}

function control(overrides: Partial<ControlResponse> = {}): ControlResponse {
  return {
    tcp_connect: {},
    tls_handshake: {},
    http_request: { body_length: 10, failure: null, title: '', headers: {}, status_code: 200 },
    dns: { failure: null, addrs: ['157.240.1.35'] },
    ...overrides,
  };
}

describe('whatsapp keys (OONI ts-018)', () => {
  const hosts = (states: ('ok' | 'failed')[]) =>
    states.map((s, i) =>
      s === 'ok'
        ? ok(`e${i + 1}.whatsapp.net`, 'tcp')
        : failed(`e${i + 1}.whatsapp.net`, 'connect', 'generic_timeout_error'),
    );

  it('blocks the endpoints only when no host connected on any port', () => {
    const all = hosts(['failed', 'failed', 'failed']);
    const keys = whatsappKeys(all, ok('v.whatsapp.net'), ok('web.whatsapp.com'));
    expect(keys).toMatchObject({
      whatsapp_endpoints_status: 'blocked',
      whatsapp_endpoints_blocked: ['e1.whatsapp.net', 'e2.whatsapp.net', 'e3.whatsapp.net'],
      whatsapp_endpoints_dns_inconsistent: [],
      registration_server_status: 'ok',
      registration_server_failure: null,
      whatsapp_web_status: 'ok',
      whatsapp_web_failure: null,
    });
    expect(all.every((r) => r.counted)).toBe(true);
  });

  it('lists failing hosts but calls the endpoints ok when one connects, and does not count them', () => {
    const some = hosts(['failed', 'ok', 'failed']);
    const keys = whatsappKeys(some, ok('v.whatsapp.net'), ok('web.whatsapp.com'));
    expect(keys.whatsapp_endpoints_status).toBe('ok');
    expect(keys.whatsapp_endpoints_blocked).toEqual(['e1.whatsapp.net', 'e3.whatsapp.net']);
    expect(some.some((r) => r.counted)).toBe(false);
  });

  it('blocks registration and web on any failure, and says null when not measured', () => {
    const keys = whatsappKeys(
      hosts(['ok']),
      failed('v.whatsapp.net', 'tls_handshake', 'generic_timeout_error'),
      skipped('web.whatsapp.com'),
    );
    expect(keys).toMatchObject({
      registration_server_status: 'blocked',
      registration_server_failure: 'generic_timeout_error',
      whatsapp_web_status: null,
    });
    expect(whatsappKeys([], undefined, undefined).whatsapp_endpoints_status).toBeNull();
  });
});

describe('telegram keys (OONI ts-020)', () => {
  const dc = (failure: string | null, operation: 'connect' | 'http_round_trip' = 'connect') =>
    failure === null
      ? newRecord('dc', 'http', 'http://149.154.175.50:80/', '149.154.175.50')
      : failed('dc', operation, failure, null, 'http://149.154.175.50:80/');

  it('flags TCP and HTTP blocking when every connect fails', () => {
    const dcs = [dc('generic_timeout_error'), dc('connection_refused')];
    expect(telegramKeys(dcs, ok('web.telegram.org'))).toEqual({
      telegram_http_blocking: true,
      telegram_tcp_blocking: true,
      telegram_web_failure: null,
      telegram_web_status: 'ok',
    });
    expect(dcs.every((r) => r.counted)).toBe(true);
  });

  it('clears TCP blocking when a failure comes after the connect', () => {
    const keys = telegramKeys(
      [dc('generic_timeout_error'), dc('connection_reset', 'http_round_trip')],
      ok('web.telegram.org'),
    );
    expect(keys).toMatchObject({ telegram_http_blocking: true, telegram_tcp_blocking: false });
  });

  it('clears both when any POST succeeds, and does not count the failing data centres', () => {
    const dcs = [dc('generic_timeout_error'), dc(null)];
    expect(telegramKeys(dcs, ok('web.telegram.org'))).toMatchObject({
      telegram_http_blocking: false,
      telegram_tcp_blocking: false,
    });
    expect(dcs.some((r) => r.counted)).toBe(false);
  });

  it('blocks the web on its failure; null when nothing was measured', () => {
    expect(
      telegramKeys([dc(null)], failed('web.telegram.org', 'tls_handshake', 'connection_reset')),
    ).toMatchObject({ telegram_web_status: 'blocked', telegram_web_failure: 'connection_reset' });
    expect(telegramKeys([], undefined)).toEqual({
      telegram_http_blocking: null,
      telegram_tcp_blocking: null,
      telegram_web_failure: null,
      telegram_web_status: null,
    });
  });
});

describe('signal keys (OONI ts-029)', () => {
  it('is blocked when any target fails, with the first failure', () => {
    expect(
      signalKeys([
        ok('cdsi.signal.org'),
        failed('chat.signal.org', 'tls_handshake', 'ssl_unknown_authority'),
        failed('storage.signal.org', 'connect', 'generic_timeout_error'),
      ]),
    ).toEqual({ signal_backend_status: 'blocked', signal_backend_failure: 'ssl_unknown_authority' });
    expect(signalKeys([ok('cdsi.signal.org')])).toEqual({
      signal_backend_status: 'ok',
      signal_backend_failure: null,
    });
    expect(signalKeys([skipped('cdsi.signal.org')]).signal_backend_status).toBeNull();
  });
});

describe('facebook_messenger keys (OONI ts-019)', () => {
  it('has a pair of keys per service and flags DNS and TCP blocking', () => {
    const keys = messengerKeys([
      { key: 'stun', record: ok('stun.fbsbx.com', 'dns'), dnsConsistent: true, reachable: null },
      { key: 'b_api', record: ok('b-api.facebook.com', 'tcp'), dnsConsistent: false, reachable: null },
      { key: 'edge', record: ok('edge-mqtt.facebook.com', 'tcp'), dnsConsistent: true, reachable: false },
      { key: 'star', record: ok('star.c10r.facebook.com', 'tcp'), dnsConsistent: true, reachable: true },
    ]);
    expect(keys).toEqual({
      facebook_stun_dns_consistent: true,
      facebook_stun_reachable: null,
      facebook_b_api_dns_consistent: false,
      facebook_b_api_reachable: null,
      facebook_edge_dns_consistent: true,
      facebook_edge_reachable: false,
      facebook_star_dns_consistent: true,
      facebook_star_reachable: true,
      facebook_dns_blocking: true,
      facebook_tcp_blocking: true,
    });
    expect(messengerKeys([])).toMatchObject({ facebook_dns_blocking: null, facebook_tcp_blocking: null });
  });

  it('judges an answer outside the network by the control’s answers', () => {
    const table = new AsnTable();
    table.addPrefixes({ '32934': ['157.240.0.0/16'] });
    const ctx = { asn: () => table } as unknown as Parameters<typeof asnJudge>[0];
    const lie = fail(
      newRecord('b-api.facebook.com', 'tcp', 'https://b-api.facebook.com/', 'b-api.facebook.com'),
      'resolve',
      outsideFailure(32934),
    );
    lie.addresses = ['10.10.34.35'];
    const judge = asnJudge(ctx, lie, 32934);
    expect(judge(control())).toBe('reachable');
    expect(lie.mechanism).toBe('dns.injection.bogon');
    const proxy = { ...lie, addresses: ['93.184.216.34'] };
    expect(asnJudge(ctx, proxy, 32934)(control())).toBe('reachable');
    expect(proxy.mechanism).toBe('dns.injection.other');
    expect(judge(control({ dns: { failure: 'dns_nxdomain_error', addrs: [] } }))).toBe('unreachable');
    // The control's answers are outside too: our ASN data is stale, not a lie; it no longer counts.
    expect(lie.counted).toBe(true);
    expect(judge(control({ dns: { failure: null, addrs: ['203.0.113.9'] } }))).toBeNull();
    expect(lie.counted).toBe(false);
  });
});

describe('the control of a failed endpoint', () => {
  it('reads a DNS failure as blocked when the helper resolves the name', () => {
    const r = failed('www.tiktok.com', 'resolve', 'dns_nxdomain_error');
    judgeControl(r, control());
    expect(r.control).toBe('reachable');
    const down = failed('gone.example', 'resolve', 'dns_nxdomain_error');
    judgeControl(down, control({ dns: { failure: 'dns_nxdomain_error', addrs: [] } }));
    expect(down.control).toBe('unreachable');
  });

  it('reads loopback answers as a lie only when the helper found other addresses', () => {
    const r = failed('www.tiktok.com', 'resolve', 'dns_bogon_error');
    r.addresses = ['127.0.0.1'];
    judgeControl(r, control());
    expect(r).toMatchObject({ control: 'reachable', mechanism: 'dns.injection.bogon' });
  });

  it('reads a connect failure by the helper’s connect to the same address', () => {
    const r = failed('e1.whatsapp.net', 'connect', 'generic_timeout_error');
    r.attempts = [
      { ip: '157.240.1.53', port: 443, failure: 'generic_timeout_error' },
      { ip: '157.240.1.53', port: 5222, failure: 'generic_timeout_error' },
    ];
    r.addresses = ['157.240.1.53'];
    judgeControl(
      r,
      control({
        dns: { failure: null, addrs: ['157.240.1.53'] },
        tcp_connect: { '157.240.1.53:443': { status: true, failure: null } },
      }),
    );
    expect(r).toMatchObject({ control: 'reachable', mechanism: 'tcp.timeout' });
    judgeControl(
      r,
      control({ tcp_connect: { '157.240.1.53:443': { status: false, failure: 'generic_timeout_error' } } }),
    );
    expect(r.control).toBe('unreachable');
    // No connect result for our address (a helper that refuses bogons): the page decides.
    judgeControl(
      r,
      control({
        http_request: {
          body_length: 0,
          failure: 'generic_timeout_error',
          title: '',
          headers: {},
          status_code: 0,
        },
      }),
    );
    expect(r.control).toBe('unreachable');
  });

  it('labels a spoofed bogon we connected to, far from the helper’s addresses', () => {
    const r = failed('www.tiktok.com', 'connect', 'host_unreachable');
    r.attempts = [{ ip: '10.10.34.35', port: 443, failure: 'host_unreachable' }];
    judgeControl(r, control({ dns: { failure: null, addrs: ['23.1.2.3'] } }));
    expect(r).toMatchObject({ control: 'reachable', mechanism: 'dns.injection.bogon' });
    // In a private world (the lab) a private address near the real ones is a server, not a sinkhole.
    const near = failed('www.tiktok.com', 'connect', 'generic_timeout_error');
    near.attempts = [{ ip: '10.105.16.5', port: 443, failure: 'generic_timeout_error' }];
    judgeControl(near, control({ dns: { failure: null, addrs: ['10.105.17.40'] } }));
    expect(near.mechanism).toBe('tcp.timeout');
  });

  it('reads a TLS failure by the helper’s handshake; a rejected certificate still answered', () => {
    const r = failed('chat.signal.org', 'tls_handshake', 'generic_timeout_error');
    r.attempts = [{ ip: '13.248.212.111', port: 443, failure: null }];
    const tls = (status: boolean, failure: string | null) =>
      control({
        dns: { failure: null, addrs: ['13.248.212.111'] },
        tls_handshake: { '13.248.212.111:443': { server_name: 'chat.signal.org', status, failure } },
      });
    judgeControl(r, tls(false, 'ssl_unknown_authority'));
    expect(r.control).toBe('reachable');
    judgeControl(r, tls(false, 'generic_timeout_error'));
    expect(r.control).toBe('unreachable');
    judgeControl(r, tls(true, null));
    expect(r).toMatchObject({ control: 'reachable', mechanism: 'tls.timeout' });
  });

  it('calls a certificate failure on addresses the helper never saw a DNS lie', () => {
    const r = failed('www.youtube.com', 'tls_handshake', 'ssl_unknown_authority');
    r.attempts = [{ ip: '93.184.216.34', port: 443, failure: null }];
    judgeControl(r, control({ dns: { failure: null, addrs: ['142.250.1.1'] } }));
    expect(r).toMatchObject({ control: 'reachable', mechanism: 'dns.injection.other' });
  });

  it('reads an HTTP failure by the helper’s fetch; a private CA’s rejection counts as an answer', () => {
    const r = failed('cdsi.signal.org', 'http_round_trip', 'generic_timeout_error');
    judgeControl(r, control());
    expect(r.control).toBe('reachable');
    const cert = { body_length: 0, failure: 'ssl_unknown_authority', title: '', headers: {}, status_code: 0 };
    judgeControl(r, control({ http_request: cert }));
    expect(r.control).toBe('unreachable');
    r.privateCA = true;
    judgeControl(r, control({ http_request: cert }));
    expect(r.control).toBe('reachable');
  });
});

describe('the verdict', () => {
  it('is ok when every counted endpoint answered', () => {
    expect(decide([ok('a'), ok('b')])).toEqual({ verdict: 'ok', mechanism: null, failed: [], blocked: [] });
  });

  it('is blocked when a failure is reached by the control, with the most frequent mechanism', () => {
    const d = decide([
      ok('a'),
      failed('b', 'tls_handshake', 'generic_timeout_error', 'reachable'),
      failed('c', 'tls_handshake', 'generic_timeout_error', 'reachable'),
      failed('d', 'connect', 'connection_reset', 'reachable'),
      failed('e', 'connect', 'generic_timeout_error', 'unreachable'),
    ]);
    expect(d).toEqual({
      verdict: 'blocked',
      mechanism: 'tls.timeout',
      failed: ['b', 'c', 'd', 'e'],
      blocked: ['b', 'c', 'd'],
    });
  });

  it('is null when a failure has no control, down when every endpoint fails for the control too', () => {
    expect(decide([ok('a'), failed('b', 'connect', 'generic_timeout_error', null)]).verdict).toBeNull();
    expect(
      decide([
        failed('a', 'connect', 'generic_timeout_error', 'unreachable'),
        failed('b', 'resolve', 'dns_nxdomain_error', 'unreachable'),
      ]).verdict,
    ).toBe('down');
  });

  it('is ok when only some endpoints are down for everyone', () => {
    const d = decide([ok('a'), failed('b', 'connect', 'generic_timeout_error', 'unreachable')]);
    expect(d).toMatchObject({ verdict: 'ok', failed: ['b'], blocked: [] });
  });

  it('ignores failures the experiment does not count, but still lists them', () => {
    const lone = failed('e3.whatsapp.net', 'connect', 'generic_timeout_error', 'reachable');
    lone.counted = false;
    expect(decide([ok('e1.whatsapp.net'), lone])).toMatchObject({
      verdict: 'ok',
      failed: ['e3.whatsapp.net'],
      blocked: [],
    });
  });

  it('decides from what was measured; nothing measured is null', () => {
    expect(decide([ok('a'), skipped('b')]).verdict).toBe('ok');
    expect(decide([skipped('a'), skipped('b')]).verdict).toBeNull();
  });

  it('sets each endpoint’s own verdict', () => {
    const records = [
      ok('a'),
      failed('b', 'connect', 'x', 'reachable'),
      failed('c', 'connect', 'x', 'unreachable'),
      failed('d', 'connect', 'x', null),
      skipped('e'),
    ];
    decide(records);
    expect(records.map((r) => r.verdict)).toEqual(['ok', 'blocked', 'down', null, null]);
  });

  it('takes the earliest of equally frequent mechanisms', () => {
    expect(mostFrequent(['tcp.timeout', 'tls.timeout', 'tls.timeout', 'tcp.timeout'])).toBe('tcp.timeout');
    expect(mostFrequent([])).toBeNull();
  });
});

describe('mechanism labels', () => {
  it('reads the failure by the operation that failed', () => {
    const cases: [Parameters<typeof failureMechanism>, string][] = [
      [['resolve', 'dns_nxdomain_error', true], 'dns.nxdomain'],
      [['resolve', 'dns_no_answer', true], 'dns.nxdomain'],
      [['resolve', 'generic_timeout_error', true], 'dns.timeout'],
      [['resolve', 'dns_servfail_error', true], 'dns.refused'],
      [['resolve', 'dns_bogon_error', true], 'dns.injection.bogon'],
      [['resolve', outsideFailure(32934), true], 'dns.injection.other'],
      [['connect', 'generic_timeout_error', true], 'tcp.timeout'],
      [['connect', 'connection_refused', true], 'tcp.refused'],
      [['connect', 'connection_reset', true], 'tcp.reset'],
      [['connect', 'host_unreachable', true], 'ip.unreachable'],
      [['tls_handshake', 'connection_reset', true], 'tls.reset.sni'],
      [['tls_handshake', 'generic_timeout_error', true], 'tls.timeout'],
      [['tls_handshake', 'eof_error', true], 'tls.reset.other'],
      [['tls_handshake', 'ssl_unknown_authority', true], 'tls.mitm.self_signed'],
      [['tls_handshake', 'ssl_invalid_hostname', true], 'tls.mitm.ca_signed'],
      [['http_round_trip', 'generic_timeout_error', false], 'http.timeout'],
      [['http_round_trip', 'connection_reset', false], 'http.reset.host'],
      [['http_round_trip', 'connection_reset', true], 'http.error'],
    ];
    for (const [args, label] of cases) expect(failureMechanism(...args), args.join(' ')).toBe(label);
  });
});

describe('the IP→ASN table', () => {
  it('reads start,end,asn lines (IPv4 and IPv6), skipping a header and comments', () => {
    const table = new AsnTable();
    table.addCSV(
      [
        'start,end,asn',
        '# Facebook',
        '157.240.0.0,157.240.255.255,32934',
        '2a03:2880::,2a03:2887:ffff:ffff:ffff:ffff:ffff:ffff,AS32934',
        '',
        '8.8.8.0,8.8.8.255,15169',
      ].join('\n'),
    );
    expect(table.lookup('157.240.1.35')).toBe(32934);
    expect(table.lookup('2a03:2880:f10c:83:face:b00c:0:25de')).toBe(32934);
    expect(table.lookup('8.8.8.8')).toBe(15169);
    expect(table.lookup('1.1.1.1')).toBeNull();
    expect(table.lookup('not-an-ip')).toBeNull();
    expect(() => table.addCSV('a,b,c\n1.2.3.4,nope,5\n', 'bad.csv')).toThrow(/bad\.csv:2/);
  });

  it('takes the catalog’s prefixes, and lets the file win where both know an address', () => {
    expect(prefixRange('31.13.24.0/21')).toEqual({
      start: ipToBigInt('31.13.24.0'),
      end: ipToBigInt('31.13.31.255'),
    });
    expect(ipToBigInt('::ffff:1.2.3.4')).toBe(ipToBigInt('1.2.3.4'));
    const table = new AsnTable();
    table.addPrefixes({ '32934': ['31.13.24.0/21', '2a03:2880::/29'] });
    expect(table.lookup('31.13.31.1')).toBe(32934);
    expect(table.lookup('31.13.32.1')).toBeNull();
    table.addCSV('31.13.31.0,31.13.31.255,64500\n');
    expect(table.lookup('31.13.31.1')).toBe(64500);
    expect(loadAsnTable(loadCatalog().asn_prefixes).lookup('157.240.22.35')).toBe(32934);
  });
});

describe('the data budget', () => {
  it('lets fetches start until the bytes spent reach it', () => {
    const budget = createDataBudget(1000);
    const trace = new Trace();
    const gate = new BudgetGate(budget, trace);
    expect(gate.mayStart()).toBe(true);
    trace.addBytes(300, 600);
    expect(gate.mayStart()).toBe(true);
    expect(budget.remaining()).toBe(100);
    trace.addBytes(0, 100);
    expect(gate.mayStart()).toBe(false);
    expect(gate.exhausted).toBe(true);
    expect(budget.spent).toBe(1000);
    // Without a budget nothing is ever refused.
    expect(new BudgetGate(undefined, trace).mayStart()).toBe(true);
  });
});

describe('the catalog', () => {
  it('ships every app and the five platforms, with Signal’s CAs and Facebook’s prefixes', () => {
    const catalog = loadCatalog();
    expect(Object.keys(catalog.platforms)).toEqual([...PLATFORM_NAMES]);
    expect(catalog.apps.whatsapp.endpoints.hosts).toHaveLength(16);
    expect(catalog.apps.whatsapp.endpoints.ports).toEqual([443, 5222]);
    expect(catalog.apps.telegram.datacenters.map((d) => d.ip)).toEqual([
      '149.154.175.50',
      '149.154.167.51',
      '149.154.175.100',
      '149.154.167.91',
      '149.154.171.5',
      '95.161.76.100',
    ]);
    expect(catalog.apps.signal.ca).toHaveLength(2);
    expect(catalog.apps.facebook_messenger.asn).toBe(32934);
    expect(catalog.apps.facebook_messenger.services.map((s) => s.key)).toEqual([
      'stun',
      'b_api',
      'b_graph',
      'edge',
      'external_cdn',
      'scontent_cdn',
      'star',
    ]);
    expect(catalog.platforms.tiktok!.endpoints.length).toBe(25);
    expect(catalog.asn_prefixes['32934']).toContain('157.240.0.0/16');
  });

  it('names the file and the key of a mistake in an override', () => {
    const catalog = structuredClone(loadCatalog()) as unknown as Record<string, unknown>;
    (catalog.apps as Record<string, Record<string, unknown>>).telegram!.datacenters = [
      { name: 'dc1', ip: 'nope' },
    ];
    expect(() => parseCatalog(catalog, 'mine.json')).toThrow(
      /mine\.json: apps\.telegram\.datacenters\[0\]\.ip/,
    );
    expect(() => loadCatalog('/nonexistent/catalog.json')).toThrow(CatalogError);
  });

  it('gives the CLI one experiment per name', () => {
    expect(Object.keys(APP_EXPERIMENTS)).toEqual([
      'whatsapp',
      'telegram',
      'signal',
      'facebook_messenger',
      'tiktok',
      'youtube',
      'instagram',
      'facebook',
      'x',
    ]);
    for (const [name, experiment] of Object.entries(APP_EXPERIMENTS)) {
      expect(experiment.name).toBe(name);
      expect(experiment.description.length).toBeGreaterThan(10);
    }
  });
});
