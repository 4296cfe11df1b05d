import type { ControlResponse, HTTPResponse } from '../measurement.js';
import { asText, byteLength, utf8Length } from './bytes.js';

/**
 * Comparing the probe's final HTTP response with the test helper's (research/ooni.md §2.3, the v0.5
 * rules). A difference is only meaningful over plain HTTP; the caller decides when it applies.
 */

/**
 * Headers nearly every server sends: their presence says nothing about which server answered,
 * so only the remaining ("uncommon") header names are compared.
 */
export const COMMON_HEADERS: ReadonlySet<string> = new Set([
  'date',
  'content-type',
  'server',
  'cache-control',
  'vary',
  'set-cookie',
  'location',
  'expires',
  'x-powered-by',
  'content-encoding',
  'last-modified',
  'accept-ranges',
  'pragma',
  'x-frame-options',
  'etag',
  'x-content-type-options',
  'age',
  'via',
  'p3p',
  'x-xss-protection',
  'content-language',
  'cf-ray',
  'strict-transport-security',
  'link',
  'x-varnish',
]);

/**
 * Pharos: headers that describe the connection or the message's framing (RFC 9110 §7.6.1 and
 * RFC 9112 §6), not the site. Almost every response has some of them, an injected blockpage
 * included, so letting them count would make every blockpage "match" the real site's headers.
 * OONI's QA blockpage carries no headers at all, which is why OONI's list does not need them.
 */
export const TRANSPORT_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'content-length',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
]);

/** Shares of the body lengths above this are "the same page" (strictly greater, as OONI). */
export const BODY_PROPORTION_THRESHOLD = 0.7;

export interface HTTPDiff {
  /** min/max of the two body lengths; 0 when it could not be computed. */
  body_proportion: number;
  body_length_match: boolean | null;
  status_code_match: boolean | null;
  headers_match: boolean | null;
  title_match: boolean | null;
  /** True when the response does not look like the control's page. */
  isDiff: boolean;
}

/** min/max of the two lengths, or null when either is unknown/empty or the probe's body was cut. */
export function bodyProportion(
  probeLength: number,
  controlLength: number,
  truncated: boolean,
): number | null {
  if (truncated || probeLength <= 0 || controlLength <= 0) return null;
  return Math.min(probeLength, controlLength) / Math.max(probeLength, controlLength);
}

/**
 * Equal codes match. Different codes do not, except when the control's own code is not 2xx: then
 * the control did not get the page either and the comparison says nothing (null).
 */
export function statusCodeMatch(probe: number, control: number): boolean | null {
  if (probe <= 0 || control <= 0) return null;
  if (probe === control) return true;
  if (Math.floor(control / 100) !== 2) return null;
  return false;
}

/** Lower-cased header names minus the common ones. */
export function uncommonHeaders(names: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const name of names) {
    const lower = name.toLowerCase();
    if (!COMMON_HEADERS.has(lower) && !TRANSPORT_HEADERS.has(lower)) out.add(lower);
  }
  return out;
}

/** True when the two responses share at least one uncommon header name. */
export function headersMatch(probeNames: Iterable<string>, controlNames: Iterable<string>): boolean {
  const control = uncommonHeaders(controlNames);
  for (const name of uncommonHeaders(probeNames)) if (control.has(name)) return true;
  return false;
}

/** The text of the page's `<title>`, as the test helper extracts it (no attributes, ≤ 512 chars). */
export function extractTitle(body: string): string {
  const match = /<title>([^<]{1,512})<\/title>/i.exec(body);
  return match ? match[1]! : '';
}

/** Words of at least 5 UTF-8 bytes, lower-cased: short words ("the", "web") match too easily. */
export function longTitleWords(title: string): Set<string> {
  const words = new Set<string>();
  for (const word of title.split(' ')) if (utf8Length(word) >= 5) words.add(word.toLowerCase());
  return words;
}

/**
 * OONI's code rule (stricter than its spec's prose): the titles match when no long word appears in
 * only one of them. Two titles without long words therefore match.
 */
export function titleMatch(probeTitle: string, controlTitle: string): boolean {
  const probe = longTitleWords(probeTitle);
  const control = longTitleWords(controlTitle);
  for (const word of probe) if (!control.has(word)) return false;
  for (const word of control) if (!probe.has(word)) return false;
  return true;
}

/** Header names of a response, whichever form the probe recorded them in. */
export function responseHeaderNames(response: HTTPResponse): string[] {
  const names = Object.keys(response.headers ?? {});
  for (const [name] of response.headers_list ?? []) names.push(name);
  return names;
}

/** Compare the probe's final response with the control's fetch (the control must have succeeded). */
export function compareWithControl(
  response: HTTPResponse,
  control: ControlResponse['http_request'],
): HTTPDiff {
  const proportion = bodyProportion(
    byteLength(response.body),
    control.body_length,
    response.body_is_truncated,
  );
  const body_length_match = proportion === null ? null : proportion > BODY_PROPORTION_THRESHOLD;
  const status_code_match = statusCodeMatch(response.code, control.status_code);
  const headers_match = headersMatch(responseHeaderNames(response), Object.keys(control.headers ?? {}));
  const title_match = titleMatch(extractTitle(asText(response.body)), control.title ?? '');
  // Not a diff only when the status agrees and at least one other feature agrees too.
  const same = status_code_match === true && (body_length_match === true || headers_match || title_match);
  return {
    body_proportion: proportion ?? 0,
    body_length_match,
    status_code_match,
    headers_match,
    title_match,
    isDiff: !same,
  };
}
