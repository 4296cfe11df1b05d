/** Several probes in one lab (issue 5): their addresses, and censor rules scoped to some of them. */

import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import type { CensorRule } from '../src/spec.js';
import { planAddresses } from '../src/world/addressing.js';
import { planCensor } from '../src/world/censor-plan.js';
import { matchDnsRule } from '../src/world/dns-censor.js';
import { parseQuery } from '../src/world/dns-wire.js';
import { interceptions, worldSites } from '../src/world/lab.js';
import {
  NAMESPACE_PATTERN,
  namespaceList,
  namespaceNames,
  namespacesOfLab,
} from '../src/world/namespaces.js';

const sites = worldSites([]);
const plan = planAddresses(4, sites, ['fuz-1', 'fuz-2', 'ba-1']);
const context = interceptions(plan, sites);
const scoped = (match: CensorRule['match'], action: CensorRule['action'], probes?: string[]): CensorRule => ({
  match,
  action,
  via: 'resolver',
  ...(probes ? { probes } : {}),
});

describe('a lab with several probes', () => {
  it('puts each probe on the router’s client network after the client namespace', () => {
    expect(plan.probe).toBe('10.104.1.2');
    expect(plan.probes).toEqual({ 'fuz-1': '10.104.1.3', 'fuz-2': '10.104.1.4', 'ba-1': '10.104.1.5' });
    // One probe: no probe namespaces, the lab is what it always was.
    expect(planAddresses(4, sites).probes).toEqual({});
  });

  it('names a namespace per probe, which the stale-lab cleanup recognises', () => {
    const ns = namespaceNames(7, ['a', 'b']);
    expect(namespaceList(ns)).toEqual(['phx7-cli', 'phx7-rtr', 'phx7-net', 'phx7-p0', 'phx7-p1']);
    expect(namespaceList(ns).every((n) => NAMESPACE_PATTERN.test(n))).toBe(true);
    expect(namespacesOfLab(7, ['phx7-p12', 'phx17-p0', 'phx7-net', 'other'])).toEqual([
      'phx7-p12',
      'phx7-net',
    ]);
  });

  it('cuts only the scoped probes off, both ways, the ISP resolver included', () => {
    const p = planCensor([scoped({ kind: 'all' }, { kind: 'drop' }, ['fuz-1', 'fuz-2'])], context);
    const set = '{ 10.104.1.3, 10.104.1.4 }';
    expect(p.nft).toContain(`ip saddr ${set} drop`);
    expect(p.nft).toContain(`ip daddr ${set} drop`);
    expect(p.nft).toContain(`iifname "r0" ip saddr ${set} drop`);
    expect(p.nft).toContain(`oifname "r0" ip daddr ${set} drop`);
    // Not the blanket blackout: the internet side stays up for everyone else.
    expect(p.nft).not.toMatch(/oifname \{ "r0", "r1" \} drop/);
    expect(p.description[0]).toContain('[for fuz-1, fuz-2]');
  });

  it('scopes address, string-match and throttle rules by the probes’ addresses', () => {
    const p = planCensor(
      [
        scoped({ kind: 'dst', target: 'e1.whatsapp.net' }, { kind: 'drop' }, ['ba-1']),
        scoped({ kind: 'sni', name: 'web.whatsapp.com' }, { kind: 'drop' }, ['fuz-1', 'ba-1']),
        scoped({ kind: 'all' }, { kind: 'throttle', rate: '128kbit' }, ['fuz-2']),
      ],
      context,
    );
    const e1 = plan.sites['e1.whatsapp.net']!.all[0];
    expect(p.nft).toContain(`ip saddr 10.104.1.5 ip daddr ${e1} drop`);
    expect(p.iptables).toContain('-A PHAROS -s 10.104.1.3,10.104.1.5 -p tcp -m string');
    expect(p.nft).toContain('oifname "r0" ip daddr 10.104.1.4 meta priority set 1:10');
    expect(p.nft).toContain('oifname "r1" ip saddr 10.104.1.4 meta priority set 1:10');
    expect(p.tc.some((l) => l.includes('rate 128kbit'))).toBe(true);
  });

  it('lies in DNS only to the scoped probes', () => {
    const p = planCensor(
      [scoped({ kind: 'dns_name', name: 'www.example.com' }, { kind: 'nxdomain' }, ['fuz-1'])],
      context,
    );
    expect(p.router.dns).toEqual([
      { name: 'www.example.com', via: 'resolver', action: { kind: 'nxdomain' }, clients: ['10.104.1.3'] },
    ]);
    const query = parseQuery(
      dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: 'www.example.com' }] }),
    )!;
    expect(matchDnsRule(p.router.dns, query, '10.104.1.3')).toBeDefined();
    expect(matchDnsRule(p.router.dns, query, '10.104.1.5')).toBeUndefined();
  });

  it('refuses a scope naming a probe the lab does not have, and a scoped blockpage', () => {
    expect(() => planCensor([scoped({ kind: 'all' }, { kind: 'drop' }, ['nope'])], context)).toThrow(
      /no probe named nope/,
    );
    expect(() =>
      planCensor(
        [scoped({ kind: 'host', name: 'www.example.com' }, { kind: 'blockpage', html: 'x' }, ['ba-1'])],
        context,
      ),
    ).toThrow(/cannot be scoped/);
  });
});
