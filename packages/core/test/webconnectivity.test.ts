import { describe, expect, it } from 'vitest';
import { analyzeWebConnectivity, isMechanism } from '../src/index.js';
import {
  control,
  healthyHTTP,
  healthyHTTPS,
  observations,
  query,
  request,
  SITE_IP,
  tcp,
  tls,
} from './support/synthetic.js';

const HOST = 'www.example.com';
const CDN_IP = '23.45.67.89'; // an Akamai-like CDN edge the control never sees
const CDN_ASN = 20940;

describe('baseline', () => {
  it('a healthy HTTPS fetch is accessible and not blocked', () => {
    const r = analyzeWebConnectivity(healthyHTTPS());
    expect(r).toMatchObject({
      dns_consistency: 'consistent',
      blocking: false,
      accessible: true,
      x_mechanism: null,
    });
    expect(r.x_blocking_fingerprints).toEqual([]);
    expect(r.x_confirmed).toBe(false);
  });

  it('a healthy HTTP fetch compares with the control and is accessible', () => {
    const r = analyzeWebConnectivity(healthyHTTP());
    expect(r).toMatchObject({
      blocking: false,
      accessible: true,
      body_length_match: true,
      status_code_match: true,
      headers_match: true,
      title_match: true,
    });
  });
});

