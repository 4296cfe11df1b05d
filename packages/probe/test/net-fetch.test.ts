import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialURL, fetchFollowingRedirects, Trace } from '../src/net/index.js';
import { page, type Running, startHTTP } from './net-fixtures.js';

let server: Running;
let base: string;
beforeAll(async () => {
  server = await startHTTP((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const n = Number(url.searchParams.get('n') ?? '0');
    if (url.pathname === '/chain') {
      // Relative, then absolute, then done.
      if (n === 0) return res.writeHead(302, { Location: '/chain?n=1' }).end();
      if (n === 1) return res.writeHead(301, { Location: `${base}/chain?n=2` }).end();
      if (n === 2) return res.writeHead(307, { Location: 'chain?n=3' }).end();
      return res.end(page('Arrived'));
    }
    if (url.pathname === '/loop') return res.writeHead(302, { Location: `/loop?n=${n + 1}` }).end();
    if (url.pathname === '/broken') return res.writeHead(302, { Location: 'http://' }).end();
    if (url.pathname === '/cookie') {
      if (req.headers.cookie === 'seen=1') return res.end(page('Cookie kept'));
      return res.writeHead(302, { Location: '/cookie', 'Set-Cookie': 'seen=1; Path=/' }).end();
    }
    res.writeHead(404).end();
  });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(() => server.close());

function fetchIt(path: string) {
  const trace = new Trace();
  const outcome = fetchFollowingRedirects(new URL(`${base}${path}`), {
    open: (url, depth) => dialURL(url, { trace, tags: [`depth=${depth}`] }),
  });
  return outcome.then((o) => ({ ...o, trace }));
}

describe('fetchFollowingRedirects', () => {
  it('follows relative and absolute redirects to the final page', async () => {
    const { response, failure, depth, url, trace } = await fetchIt('/chain');
    expect(failure).toBeNull();
    expect(response?.status).toBe(200);
    expect(depth).toBe(3);
    expect(url).toBe(`${base}/chain?n=3`);
    expect(trace.requests.map((r) => r.response?.code)).toEqual([302, 301, 307, 200]);
    expect(trace.requests.map((r) => r.tags)).toEqual([['depth=0'], ['depth=1'], ['depth=2'], ['depth=3']]);
  });

  it('stops after 10 redirects: the 11th request carries the failure', async () => {
    const { failure, trace } = await fetchIt('/loop');
    expect(failure).toBe('unknown_failure: stopped after too many redirects');
    expect(trace.requests).toHaveLength(11);
    expect(trace.requests.slice(0, 10).every((r) => r.failure === null)).toBe(true);
    expect(trace.requests[10]).toMatchObject({
      failure: 'unknown_failure: stopped after too many redirects',
      response: { code: 302 },
      tags: ['depth=10'],
    });
  });

  it('reports a Location without a host', async () => {
    const { failure, trace } = await fetchIt('/broken');
    expect(failure).toBe('http_invalid_redirect_location_host');
    expect(trace.requests).toHaveLength(1);
    expect(trace.requests[0]?.failure).toBe('http_invalid_redirect_location_host');
  });

  it('sends back cookies set along the chain', async () => {
    const { response, failure } = await fetchIt('/cookie');
    expect(failure).toBeNull();
    expect(response?.body.toString()).toContain('Cookie kept');
  });
});
