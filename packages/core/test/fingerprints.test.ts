import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sharedData } from '../../../test-support/shared-data.js';
import {
  analyzeWebConnectivity,
  type FingerprintSet,
  fingerprintCount,
  matchDNSFingerprints,
  matchHTTPFingerprints,
  mergeFingerprints,
  parseCSVRecords,
  parseFingerprintsCSV,
} from '../src/index.js';
import {
  control,
  healthyHTTP,
  healthyHTTPS,
  observations,
  query,
  request,
  SITE_IP,
  tcp,
} from './support/synthetic.js';

const HEADER =
  'name,scope,other_names,location_found,pattern_type,pattern,confidence_no_fp,expected_countries,source,exp_url,notes';

describe('CSV reader (RFC 4180)', () => {
  it('reads quoted commas, doubled quotes, newlines inside quotes, CRLF and a BOM', () => {
    const text = '\uFEFFa,b,c\r\n"x, y","say ""hi""","line 1\nline 2"\r\n\r\nplain,,last\n';
    expect(parseCSVRecords(text, 't.csv')).toEqual([
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 2, fields: ['x, y', 'say "hi"', 'line 1\nline 2'] },
      { line: 5, fields: ['plain', '', 'last'] },
    ]);
  });

  it('names the source and line of an unterminated quote', () => {
    expect(() => parseCSVRecords('a,b\n1,"open\n2,3\n', 'bad.csv')).toThrow(
      'bad.csv:2: unterminated quoted field',
    );
  });

  it('refuses a stray quote inside an unquoted field, or text after a closing quote', () => {
    expect(() => parseCSVRecords('a,b\nx"y,z\n', 'q.csv')).toThrow('q.csv:2: quote inside an unquoted field');
    expect(() => parseCSVRecords('a,b\n"x"y,z\n', 'q.csv')).toThrow(
      'q.csv:2: unexpected character after a closing quote',
    );
  });
});

describe('fingerprint CSV parsing', () => {
  it('parses rows by location, lower-cases header names, splits lists', () => {
    const set = parseFingerprintsCSV(
      [
        HEADER,
        't.dns_1,isp,,dns,full,203.0.113.7,5,"AZ,TR",test,,',
        't.body_1,nat,"t.alias_1,t.alias_2",body,contains,"Access to this site is ""restricted""",5,AZ,test,,',
        't.hdr_1,prod,,header.Location,prefix,http://block.example/,5,,test,,"multi\nline note"',
      ].join('\n'),
      'local.csv',
    );
    expect(fingerprintCount(set)).toBe(3);
    expect(set.dns.map((f) => f.name)).toEqual(['t.dns_1']);
    expect(set.dns[0]!.expected_countries).toEqual(['AZ', 'TR']);
    expect(set.http[0]).toMatchObject({
      other_names: ['t.alias_1', 't.alias_2'],
      pattern: 'Access to this site is "restricted"',
    });
    expect(set.http[1]).toMatchObject({ location_found: 'header.location', notes: 'multi\nline note' });
    expect(set.http[1]!.origin).toEqual({ file: 'local.csv', line: 4 });
  });

  it('rejects malformed rows with the source and line', () => {
    expect(() => parseFingerprintsCSV(`${HEADER}\nx,isp,,dns,full,1.2.3.4\n`, 'short.csv')).toThrow(
      'short.csv:2: expected 11 fields, found 6',
    );
    expect(() => parseFingerprintsCSV(`${HEADER}\nx,isp,,dns,glob,1.2.3.4,5,,,,\n`, 'type.csv')).toThrow(
      'type.csv:2: fingerprint x has unknown pattern_type "glob"',
    );
    expect(() => parseFingerprintsCSV(`${HEADER}\nx,isp,,cookie,full,a,5,,,,\n`, 'loc.csv')).toThrow(
      'loc.csv:2: fingerprint x has unknown location_found "cookie"',
    );
    expect(() => parseFingerprintsCSV('name,scope\nx,isp\n', 'head.csv')).toThrow('head.csv:1: header lacks');
  });

  it('skips and counts a regexp JavaScript cannot compile', () => {
    const set = parseFingerprintsCSV(
      [
        HEADER,
        'go.inline_flag,vbw,,body,regexp,(?i)blocked,5,,,,',
        'ok.re,vbw,,body,regexp,Blocked by .* order,5,,,,',
      ].join('\n'),
      're.csv',
    );
    expect(set.http.map((f) => f.name)).toEqual(['ok.re']);
    expect(set.rejected).toHaveLength(1);
    expect(set.rejected[0]).toMatchObject({ file: 're.csv', line: 2, name: 'go.inline_flag' });
  });

  it('merges sets, a later fingerprint replacing an earlier one of the same name', () => {
    const a = parseFingerprintsCSV(
      `${HEADER}\nx,isp,,dns,full,1.1.1.1,5,,,,\ny,isp,,dns,full,2.2.2.2,5,,,,`,
      'a.csv',
    );
    const b = parseFingerprintsCSV(
      `${HEADER}\nx,isp,,dns,full,9.9.9.9,5,,,,\nz,vbw,,body,regexp,(?i)z,5,,,,`,
      'b.csv',
    );
    const merged = mergeFingerprints(a, b);
    expect(merged.dns.map((f) => [f.name, f.pattern])).toEqual([
      ['x', '9.9.9.9'],
      ['y', '2.2.2.2'],
    ]);
    expect(merged.rejected.map((r) => r.name)).toEqual(['z']);
  });
});