describe('DNS consistency', () => {
  it('an answer sharing the ASN (not the address) with the control is consistent', () => {
    const r = analyzeWebConnectivity(
      healthyHTTP({
        queries: [query(HOST, ['93.184.216.99'])],
        control: control({ asn: { '93.184.216.99': 15133 } }),
      }),
    );
    expect(r.dns_consistency).toBe('consistent');
  });

  it('ASN 0 (unknown) never matches', () => {
    const r = analyzeWebConnectivity(
      healthyHTTP({
        queries: [query(HOST, ['198.51.200.1'])],
        control: control({ dnsAddrs: ['198.51.200.2'], asn: { '198.51.200.1': 0, '198.51.200.2': 0 } }),
      }),
    );
    expect(r.dns_consistency).toBe('inconsistent');
  });

  it('fix (a), the TikTok-2022 case: a CDN answer the control never saw, but TLS-valid, is consistent', () => {
    // Azerbaijan-style: DNS and TCP fine, the CDN address proves it serves the host with a valid
    // certificate, then the fetch stalls. This is not DNS blocking.
    const obs = observations(`https://${HOST}/`, {
      queries: [query(HOST, [CDN_IP])],
      tcp_connect: [tcp(CDN_IP, 443, null, { tid: 1 })],
      tls_handshakes: [tls(CDN_IP, HOST, null, { tid: 1 })],
      requests: [request(`https://${HOST}/`, `${CDN_IP}:443`, 'generic_timeout_error', { tid: 1 })],
      control: control({ asn: { [CDN_IP]: CDN_ASN } }),
    });
    const r = analyzeWebConnectivity(obs);
    expect(r.dns_consistency).toBe('consistent');
    expect(r.blocking).toBe('http-failure');
    expect(r.x_mechanism).toBe('http.timeout');
  });

  it('fix (a) needs a verified certificate for this very host', () => {
    const base = {
      queries: [query(HOST, [CDN_IP])],
      tcp_connect: [tcp(CDN_IP, 443, null, { tid: 1 })],
      requests: [request(`https://${HOST}/`, `${CDN_IP}:443`, 'generic_timeout_error', { tid: 1 })],
      control: control({ asn: { [CDN_IP]: CDN_ASN } }),
    };
    const unverified = observations(`https://${HOST}/`, {
      ...base,
      tls_handshakes: [tls(CDN_IP, HOST, null, { tid: 1, noVerify: true })],
    });
    const otherName = observations(`https://${HOST}/`, {
      ...base,
      tls_handshakes: [tls(CDN_IP, 'cdn.example.net', null, { tid: 1 })],
    });
    for (const obs of [unverified, otherName]) {
      const r = analyzeWebConnectivity(obs);
      expect(r.dns_consistency).toBe('inconsistent');
      expect(r.blocking).toBe('dns');
      expect(r.x_mechanism).toBe('dns.injection.other');
    }
  });

  it('NXDOMAIN while the control resolves is DNS blocking (dns.nxdomain)', () => {
    const r = analyzeWebConnectivity(
      observations(`https://${HOST}/`, { queries: [query(HOST, 'dns_nxdomain_error')] }),
    );
    expect(r).toMatchObject({
      dns_consistency: 'inconsistent',
      dns_experiment_failure: 'dns_nxdomain_error',
      http_experiment_failure: 'dns_nxdomain_error',
      blocking: 'dns',
      accessible: false,
      x_mechanism: 'dns.nxdomain',
    });
  });

  it('resolver refusal, SERVFAIL and timeout get their own labels', () => {
    const label = (failure: string) =>
      analyzeWebConnectivity(observations(`https://${HOST}/`, { queries: [query(HOST, failure)] }))
        .x_mechanism;
    expect(label('dns_refused_error')).toBe('dns.refused');
    expect(label('dns_servfail_error')).toBe('dns.refused');
    expect(label('generic_timeout_error')).toBe('dns.timeout');
  });

  it('a bogon answer is DNS injection (dns.injection.bogon)', () => {
    const r = analyzeWebConnectivity(
      observations(`https://${HOST}/`, {
        queries: [query(HOST, ['10.10.34.35'])],
        tcp_connect: [tcp('10.10.34.35', 443, 'generic_timeout_error', { tid: 1 })],
      }),
    );
    expect(r).toMatchObject({
      dns_consistency: 'inconsistent',
      blocking: 'dns',
      x_mechanism: 'dns.injection.bogon',
    });
    // The TCP timeout is what the walk saw; the verdict blames the DNS answer that caused it.
    expect(r.http_experiment_failure).toBe('generic_timeout_error');
  });

  it('a localhost answer (no connection attempted) is DNS blocking', () => {
    const r = analyzeWebConnectivity(
      observations(`http://${HOST}/`, { queries: [query(HOST, ['127.0.0.1'])] }),
    );
    expect(r).toMatchObject({ blocking: 'dns', accessible: false, x_mechanism: 'dns.injection.bogon' });
  });

  it('a missing AAAA record is ignored (probes that resolve A and AAAA separately)', () => {
    const aaaa = { ...query(HOST, 'dns_no_answer', { engine: 'system' }), query_type: 'AAAA' };
    const a = { ...query(HOST, [SITE_IP], { engine: 'system' }), query_type: 'A' };
    const r = analyzeWebConnectivity(healthyHTTPS({ queries: [aaaa, a] }));
    expect(r).toMatchObject({ dns_consistency: 'consistent', dns_experiment_failure: null, blocking: false });
  });

  it('only the system resolver and the first URL are judged', () => {
    const r = analyzeWebConnectivity(
      healthyHTTPS({
        queries: [
          query(HOST, [SITE_IP]),
          query(HOST, ['10.0.0.1'], { engine: 'udp', classic: false }),
          query('other.example', ['198.51.200.10'], { depth: 1 }),
          // Another name resolved at depth 0 (a probe's own test-helper lookup, say) is not judged.
          query('0.th.example.org', ['198.51.200.9']),
          query('1.th.example.org', 'dns_nxdomain_error'),
        ],
      }),
    );
    expect(r).toMatchObject({ dns_consistency: 'consistent', blocking: false, accessible: true });
  });

  it('without classic tags (a probe that does not tag), system lookups and their addresses are classic', () => {
    // No tags and no transaction ids: steps are paired by endpoint, classic-ness comes from the
    // system resolver's addresses.
    const untag = <T extends { tags?: string[] | null; transaction_id?: number }>(x: T): T => {
      const { transaction_id: _, ...rest } = x;
      return { ...rest, tags: [] } as unknown as T;
    };
    const base = healthyHTTPS();
    const obs = {
      ...base,
      queries: [untag(query(HOST, [SITE_IP], { engine: 'system' }))],
      tcp_connect: base.tcp_connect!.map(untag),
      tls_handshakes: base.tls_handshakes!.map(untag),
      requests: [untag({ ...base.requests![0]!, failure: 'connection_reset', response: null })],
    };
    const r = analyzeWebConnectivity(obs);
    expect(r).toMatchObject({
      dns_consistency: 'consistent',
      blocking: 'http-failure',
      x_mechanism: 'http.error',
    });
  });
});

