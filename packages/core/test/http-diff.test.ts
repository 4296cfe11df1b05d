import { describe, expect, it } from 'vitest';
import {
  BODY_PROPORTION_THRESHOLD,
  COMMON_HEADERS,
  type ControlResponse,
  compareWithControl,
  extractTitle,
  type HTTPResponse,
  headersMatch,
  statusCodeMatch,
  titleMatch,
} from '../src/index.js';

function response(
  code: number,
  body: string,
  headers: Record<string, string> = {},
  truncated = false,
): HTTPResponse {
  return { code, body, headers, body_is_truncated: truncated };
}

function controlHTTP(
  status: number,
  bodyLength: number,
  title: string,
  headers: string[] = [],
): ControlResponse['http_request'] {
  return {
    status_code: status,
    body_length: bodyLength,
    title,
    headers: Object.fromEntries(headers.map((h) => [h, 'x'])),
    failure: null,
  };
}

describe('body length proportion', () => {
  it('matches only strictly above 0.7', () => {
    expect(BODY_PROPORTION_THRESHOLD).toBe(0.7);
    const exactly = compareWithControl(response(200, 'a'.repeat(70)), controlHTTP(200, 100, ''));
    expect(exactly.body_proportion).toBe(0.7);
    expect(exactly.body_length_match).toBe(false);
    const above = compareWithControl(response(200, 'a'.repeat(71)), controlHTTP(200, 100, ''));
    expect(above.body_length_match).toBe(true);
  });

  it('is symmetric (min/max) and counts bytes, not characters', () => {
    const longer = compareWithControl(response(200, 'a'.repeat(100)), controlHTTP(200, 50, ''));
    expect(longer.body_proportion).toBe(0.5);
    // 50 Cyrillic letters are 100 bytes in UTF-8, as the test helper counts them.
    const cyrillic = compareWithControl(response(200, 'д'.repeat(50)), controlHTTP(200, 100, ''));
    expect(cyrillic.body_proportion).toBe(1);
  });

  it('is not computed for a truncated or empty body (0 and null, as OONI)', () => {
    const truncated = compareWithControl(response(200, 'a'.repeat(100), {}, true), controlHTTP(200, 100, ''));
    expect(truncated.body_proportion).toBe(0);
    expect(truncated.body_length_match).toBeNull();
    const empty = compareWithControl(response(200, ''), controlHTTP(200, 100, ''));
    expect(empty.body_length_match).toBeNull();
  });
});

describe('status code (v0.5 rules)', () => {
  it('equal codes match, whatever they are', () => {
    expect(statusCodeMatch(200, 200)).toBe(true);
    expect(statusCodeMatch(404, 404)).toBe(true);
  });
  it('different codes do not match when the control got a 2xx', () => {
    expect(statusCodeMatch(503, 200)).toBe(false);
    expect(statusCodeMatch(200, 204)).toBe(false);
  });
  it('different codes say nothing when the control did not get a 2xx', () => {
    expect(statusCodeMatch(200, 404)).toBeNull();
    expect(statusCodeMatch(200, 503)).toBeNull();
    expect(statusCodeMatch(200, 302)).toBeNull();
  });
  it('needs both codes', () => {
    expect(statusCodeMatch(0, 200)).toBeNull();
    expect(statusCodeMatch(200, -1)).toBeNull();
  });
});

describe('uncommon headers', () => {
  it('ignores connection and framing headers, which an injected blockpage has too', () => {
    const blockpage = ['Content-Type', 'Content-Length', 'Connection'];
    const site = ['Server', 'Content-Type', 'Content-Length', 'Date', 'Connection', 'Keep-Alive'];
    expect(headersMatch(blockpage, site)).toBe(false);
    expect(headersMatch([...blockpage, 'X-Cache'], [...site, 'x-cache'])).toBe(true);
  });

  it('ignores the 25 common header names', () => {
    expect(COMMON_HEADERS.size).toBe(25);
    expect(headersMatch(['Date', 'Server', 'Content-Type'], ['date', 'server', 'content-type'])).toBe(false);
  });
  it('matches on a shared uncommon name, case-insensitively', () => {
    expect(headersMatch(['Date', 'X-Served-By'], ['x-served-by'])).toBe(true);
    expect(headersMatch(['Alt-Svc'], ['Content-Length'])).toBe(false);
  });
});

describe('title (the code rule: no long word in only one title)', () => {
  it('extracts the title as the test helper does', () => {
    expect(extractTitle('<html><TITLE>Hello World</TITLE>')).toBe('Hello World');
    expect(extractTitle('<title lang="en">Ignored</title>')).toBe('');
    expect(extractTitle('no title here')).toBe('');
  });
  it('compares only words of at least 5 bytes, lower-cased', () => {
    expect(titleMatch('Default Web Page', 'default web site')).toBe(true); // "page", "site" are short
    expect(titleMatch('Access Denied', 'Default Web Page')).toBe(false);
    expect(titleMatch('Just a moment...', 'Just a moment...')).toBe(true);
  });
  it('fails on a long word present in only one of the titles, in either direction', () => {
    expect(titleMatch('Example Domain', 'Example')).toBe(false);
    expect(titleMatch('Example', 'Example Domain')).toBe(false);
  });
  it('counts bytes: three Cyrillic letters (6 bytes) are a long word', () => {
    expect(titleMatch('Дом', '')).toBe(false);
    expect(titleMatch('Дом', 'дом')).toBe(true);
  });
  it('two titles without long words match', () => {
    expect(titleMatch('', '')).toBe(true);
  });
});

describe('HTTP diff decision', () => {
  const page = `<title>Example Domain</title>${'x'.repeat(1000)}`;
  it('same status and one more matching feature is not a diff', () => {
    const d = compareWithControl(response(200, page), controlHTTP(200, page.length, 'Example Domain'));
    expect(d).toMatchObject({
      status_code_match: true,
      body_length_match: true,
      title_match: true,
      isDiff: false,
    });
  });
  it('a small blockpage with the same status is a diff (OONI QA httpDiffWithConsistentDNS)', () => {
    const blockpage = '<html><head><title>Access Denied</title></head><body>blocked</body></html>';
    const d = compareWithControl(
      response(200, blockpage),
      controlHTTP(200, 1533, 'Default Web Page', ['Alt-Svc']),
    );
    expect(d).toMatchObject({
      status_code_match: true,
      body_length_match: false,
      headers_match: false,
      title_match: false,
      isDiff: true,
    });
  });
  it('a different status is a diff even when headers match (OONI QA cloudflareCAPTCHAWithHTTP)', () => {
    const d = compareWithControl(
      response(503, 'x'.repeat(100), { NEL: 'x' }),
      controlHTTP(200, 1000, '', ['Nel']),
    );
    expect(d).toMatchObject({ status_code_match: false, headers_match: true, isDiff: true });
  });
  it('a status that says nothing (control not 2xx) is a diff', () => {
    const d = compareWithControl(response(200, page), controlHTTP(404, page.length, 'Example Domain'));
    expect(d.status_code_match).toBeNull();
    expect(d.isDiff).toBe(true);
  });
});
