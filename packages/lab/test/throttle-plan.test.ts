/** The lab extensions for the throttling scenarios, planned without root: `loss` rules and site `rate`s. */
import { describe, expect, it } from 'vitest';
import type { CensorRule, SiteSpec } from '../src/spec.js';
import { planAddresses } from '../src/world/addressing.js';
import { planCensor } from '../src/world/censor-plan.js';
import { defaultSite, interceptions, worldSites } from '../src/world/lab.js';
import { planSiteRates } from '../src/world/site-rates.js';

const sites: SiteSpec[] = worldSites(
  [
    { ...defaultSite('x.example'), size: 1 << 20 },
    { ...defaultSite('slow.example'), rate: '1mbit', addresses: 2 },
  ],
  { standIns: false },
);
const plan = planAddresses(5, sites);
const context = interceptions(plan, sites);
const rule = (match: CensorRule['match'], action: CensorRule['action']): CensorRule => ({
  match,
  action,
  via: 'resolver',
});

describe('loss rules', () => {
  it('drop a percentage of forwarded packets with nft numgen, per segment', () => {
    const p = planCensor([rule({ kind: 'all' }, { kind: 'loss', percent: 2 })], context);
    expect(p.nft).toContain('numgen random mod 10000 < 200 drop');
    expect(p.perSegment).toBe(true);
    expect(p.tc).toEqual([]);
    expect(p.description[0]).toMatch(/all → loss 2%/);
  });

  it('apply to a destination in both directions, with fractions of a percent', () => {
    const [address] = plan.sites['x.example']!.all;
    const p = planCensor(
      [rule({ kind: 'dst', target: 'x.example' }, { kind: 'loss', percent: 0.5 })],
      context,
    );
    expect(p.nft).toContain(`ip daddr ${address} numgen random mod 10000 < 50 drop`);
    expect(p.nft).toContain(`ip saddr ${address} numgen random mod 10000 < 50 drop`);
  });

  it('leave offloads alone without a loss rule, and refuse nonsense', () => {
    expect(planCensor([rule({ kind: 'all' }, { kind: 'throttle', rate: '2mbit' })], context).perSegment).toBe(
      false,
    );
    expect(() => planCensor([rule({ kind: 'all' }, { kind: 'loss', percent: 0 })], context)).toThrow(
      /percentage/,
    );
    expect(() => planCensor([rule({ kind: 'all' }, { kind: 'loss', percent: 101 })], context)).toThrow(
      /percentage/,
    );
    expect(() =>
      planCensor([rule({ kind: 'sni', name: 'x.example' }, { kind: 'loss', percent: 2 })], context),
    ).toThrow(/loss does not apply/);
  });
});

describe('site rates', () => {
  it('shape a slow site for everyone on the internet side: its interface and loopback', () => {
    const p = planSiteRates(sites, plan)!;
    const [a, b] = plan.sites['slow.example']!.all;
    expect(p.tc).toEqual([
      'qdisc add dev n0 root handle 1: htb',
      'qdisc add dev lo root handle 1: htb',
      'class add dev n0 parent 1: classid 1:10 htb rate 1mbit ceil 1mbit quantum 1514',
      'class add dev lo parent 1: classid 1:10 htb rate 1mbit ceil 1mbit quantum 1514',
    ]);
    expect(p.nft).toContain(`ip saddr { ${a}, ${b} } meta priority set 1:10`);
    expect(p.nft).toContain('hook output');
  });

  it('are nothing without a rate, and refuse a rate tc would not take', () => {
    expect(planSiteRates(worldSites([defaultSite('x.example')], { standIns: false }), plan)).toBeNull();
    const bad = [{ ...defaultSite('slow.example'), rate: 'fast' }];
    expect(() => planSiteRates(bad, planAddresses(5, bad))).toThrow(/not a tc rate/);
  });
});