describe('website down (fix b: a failure the control shares is not blocking)', () => {
  it('connection refused on both sides is down, not blocked', () => {
    const r = analyzeWebConnectivity(
      healthyHTTP({
        tcp_connect: [tcp(SITE_IP, 80, 'connection_refused', { tid: 1 })],
        requests: [],
        control: control({
          tcp: { [`${SITE_IP}:80`]: 'connection_refused_error' },
          http: { failure: 'connection_refused_error' },
        }),
      }),
    );
    expect(r).toMatchObject({ blocking: false, accessible: false, x_mechanism: null });
    expect(r.http_experiment_failure).toBe('connection_refused');
  });

  it('NXDOMAIN on both sides is down, and DNS is consistent', () => {
    const r = analyzeWebConnectivity(
      observations('http://www.example.xyz/', {
        queries: [query('www.example.xyz', 'dns_nxdomain_error')],
        control: control({ dnsFailure: 'dns_name_error', http: { failure: 'dns_lookup_error' } }),
      }),
    );
    expect(r).toMatchObject({ dns_consistency: 'consistent', blocking: false, accessible: false });
  });

  it('an unvalidated CDN answer does not turn a site that is down for everyone into DNS blocking', () => {
    // OONI v0.5 would relabel this "website down" as `dns` because the answer is inconsistent.
    const r = analyzeWebConnectivity(
      observations(`http://${HOST}/`, {
        queries: [query(HOST, [CDN_IP])],
        tcp_connect: [tcp(CDN_IP, 80, null, { tid: 1 })],
        requests: [request(`http://${HOST}/`, `${CDN_IP}:80`, 'generic_timeout_error', { tid: 1 })],
        control: control({ http: { failure: 'generic_timeout_error' }, asn: { [CDN_IP]: CDN_ASN } }),
      }),
    );
    expect(r).toMatchObject({
      dns_consistency: 'inconsistent',
      blocking: false,
      accessible: false,
      x_mechanism: null,
    });
  });

  it('but a failure only on the injected address stays DNS blocking', () => {
    // The control also fails to connect to the address the probe's resolver made up: that shows
    // the address is not the site's, not that the site is down (OONI QA ghostDNSBlockingWithHTTPS).
    const r = analyzeWebConnectivity(
      observations(`https://${HOST}/`, {
        queries: [query(HOST, ['83.224.65.41'])],
        tcp_connect: [tcp('83.224.65.41', 443, 'connection_refused', { tid: 1 })],
        control: control({ tcp: { '83.224.65.41:443': 'connection_refused_error' } }),
      }),
    );
    expect(r).toMatchObject({
      dns_consistency: 'inconsistent',
      blocking: 'dns',
      x_mechanism: 'dns.injection.other',
    });
  });

  it('a certificate error the control sees too is down, not MITM', () => {
    const r = analyzeWebConnectivity(
      healthyHTTPS({
        tls_handshakes: [tls(SITE_IP, HOST, 'ssl_invalid_certificate', { tid: 1 })],
        requests: [],
        control: control({
          tls: { [`${SITE_IP}:443`]: [HOST, 'ssl_invalid_certificate'] },
          http: { failure: 'unknown_error' },
        }),
      }),
    );
    expect(r).toMatchObject({ blocking: false, accessible: false, x_mechanism: null });
  });
});