describe('matching', () => {
  const set = parseFingerprintsCSV(
    [
      HEADER,
      't.dns,nat,,dns,full,203.0.113.7,5,,,,',
      't.body,nat,,body,contains,Access restricted by order,5,,,,',
      't.server,prod,,header.server,full,Protected by WireFilter,5,,,,',
      't.re,isp,,body,regexp,blocked by court order \\d+,5,,,,',
      't.fp,fp,,body,contains,nginx,5,,,,',
    ].join('\n'),
    'm.csv',
  );

  it('matches DNS answers exactly', () => {
    expect(matchDNSFingerprints(set, ['203.0.113.7']).map((f) => f.name)).toEqual(['t.dns']);
    expect(matchDNSFingerprints(set, ['203.0.113.70'])).toEqual([]);
  });

  it('matches bodies and headers (header names in any case); known false-positive rows never count', () => {
    const names = (body: string, headers: [string, string][] = []) =>
      matchHTTPFingerprints(set, { body, headers }).map((f) => f.name);
    expect(names('<p>Access restricted by order</p> served by nginx')).toEqual(['t.body']);
    expect(names('', [['SERVER', 'Protected by WireFilter']])).toEqual(['t.server']);
    expect(names('', [['server', 'Protected by WireFilter 2']])).toEqual([]);
    expect(names('this page was blocked by court order 42')).toEqual(['t.re']);
  });
});

const dnsCSV = sharedData('ooni/fingerprints_dns.csv');
const httpCSV = sharedData('ooni/fingerprints_http.csv');

