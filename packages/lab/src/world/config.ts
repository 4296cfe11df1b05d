/**
 * What the parent hands to the two lab processes (as JSON files) and sends the router at run time.
 */
import type { KeyAndCert } from './certificates.js';
import type { Zone } from './zone.js';

export interface SiteServiceConfig {
  host: string;
  addresses: string[];
  http: boolean;
  https: boolean;
  status: number;
  body?: string;
  redirect?: string;
  size?: number;
  /** Key and certificate presented on 443 (absent when https is false). */
  tls?: KeyAndCert;
  /** Ports that accept TCP connections and say nothing (WhatsApp's 5222). */
  tcpPorts?: number[];
  /** Ports serving plain HTTP besides 80 (Telegram's data centres answer HTTP on 443). */
  httpPorts?: number[];
  /**
   * The certificate is shared with other sites (the platform stand-ins): its TLS context is built
   * once and chosen by SNI, so a hundred stand-ins do not parse the same key a hundred times.
   */
  sharedTls?: boolean;
}

/** The internet namespace's process: authoritative DNS, public resolver (+DoH), test helper, sites, proxy. */
export interface ServicesConfig {
  zone: Zone;
  /** Queries from this address (the router's internet side, i.e. the ISP resolver) get the ISP's geo-DNS view. */
  ispSource: string;
  authoritative: string;
  publicResolver: string;
  testHelper: string;
  proxy: string;
  caPem: string;
  /** Every lab address starts with this ("10.O."). */
  labPrefix: string;
  testHelperTls: KeyAndCert;
  dohTls: KeyAndCert;
  sites: SiteServiceConfig[];
}

export type DnsRuleAction =
  | { kind: 'nxdomain' }
  | { kind: 'refused' }
  | { kind: 'servfail' }
  | { kind: 'drop' }
  | { kind: 'spoof'; address: string };

export interface DnsRule {
  /** Normalized name; the rule matches this exact name only. */
  name: string;
  via: 'resolver' | 'path';
  action: DnsRuleAction;
  /** Issue 5: only queries from these addresses (a rule scoped to some probes); absent: everyone. */
  clients?: string[];
}

export interface BlockpageRule {
  host: string;
  html: string;
}

/** The part of the censor the router process carries out (DNS lies and blockpage injection). */
export interface RouterRules {
  dns: DnsRule[];
  blockpages: BlockpageRule[];
}

/** A local port on the router standing in for ORIGINAL (DNAT target), so the process knows where to forward. */
export interface Interception {
  port: number;
  /** The original destination address; null for "any other destination" (DNS only). */
  original: string | null;
}

/** The router namespace's process: the ISP resolver, the on-path DNS censor and the HTTP middlebox. */
export interface RouterConfig {
  /** The ISP resolver's address (the router's client-side address); also where interceptions listen. */
  ispResolver: string;
  authoritative: string;
  dnsInterceptions: Interception[];
  httpInterceptions: Interception[];
  rules: RouterRules;
}

export type RouterMessage = { type: 'rules'; id: number; rules: RouterRules };