describe('control failure and network down', () => {
  it('HTTP fetch without a control: cannot tell (null/null)', () => {
    const r = analyzeWebConnectivity(healthyHTTP({ control: null, control_failure: 'connection_reset' }));
    expect(r).toMatchObject({ dns_consistency: null, blocking: null, accessible: null, x_mechanism: null });
  });

  it('HTTPS fetch without a control is still accessible', () => {
    const r = analyzeWebConnectivity(healthyHTTPS({ control: null, control_failure: 'connection_reset' }));
    expect(r).toMatchObject({ blocking: false, accessible: true });
  });

  it('a failure without a control is null/null when the probe reached something', () => {
    const r = analyzeWebConnectivity(
      healthyHTTPS({
        tls_handshakes: [tls(SITE_IP, HOST, 'connection_reset', { tid: 1 })],
        requests: [],
        control: null,
        control_failure: 'connection_reset',
      }),
    );
    expect(r).toMatchObject({ blocking: null, accessible: null, x_mechanism: null });
  });

  it('nothing succeeded anywhere and the control failed: network.down', () => {
    const r = analyzeWebConnectivity(
      observations(`https://${HOST}/`, {
        queries: [
          query(HOST, 'generic_timeout_error'),
          query(HOST, 'generic_timeout_error', { engine: 'doh', classic: false }),
        ],
        control: null,
        control_failure: 'generic_timeout_error',
      }),
    );
    expect(r).toMatchObject({ blocking: null, accessible: null, x_mechanism: 'network.down' });
  });

  it('not network.down when a DNS answer came back, even if every connection failed', () => {
    const r = analyzeWebConnectivity(
      observations(`https://${HOST}/`, {
        queries: [query(HOST, [SITE_IP])],
        tcp_connect: [tcp(SITE_IP, 443, 'generic_timeout_error', { tid: 1 })],
        control: null,
        control_failure: 'generic_timeout_error',
      }),
    );
    expect(r).toMatchObject({ blocking: null, accessible: null, x_mechanism: null });
  });

  it('not network.down when the control answered', () => {
    const r = analyzeWebConnectivity(
      observations(`https://${HOST}/`, { queries: [query(HOST, 'generic_timeout_error')] }),
    );
    expect(r).toMatchObject({ blocking: 'dns', x_mechanism: 'dns.timeout' });
  });
});