describe.skipIf(dnsCSV === null || httpCSV === null)("OONI's blocking-fingerprints CSVs", () => {
  // Data rows as counted in research/ooni.md §5 (ooni/blocking-fingerprints @171641e): 226 DNS and
  // 1,729 HTTP rows (the HTTP file has 1,739 lines because some quoted notes span lines).
  const DNS_ROWS = 226;
  const HTTP_ROWS = 1729;
  // Rows Pharos deliberately rejects: none. Every regexp in these files compiles in JavaScript.
  const REJECTED: string[] = [];

  let dns: FingerprintSet;
  let http: FingerprintSet;
  const load = () => {
    dns ??= parseFingerprintsCSV(readFileSync(dnsCSV!, 'utf8'), 'fingerprints_dns.csv');
    http ??= parseFingerprintsCSV(readFileSync(httpCSV!, 'utf8'), 'fingerprints_http.csv');
    return mergeFingerprints(dns, http);
  };

  it('parses every data row except the deliberately rejected ones', () => {
    const all = load();
    expect(dns.dns).toHaveLength(DNS_ROWS);
    expect(dns.http).toHaveLength(0);
    expect(http.http.length + http.rejected.length).toBe(HTTP_ROWS);
    expect(http.dns).toHaveLength(0);
    expect([...dns.rejected, ...http.rejected].map((r) => r.name)).toEqual(REJECTED);
    expect(fingerprintCount(all)).toBe(DNS_ROWS + HTTP_ROWS - REJECTED.length);
    // The same distribution of locations the research notes counted.
    const count = (loc: string) => http.http.filter((f) => f.location_found === loc).length;
    expect([count('body'), count('header.location'), count('header.server'), count('header.via')]).toEqual([
      1311, 402, 9, 6,
    ]);
  });

  it('confirms a known DNS blockpage address in a synthetic measurement (ooni.cn_0, 8.7.198.45)', () => {
    const fingerprints = load();
    expect(fingerprints.dns.find((f) => f.name === 'ooni.cn_0')?.pattern).toBe('8.7.198.45');
    const r = analyzeWebConnectivity(
      observations('https://www.example.com/', {
        queries: [query('www.example.com', ['8.7.198.45'])],
        tcp_connect: [tcp('8.7.198.45', 443, 'generic_timeout_error', { tid: 1 })],
      }),
      fingerprints,
    );
    expect(r).toMatchObject({
      dns_consistency: 'inconsistent',
      blocking: 'dns',
      x_mechanism: 'dns.injection.blockpage',
      x_blocking_fingerprints: ['ooni.cn_0'],
      x_confirmed: true,
    });
  });

  it('confirms a known blockpage body over plain HTTP (ooni.ae_3, Etisalat)', () => {
    const fingerprints = load();
    const pattern = fingerprints.http.find((f) => f.name === 'ooni.ae_3')!.pattern;
    expect(pattern).toBe('it-security-operations@etisalat.ae');
    const blockpage = { body: `<html><title>Blocked</title>Contact ${pattern} for help</html>`, headers: {} };
    const r = analyzeWebConnectivity(
      healthyHTTP({ requests: [request('http://www.example.com/', `${SITE_IP}:80`, blockpage, { tid: 1 })] }),
      fingerprints,
    );
    expect(r).toMatchObject({ blocking: 'http-diff', x_mechanism: 'http.blockpage', x_confirmed: true });
    expect(r.x_blocking_fingerprints).toContain('ooni.ae_3');
  });

  it('matches a redirect to a known blockpage by its Location header (ooni.ae_2, du)', () => {
    const fingerprints = load();
    const location = `${fingerprints.http.find((f) => f.name === 'ooni.ae_2')!.pattern}/blocked`;
    const r = analyzeWebConnectivity(
      healthyHTTP({
        requests: [
          request('http://lighthouse.du.ae/blocked', '1.2.3.4:80', 'generic_timeout_error', {
            depth: 1,
            tid: 2,
          }),
          request(
            'http://www.example.com/',
            `${SITE_IP}:80`,
            { code: 302, body: '', headers: { Location: location } },
            { tid: 1 },
          ),
        ],
      }),
      fingerprints,
    );
    // Citizen Lab lists the same redirect too (cl.isp_ae_du_surfsafely_forward_2).
    expect(r.x_blocking_fingerprints).toContain('ooni.ae_2');
    expect(r.x_confirmed).toBe(true);
  });

  it('does not confirm what cannot be a censor’s doing', () => {
    const fingerprints = load();
    // 127.0.0.1 is listed (cl.dns_br_localhost) but the control resolves it too: the site's own record.
    const localhost = analyzeWebConnectivity(
      observations('http://www.example.com/', {
        queries: [query('www.example.com', ['127.0.0.1'])],
        control: control({ dnsAddrs: ['127.0.0.1'] }),
      }),
      fingerprints,
    );
    expect(localhost).toMatchObject({ blocking: false, accessible: false, x_confirmed: false });
    // A blockpage text served over verified HTTPS came from the site itself.
    const pattern = fingerprints.http.find((f) => f.name === 'ooni.ae_3')!.pattern;
    const https = analyzeWebConnectivity(
      healthyHTTPS({
        requests: [request('https://www.example.com/', `${SITE_IP}:443`, { body: pattern }, { tid: 1 })],
      }),
      fingerprints,
    );
    expect(https.x_confirmed).toBe(false);
    // A healthy page matches nothing.
    expect(analyzeWebConnectivity(healthyHTTP(), fingerprints).x_blocking_fingerprints).toEqual([]);
  });
});
