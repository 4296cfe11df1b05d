import type { SiteSpec } from '../spec.js';
import { type AddressPlan, serviceNames } from './addressing.js';
import { LOCALHOST_ADDRESS, normalizeName } from './names.js';

/** What the lab's authoritative DNS knows about one name. */
export type ZoneEntry = { kind: 'a'; forIsp: string[]; forOthers: string[] } | { kind: 'nxdomain' };

/** Every name of the lab's internet, keyed by normalized name. Unknown names do not exist. */
export type Zone = Record<string, ZoneEntry>;

/** Who is asking: the ISP resolver (its upstream source address) or anyone else. */
export type DnsView = 'isp' | 'others';

export interface ZoneAnswer {
  rcode: 'NOERROR' | 'NXDOMAIN';
  /** IPv4 addresses for an A question (empty for NXDOMAIN and for other types). */
  addresses: string[];
}

export function buildZone(plan: AddressPlan, sites: SiteSpec[]): Zone {
  const zone: Zone = {};
  for (const [name, address] of Object.entries(serviceNames(plan))) {
    zone[name] = { kind: 'a', forIsp: [address], forOthers: [address] };
  }
  for (const site of sites) {
    const host = normalizeName(site.host);
    const addresses = plan.sites[host];
    if (site.dns === 'nxdomain') zone[host] = { kind: 'nxdomain' };
    else if (site.dns === 'localhost')
      zone[host] = { kind: 'a', forIsp: [LOCALHOST_ADDRESS], forOthers: [LOCALHOST_ADDRESS] };
    else if (addresses) zone[host] = { kind: 'a', forIsp: addresses.forIsp, forOthers: addresses.forOthers };
  }
  return zone;
}

/** The answer for (name, type): A records for A questions; NOERROR/NODATA for other types of a known name. */
export function lookupZone(zone: Zone, name: string, type: string, view: DnsView): ZoneAnswer {
  const entry = zone[normalizeName(name)];
  if (!entry || entry.kind === 'nxdomain') return { rcode: 'NXDOMAIN', addresses: [] };
  if (type !== 'A' && type !== 'ANY') return { rcode: 'NOERROR', addresses: [] };
  return { rcode: 'NOERROR', addresses: view === 'isp' ? entry.forIsp : entry.forOthers };
}