describe('mechanism labels for endpoint interference', () => {
  const httpsWith = (tcpFailure: string | null, tlsFailure: string | null, httpFailure: string | null) =>
    analyzeWebConnectivity(
      healthyHTTPS({
        tcp_connect: [tcp(SITE_IP, 443, tcpFailure, { tid: 1 })],
        tls_handshakes: tcpFailure ? [] : [tls(SITE_IP, HOST, tlsFailure, { tid: 1 })],
        requests:
          tcpFailure || tlsFailure
            ? []
            : [request(`https://${HOST}/`, `${SITE_IP}:443`, httpFailure ?? {}, { tid: 1 })],
      }),
    );

  it.each([
    ['generic_timeout_error', 'tcp_ip', 'tcp.timeout'],
    ['connection_refused', 'tcp_ip', 'tcp.refused'],
    ['connection_reset', 'tcp_ip', 'tcp.reset'],
    ['host_unreachable', 'tcp_ip', 'ip.unreachable'],
    ['network_unreachable', 'tcp_ip', 'ip.unreachable'],
  ])('TCP connect %s ⇒ %s / %s', (failure, blocking, mechanism) => {
    expect(httpsWith(failure, null, null)).toMatchObject({
      blocking,
      accessible: false,
      x_mechanism: mechanism,
    });
  });

  it.each([
    ['connection_reset', 'tls.reset.sni'],
    ['eof_error', 'tls.reset.other'],
    ['generic_timeout_error', 'tls.timeout'], // Azerbaijan: SNI-triggered drop after the ClientHello
    ['ssl_unknown_authority', 'tls.mitm.self_signed'],
    ['ssl_invalid_hostname', 'tls.mitm.ca_signed'],
    ['ssl_invalid_certificate', 'tls.mitm.ca_signed'],
  ])('TLS handshake %s while the control is fine ⇒ http-failure / %s', (failure, mechanism) => {
    const r = httpsWith(null, failure, null);
    expect(r).toMatchObject({
      dns_consistency: 'consistent',
      blocking: 'http-failure',
      x_mechanism: mechanism,
    });
    expect(r.http_experiment_failure).toBe(failure);
  });

  const httpWith = (failure: string) =>
    analyzeWebConnectivity(
      healthyHTTP({ requests: [request(`http://${HOST}/`, `${SITE_IP}:80`, failure, { tid: 1 })] }),
    );

  it.each([
    ['connection_reset', 'http.reset.host'],
    ['eof_error', 'http.reset.host'],
    ['generic_timeout_error', 'http.timeout'],
    ['http_request_failed', 'http.error'],
  ])('plain-HTTP %s after the request ⇒ http-failure / %s', (failure, mechanism) => {
    expect(httpWith(failure)).toMatchObject({ blocking: 'http-failure', x_mechanism: mechanism });
  });

  it('a different page over plain HTTP ⇒ http-diff / http.blockpage', () => {
    const blockpage = { body: '<title>Access Denied</title>blocked', headers: {} };
    const r = analyzeWebConnectivity(
      healthyHTTP({ requests: [request(`http://${HOST}/`, `${SITE_IP}:80`, blockpage, { tid: 1 })] }),
    );
    expect(r).toMatchObject({
      blocking: 'http-diff',
      accessible: false,
      x_mechanism: 'http.blockpage',
      x_confirmed: false,
    });
  });

  it('a different page over verified HTTPS is the site itself, not interference', () => {
    const captcha = { code: 503, body: '<title>Just a moment...</title>', headers: {} };
    const r = analyzeWebConnectivity(
      healthyHTTPS({ requests: [request(`https://${HOST}/`, `${SITE_IP}:443`, captcha, { tid: 1 })] }),
    );
    expect(r).toMatchObject({
      blocking: false,
      accessible: true,
      x_mechanism: null,
      status_code_match: false,
    });
  });

  it('a failure on a redirect hop (no per-hop control) is http-failure with the hop’s mechanism', () => {
    // requests are newest first: the redirect from bit.ly is the older one.
    const r = analyzeWebConnectivity(
      observations('https://bit.ly/x', {
        queries: [query('bit.ly', ['67.199.248.11']), query(HOST, [SITE_IP], { depth: 1 })],
        tcp_connect: [
          tcp('67.199.248.11', 443, null, { tid: 1 }),
          tcp(SITE_IP, 443, 'connection_refused', { depth: 1, tid: 2 }),
        ],
        tls_handshakes: [tls('67.199.248.11', 'bit.ly', null, { tid: 1 })],
        requests: [
          request(
            'https://bit.ly/x',
            '67.199.248.11:443',
            { code: 301, headers: { Location: `https://${HOST}/` } },
            { tid: 1 },
          ),
        ],
        control: control({
          dnsAddrs: ['67.199.248.11'],
          tcp: { '67.199.248.11:443': null },
          tls: { '67.199.248.11:443': ['bit.ly', null] },
        }),
      }),
    );
    expect(r).toMatchObject({
      dns_consistency: 'consistent',
      blocking: 'http-failure',
      x_mechanism: 'tcp.refused',
    });
  });

  it('every label produced is in the taxonomy', () => {
    const labels = [
      httpsWith('generic_timeout_error', null, null),
      httpsWith(null, 'connection_reset', null),
      httpWith('connection_reset'),
      httpWith('some_new_failure'),
    ].map((r) => r.x_mechanism);
    for (const label of labels) expect(isMechanism(label ?? ''), String(label)).toBe(true);
  });
});
