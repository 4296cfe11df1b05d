import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lookupDoH, lookupSystem, lookupUDP, Trace } from '../src/net/index.js';
import { type DNSZone, makePKI, type PKI, type Running, startDNS, startHTTPS } from './net-fixtures.js';

const zone: DNSZone = {
  'site.example': { A: ['192.0.2.10', '192.0.2.11'], AAAA: ['2001:db8::10'] },
  'v4only.example': { A: ['192.0.2.20'] },
  'servfail.example': 'servfail',
  'refused.example': 'refused',
  'silent.example': 'silent',
};

let dns: Awaited<ReturnType<typeof startDNS>>;
beforeAll(async () => {
  dns = await startDNS(zone);
});
afterAll(() => dns.close());

describe('lookupUDP', () => {
  it('sends A and AAAA and records both with the raw reply', async () => {
    const trace = new Trace();
    const result = await lookupUDP('site.example', dns.address, { trace, tags: ['depth=0'] });
    expect(result).toEqual({ addresses: ['192.0.2.10', '192.0.2.11', '2001:db8::10'], failure: null });
    expect(trace.queries).toHaveLength(2);
    const [a, aaaa] = trace.queries;
    expect(a).toMatchObject({
      engine: 'udp',
      query_type: 'A',
      hostname: 'site.example',
      resolver_address: dns.address,
      failure: null,
      rcode: 0,
      tags: ['depth=0'],
      answers: [
        { answer_type: 'A', ipv4: '192.0.2.10', ttl: 60 },
        { answer_type: 'A', ipv4: '192.0.2.11', ttl: 60 },
      ],
    });
    expect(aaaa).toMatchObject({
      query_type: 'AAAA',
      answers: [{ answer_type: 'AAAA', ipv6: '2001:db8::10' }],
    });
    expect(a?.transaction_id).toBe(aaaa?.transaction_id);
    const raw = dnsPacket.decode(Buffer.from(a?.raw_response ?? '', 'base64'));
    expect(raw.answers?.length).toBe(2);
    expect(trace.bytesSent).toBeGreaterThan(40);
    expect(trace.bytesReceived).toBeGreaterThan(trace.bytesSent);
    expect(trace.networkEvents.map((e) => e.operation).sort()).toEqual([
      'read_from',
      'read_from',
      'write_to',
      'write_to',
    ]);
  });

  it('reports an empty AAAA answer as dns_no_answer but the lookup as successful', async () => {
    const trace = new Trace();
    const result = await lookupUDP('v4only.example', dns.address, { trace });
    expect(result.failure).toBeNull();
    expect(trace.queries.find((q) => q.query_type === 'AAAA')).toMatchObject({
      failure: 'dns_no_answer',
      answers: null,
    });
  });

  it.each([
    ['nowhere.example', 'dns_nxdomain_error', 3],
    ['servfail.example', 'dns_servfail_error', 2],
    ['refused.example', 'dns_refused_error', 5],
  ])('maps the response code for %s to %s', async (name, failure, rcode) => {
    const trace = new Trace();
    const result = await lookupUDP(name, dns.address, { trace });
    expect(result).toEqual({ addresses: [], failure });
    expect(trace.queries.map((q) => [q.failure, q.rcode])).toEqual([
      [failure, rcode],
      [failure, rcode],
    ]);
  });

  it('maps a resolver that never answers to generic_timeout_error', async () => {
    const trace = new Trace();
    const result = await lookupUDP('silent.example', dns.address, { trace, timeoutMs: 300 });
    expect(result.failure).toBe('generic_timeout_error');
    expect(
      trace.queries.every((q) => q.failure === 'generic_timeout_error' && q.raw_response === undefined),
    ).toBe(true);
  });
});

describe('lookupSystem', () => {
  it('records getaddrinfo as one ANY query', async () => {
    const trace = new Trace();
    const result = await lookupSystem('localhost', { trace, tags: ['classic', 'depth=0'] });
    expect(result.failure).toBeNull();
    expect(result.addresses.length).toBeGreaterThan(0);
    expect(trace.queries).toEqual([
      expect.objectContaining({
        engine: 'getaddrinfo',
        query_type: 'ANY',
        resolver_address: '',
        hostname: 'localhost',
        failure: null,
        tags: ['classic', 'depth=0'],
      }),
    ]);
  });
});

describe('lookupDoH', () => {
  let pki: PKI;
  let doh: Running;
  beforeAll(async () => {
    pki = makePKI();
    doh = await startHTTPS(pki.valid, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method !== 'POST' || req.headers['content-type'] !== 'application/dns-message') {
          return res.writeHead(415).end();
        }
        const query = dnsPacket.decode(Buffer.concat(chunks));
        const question = query.questions?.[0];
        const answers =
          question?.type === 'A' && question.name === 'site.example'
            ? [{ type: 'A' as const, name: question.name, ttl: 30, class: 'IN' as const, data: '192.0.2.30' }]
            : [];
        const flags = question?.name === 'site.example' ? 0 : 3;
        res.setHeader('Content-Type', 'application/dns-message');
        res.end(
          dnsPacket.encode({ type: 'response', id: query.id, flags, questions: query.questions, answers }),
        );
      });
    });
  });
  afterAll(() => doh.close());

  it('POSTs application/dns-message and records engine doh', async () => {
    const trace = new Trace();
    const url = `https://localhost:${doh.port}/dns-query`;
    const result = await lookupDoH('site.example', url, { trace, extraCA: [pki.ca], tags: ['depth=0'] });
    expect(result).toEqual({ addresses: ['192.0.2.30'], failure: null });
    expect(trace.queries.map((q) => [q.engine, q.query_type, q.failure, q.resolver_address])).toEqual([
      ['doh', 'A', null, url],
      ['doh', 'AAAA', 'dns_no_answer', url],
    ]);
    // Only the queries are observations; the HTTPS transport is not, but its bytes count.
    expect(trace.tcpConnect).toEqual([]);
    expect(trace.requests).toEqual([]);
    expect(trace.bytesReceived).toBeGreaterThan(1000);
  });

  it('reports NXDOMAIN over DoH', async () => {
    const trace = new Trace();
    const result = await lookupDoH('nowhere.example', `https://localhost:${doh.port}/`, {
      trace,
      extraCA: [pki.ca],
    });
    expect(result.failure).toBe('dns_nxdomain_error');
  });

  it('reports an untrusted DoH server as a TLS failure', async () => {
    const result = await lookupDoH('site.example', `https://localhost:${doh.port}/`, { trace: new Trace() });
    expect(result.failure).toBe('ssl_unknown_authority');
  });
});
