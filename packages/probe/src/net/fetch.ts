/**
 * GET a URL and follow its redirects like a browser: 301/302/303/307/308 with a Location,
 * resolved against the current URL, at most 10 times. How each hop gets its connection is the
 * caller's (the experiment records DNS and connects per hop; the test helper just dials).
 */
import { BROWSER_HEADERS } from './browser.js';
import type { Connection } from './connection.js';
import { CookieJar } from './cookies.js';
import { type HTTPResponseData, httpRoundTrip } from './http.js';

export const MAX_REDIRECTS = 10;
const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);

export type FetchStep = 'resolve' | 'connect' | 'tls_handshake' | 'http' | 'redirect';

/** Opens the connection for hop `depth` (0 is the input URL). */
export type OpenHop = (
  url: URL,
  depth: number,
) => Promise<{ connection: Connection } | { connection: null; failure: string; operation: FetchStep }>;

export interface FetchOptions {
  open: OpenHop;
  headers?: ReadonlyArray<readonly [string, string]>;
  maxRedirects?: number;
  maxBodyBytes?: number;
  /** Per round trip. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface FetchOutcome {
  /** The last response received (the final page, or the redirect that failed). */
  response: HTTPResponseData | null;
  failure: string | null;
  /** Which step failed, when one did. */
  failedStep: FetchStep | null;
  /** The URL of the last hop attempted. */
  url: string;
  /** Hops attempted, counting the input URL as 0. */
  depth: number;
}

export async function fetchFollowingRedirects(input: URL, options: FetchOptions): Promise<FetchOutcome> {
  const maxRedirects = options.maxRedirects ?? MAX_REDIRECTS;
  const jar = new CookieJar();
  let url = input;
  for (let depth = 0; ; depth++) {
    const opened = await options.open(url, depth);
    if (!opened.connection) {
      return { response: null, failure: opened.failure, failedStep: opened.operation, url: url.href, depth };
    }
    const headers: [string, string][] = (options.headers ?? BROWSER_HEADERS).map(([k, v]) => [k, v]);
    const cookie = jar.header(url.host);
    if (cookie) headers.push(['Cookie', cookie]);
    const rt = await httpRoundTrip(opened.connection, {
      url,
      headers,
      maxBodyBytes: options.maxBodyBytes,
      timeoutMs: options.timeoutMs,
      signal: options.signal,
    });
    const done = (failure: string | null, failedStep: FetchStep | null): FetchOutcome => {
      // The failure belongs to this hop's transaction as well.
      rt.transaction.failure = failure;
      return { response: rt.response, failure, failedStep, url: url.href, depth };
    };
    if (rt.failure !== null || !rt.response) return done(rt.failure, 'http');
    const location = redirectLocation(rt.response);
    if (location === null) return done(null, null);
    const next = resolveLocation(location, url);
    if (!next) return done('http_invalid_redirect_location_host', 'redirect');
    if (depth >= maxRedirects) return done('unknown_failure: stopped after too many redirects', 'redirect');
    jar.store(url.host, rt.response.headers);
    url = next;
  }
}

/** The Location of a redirect response; null when the response is final. */
function redirectLocation(response: HTTPResponseData): string | null {
  if (!REDIRECT_CODES.has(response.status)) return null;
  const header = response.headers.find(([k]) => k.toLowerCase() === 'location');
  // A redirect status without Location is a final response, as browsers treat it.
  return header ? header[1] : null;
}

/** The next URL, or null when the Location has no usable host. */
function resolveLocation(location: string, base: URL): URL | null {
  let next: URL;
  try {
    next = new URL(location, base);
  } catch {
    return null;
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') return null;
  if (next.hostname === '') return null;
  next.hash = '';
  return next;
}
