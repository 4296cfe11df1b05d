/**
 * Sites with their own `rate`: a slow site, slow for everyone. The internet namespace shapes what
 * each such site sends (an htb class per site on its interface and on loopback, which the test
 * helper's fetches take), so the probe, its control and the test helper all see the same slowness.
 * Unclassified traffic bypasses htb (no default class). Pure: nothing here touches the system.
 */
import type { SiteSpec } from '../spec.js';
import { type AddressPlan, IFACE } from './addressing.js';

export interface SiteRatePlan {
  /** `tc -batch -` lines for the internet namespace. */
  tc: string[];
  /** `nft -f -` input for the internet namespace. */
  nft: string;
  description: string[];
}

const RATE = /^\d+(\.\d+)?([kmgt]i?)?(bit|bps)$/i;
const QUANTUM = 1514;

/** Null when no site has a rate. */
export function planSiteRates(sites: SiteSpec[], plan: AddressPlan): SiteRatePlan | null {
  const slow = sites.filter((s) => s.rate !== undefined);
  if (slow.length === 0) return null;
  const tc: string[] = [];
  const rules: string[] = [];
  const description: string[] = [];
  for (const dev of [IFACE.internet, 'lo']) tc.push(`qdisc add dev ${dev} root handle 1: htb`);
  slow.forEach((site, i) => {
    const rate = site.rate!;
    if (!RATE.test(rate)) throw new Error(`site ${site.host}: rate ${rate} is not a tc rate such as 1mbit`);
    const addresses = plan.sites[site.host]?.all ?? [];
    if (addresses.length === 0) throw new Error(`site ${site.host} has no addresses`);
    const minor = (0x10 + i).toString(16);
    for (const dev of [IFACE.internet, 'lo'])
      tc.push(
        `class add dev ${dev} parent 1: classid 1:${minor} htb rate ${rate} ceil ${rate} quantum ${QUANTUM}`,
      );
    const set = addresses.length === 1 ? addresses[0]! : `{ ${addresses.join(', ')} }`;
    rules.push(`ip saddr ${set} meta priority set 1:${minor}`);
    description.push(
      `site ${site.host}: everything it sends shaped to ${rate} (htb 1:${minor}, internet side)`,
    );
  });
  const nft = `table inet pharos_sites {\n  chain output {\n    type filter hook output priority filter; policy accept;\n${rules
    .map((r) => `    ${r}\n`)
    .join('')}  }\n}\n`;
  return { tc, nft, description };
}
