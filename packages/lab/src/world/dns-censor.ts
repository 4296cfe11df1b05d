import type { DecodedPacket } from 'dns-packet';
import type { DnsRule } from './config.js';
import { buildResponse, questionOf } from './dns-wire.js';
import { normalizeName } from './names.js';

/** The first rule that matches the question's exact name (and the asking client, for scoped rules), among RULES. */
export function matchDnsRule(rules: DnsRule[], query: DecodedPacket, client?: string): DnsRule | undefined {
  const name = normalizeName(questionOf(query).name);
  return rules.find(
    (rule) =>
      rule.name === name && (!rule.clients || (client !== undefined && rule.clients.includes(client))),
  );
}

/**
 * What the censor says for QUERY under RULE: a forged response, or null for `drop` (never answer).
 * A spoof forges an A record for A questions and an empty NOERROR for every other type.
 */
export function censoredAnswer(rule: DnsRule, query: DecodedPacket): Buffer | null {
  switch (rule.action.kind) {
    case 'drop':
      return null;
    case 'nxdomain':
      return buildResponse(query, { rcode: 'NXDOMAIN', recursionAvailable: true });
    case 'refused':
      return buildResponse(query, { rcode: 'REFUSED', recursionAvailable: true });
    case 'servfail':
      return buildResponse(query, { rcode: 'SERVFAIL', recursionAvailable: true });
    case 'spoof':
      return buildResponse(query, {
        rcode: 'NOERROR',
        addresses: [rule.action.address],
        recursionAvailable: true,
      });
  }
}

/** Rewrites an authoritative upstream answer as a recursive resolver's: AA cleared, RA set. */
export function asRecursiveAnswer(message: Buffer): Buffer {
  if (message.length < 4) return message;
  const copy = Buffer.from(message);
  copy.writeUInt16BE((copy.readUInt16BE(2) & ~0x0400) | 0x0080, 2);
  return copy;
}
