/**
 * The platform stand-ins of the lab's default internet: a site for every name the app and
 * platform experiments measure (from the probe's catalog), each carrying its network's ASN, with
 * the extra ports those experiments use (WhatsApp's 5222, plain HTTP on Telegram's data-centre
 * port 443). After the addresses are planned the lab writes, for the probe, a catalog pointing at
 * the stand-ins (`--catalog`) and an IP→ASN table (`--asn-table`).
 */
import { type Catalog, loadCatalog } from '@pharos/probe';
import type { SiteSpec } from '../spec.js';
import type { AddressPlan } from './addressing.js';
import { normalizeName, telegramDcHost } from './names.js';

/** A site as the world builds it: the scenario's fields plus what only stand-ins use. */
export interface WorldSite extends SiteSpec {
  /** Ports that accept TCP connections and say nothing (WhatsApp's 5222). */
  tcpPorts?: number[];
  /** Ports serving plain HTTP besides 80 (Telegram's data centres answer HTTP on 443). */
  httpPorts?: number[];
  /** Who signs its certificate: the lab CA, or the lab's stand-in for an app's private CA (Signal's). */
  issuer?: 'lab' | 'pinned';
  /** One of the default internet's platform stand-ins (they share one certificate). */
  standIn?: boolean;
}

/** A site as the default internet's: HTTP and HTTPS, one address, a valid certificate. */
export function defaultSite(host: string): SiteSpec {
  return {
    host,
    http: true,
    https: true,
    status: 200,
    addresses: 1,
    cert: 'valid',
    dns: 'ok',
    geoDns: false,
  };
}

function site(host: string): WorldSite {
  return { ...defaultSite(host), standIn: true };
}

const WEB_PORTS = new Set([80, 443]);

/** Every app and platform endpoint of CATALOG as a site, in catalog order, each name once. */
export function standInSites(catalog: Catalog = loadCatalog()): WorldSite[] {
  const byHost = new Map<string, WorldSite>();
  const add = (name: string, extra: Partial<WorldSite> = {}) => {
    const host = normalizeName(name);
    const previous = byHost.get(host) ?? site(host);
    const merged: WorldSite = { ...previous };
    for (const [key, value] of Object.entries(extra))
      if (value !== undefined) Object.assign(merged, { [key]: value });
    byHost.set(host, merged);
  };
  const hostOf = (url: string) => new URL(url).hostname;
  const { whatsapp, telegram, signal, facebook_messenger: messenger } = catalog.apps;

  for (const host of whatsapp.endpoints.hosts)
    add(host, { asn: whatsapp.asn, tcpPorts: whatsapp.endpoints.ports.filter((p) => !WEB_PORTS.has(p)) });
  add(hostOf(whatsapp.registration), { asn: whatsapp.asn });
  add(hostOf(whatsapp.web), { asn: whatsapp.asn });

  for (const dc of telegram.datacenters)
    add(telegramDcHost(dc.name), {
      asn: telegram.asn,
      https: false,
      httpPorts: telegram.ports.filter((p) => p !== 80),
    });
  add(hostOf(telegram.web), { asn: telegram.asn });

  for (const url of signal.targets) add(hostOf(url), { asn: signal.asn, issuer: 'pinned' });
  if (signal.uptime) add(signal.uptime, { http: false, https: false });

  for (const service of messenger.services) add(service.host, { asn: messenger.asn });

  for (const platform of Object.values(catalog.platforms))
    for (const endpoint of platform.endpoints) add(endpoint.host, { asn: platform.asn });
  return [...byHost.values()];
}

/** The IP→ASN table the probe is given (`start,end,asn`, one address per line). */
export function asnTableCSV(plan: AddressPlan, sites: SiteSpec[]): string {
  const lines = ['start,end,asn'];
  for (const s of sites) {
    if (s.asn === undefined) continue;
    for (const ip of plan.sites[normalizeName(s.host)]?.all ?? []) lines.push(`${ip},${ip},${s.asn}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The catalog the probe is given in the lab: the default one with Telegram's data centres at
 * their stand-ins' addresses, Signal's CAs replaced by the lab's pinned CA, and the address
 * ranges of each network replaced by the lab addresses of its sites.
 */
export function labCatalog(
  plan: AddressPlan,
  sites: SiteSpec[],
  pinnedCaPem: string | null,
  catalog: Catalog = loadCatalog(),
): Catalog {
  const copy = structuredClone(catalog);
  copy.about = 'The Pharos lab catalog: every endpoint is a lab stand-in (written by the lab for this run).';
  copy.apps.telegram.datacenters = copy.apps.telegram.datacenters.map((dc) => ({
    name: dc.name,
    ip: plan.sites[telegramDcHost(dc.name)]?.all[0] ?? dc.ip,
  }));
  if (pinnedCaPem) copy.apps.signal.ca = [pinnedCaPem];
  const prefixes: Record<string, string[]> = {};
  for (const s of sites) {
    if (s.asn === undefined) continue;
    const key = String(s.asn);
    const list = prefixes[key] ?? [];
    prefixes[key] = list;
    for (const ip of plan.sites[normalizeName(s.host)]?.all ?? []) list.push(`${ip}/32`);
  }
  copy.asn_prefixes = prefixes;
  return copy;
}
