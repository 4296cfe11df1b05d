import { LAB_NAMES, normalizeName } from './names.js';

/** How many labs can run at once on one machine: k in 0..99 gives the second octet 100..199. */
export const MAX_LABS = 100;

/** Interface names inside the lab's namespaces (they live only there, never in the root namespace). */
export const IFACE = {
  /** The probe's side of the client link (in the client namespace). */
  client: 'c0',
  /** The router's side of the client link. */
  routerClient: 'r0',
  /** The router's side of the internet link. */
  routerInternet: 'r1',
  /** The internet's side of the internet link; every service address sits on it. */
  internet: 'n0',
  /** With several probes: the router's side of the client namespace's link, a port of the r0 bridge. */
  routerClientPort: 'rc',
  /** With several probes: prefix of the router's side of each probe's link (rp0, rp1, …), bridge ports too. */
  routerProbePort: 'rp',
} as const;

/** The first probe of a multi-probe lab is 10.O.1.3 (.1 is the router, .2 the client namespace). */
const FIRST_PROBE_HOST = 3;

export interface SiteAddresses {
  /** Every address the site is served on. */
  all: string[];
  /** What the ISP resolver is told (geo-DNS: the first half; otherwise all). */
  forIsp: string[];
  /** What everyone else is told (geo-DNS: the second half; otherwise all). */
  forOthers: string[];
}

export interface AddressPlan {
  k: number;
  /** The second octet: 100 + k. */
  octet: number;
  clientPrefix: 24;
  internetPrefix: 20;
  probe: string;
  /** The router's client-side address; also the ISP resolver's. */
  router: string;
  /** The router's internet-side address: the source of the ISP resolver's upstream queries. */
  routerInternet: string;
  ispResolver: string;
  authoritative: string;
  publicResolver: string;
  testHelper: string;
  proxy: string;
  sites: Record<string, SiteAddresses>;
  /** Each probe's address on the router's client bridge, by probe name (empty with one probe). */
  probes: Record<string, string>;
}

export interface SiteAddressRequest {
  host: string;
  addresses: number;
  geoDns: boolean;
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/**
 * The address plan of lab k: client link 10.O.1.0/24 (probe .2, router .1), internet link
 * 10.O.16.0/20 (router .16.1, authoritative DNS .16.2, public resolver .16.3, test helper .16.4,
 * transparent proxy .16.5, sites from .17.1 upward), with O = 100 + k.
 */
export function planAddresses(k: number, sites: SiteAddressRequest[], probes: string[] = []): AddressPlan {
  if (!Number.isInteger(k) || k < 0 || k >= MAX_LABS) throw new Error(`lab index ${k} is out of range 0..99`);
  if (FIRST_PROBE_HOST + probes.length > 255)
    throw new Error(`at most ${255 - FIRST_PROBE_HOST} probes in one lab`);
  const octet = 100 + k;
  const net = (c: number, d: number) => `10.${octet}.${c}.${d}`;
  const last = ipToInt(net(31, 254));
  let next = ipToInt(net(17, 1));
  const take = (): string => {
    while ((next & 255) === 0 || (next & 255) === 255) next++;
    if (next > last) throw new Error('the lab ran out of site addresses (more than ~3800 requested)');
    return intToIp(next++);
  };
  const siteAddresses: Record<string, SiteAddresses> = {};
  for (const site of sites) {
    const host = normalizeName(site.host);
    const count = Math.max(1, Math.floor(site.addresses));
    if (site.geoDns) {
      const forIsp = Array.from({ length: count }, take);
      const forOthers = Array.from({ length: count }, take);
      siteAddresses[host] = { all: [...forIsp, ...forOthers], forIsp, forOthers };
    } else {
      const all = Array.from({ length: count }, take);
      siteAddresses[host] = { all, forIsp: all, forOthers: all };
    }
  }
  return {
    k,
    octet,
    clientPrefix: 24,
    internetPrefix: 20,
    probe: net(1, 2),
    router: net(1, 1),
    routerInternet: net(16, 1),
    ispResolver: net(1, 1),
    authoritative: net(16, 2),
    publicResolver: net(16, 3),
    testHelper: net(16, 4),
    proxy: net(16, 5),
    sites: siteAddresses,
    probes: Object.fromEntries(probes.map((name, i) => [name, net(1, FIRST_PROBE_HOST + i)])),
  };
}

/** Every address on the internet side (services and sites), for the internet namespace's interface. */
export function internetAddresses(plan: AddressPlan): string[] {
  const all = [plan.authoritative, plan.publicResolver, plan.testHelper, plan.proxy];
  for (const site of Object.values(plan.sites)) all.push(...site.all);
  return all;
}

/** The lab-internal names with fixed addresses (not sites). */
export function serviceNames(plan: AddressPlan): Record<string, string> {
  return {
    [LAB_NAMES.th]: plan.testHelper,
    [LAB_NAMES.publicResolver]: plan.publicResolver,
    [LAB_NAMES.proxy]: plan.proxy,
  };
}

export function isIPv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}
