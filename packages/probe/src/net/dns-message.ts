/** DNS wire messages (RFC 1035) for the UDP and DoH resolvers, via dns-packet. */
import { randomInt } from 'node:crypto';
import type { DNSAnswer, DNSQuery } from '@pharos/core';
import dnsPacket from 'dns-packet';

export type QueryType = 'A' | 'AAAA';
export const QUERY_TYPES: readonly QueryType[] = ['A', 'AAAA'];

export function newQueryId(): number {
  return randomInt(0, 0x10000);
}

export function encodeQuery(hostname: string, type: QueryType, id: number): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name: hostname, class: 'IN' }],
  });
}

export interface DecodedResponse {
  id: number;
  /** The question's type, to match a reply to its query. */
  questionType: string | undefined;
  rcode: number;
  answers: DNSAnswer[];
  /** Addresses of the queried type. */
  addresses: string[];
  failure: string | null;
}

/** Throws on a malformed message; the caller maps that to `dns_server_misbehaving`. */
export function decodeResponse(message: Buffer, type: QueryType): DecodedResponse {
  const packet = dnsPacket.decode(message);
  const rcode = (packet.flags ?? 0) & 0x0f;
  const answers: DNSAnswer[] = [];
  const addresses: string[] = [];
  for (const rr of packet.answers ?? []) {
    const ttl = 'ttl' in rr && typeof rr.ttl === 'number' ? rr.ttl : null;
    if (rr.type === 'A' && typeof rr.data === 'string') {
      answers.push({ answer_type: 'A', ipv4: rr.data, ttl });
      if (type === 'A') addresses.push(rr.data);
    } else if (rr.type === 'AAAA' && typeof rr.data === 'string') {
      answers.push({ answer_type: 'AAAA', ipv6: rr.data, ttl });
      if (type === 'AAAA') addresses.push(rr.data);
    } else if (rr.type === 'CNAME' && typeof rr.data === 'string') {
      answers.push({ answer_type: 'CNAME', hostname: rr.data, ttl });
    }
  }
  const failure = rcodeFailure(rcode) ?? (addresses.length === 0 ? 'dns_no_answer' : null);
  return {
    id: packet.id ?? -1,
    questionType: packet.questions?.[0]?.type,
    rcode,
    answers,
    addresses,
    failure,
  };
}

/** OONI's strings for the response codes that mean failure. */
export function rcodeFailure(rcode: number): string | null {
  switch (rcode) {
    case 0:
      return null;
    case 2:
      return 'dns_servfail_error';
    case 3:
      return 'dns_nxdomain_error';
    case 5:
      return 'dns_refused_error';
    default:
      return 'dns_server_misbehaving';
  }
}

/** The df-002 entry for one wire query. */
export function wireQuery(
  fields: Pick<
    DNSQuery,
    'engine' | 'hostname' | 'query_type' | 'resolver_address' | 't0' | 't' | 'transaction_id'
  > & {
    tags: string[];
    response?: Buffer;
    decoded?: DecodedResponse;
    failure: string | null;
  },
): DNSQuery {
  const { response, decoded, tags, ...rest } = fields;
  return {
    answers: decoded && decoded.answers.length > 0 ? decoded.answers : null,
    engine: rest.engine,
    failure: rest.failure,
    hostname: rest.hostname,
    query_type: rest.query_type,
    resolver_address: rest.resolver_address,
    resolver_hostname: null,
    resolver_port: null,
    ...(response ? { raw_response: response.toString('base64') } : {}),
    ...(decoded ? { rcode: decoded.rcode } : {}),
    t0: rest.t0,
    t: rest.t,
    tags,
    transaction_id: rest.transaction_id,
  };
}
