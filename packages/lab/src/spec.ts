/**
 * The lab's normalized description of one run: the sites added to the default internet, the
 * censor's rules and the probe. The scenario parser produces it from a scenario file (with every
 * default filled in); the world builder consumes it. See docs/lab.md for the file format.
 */

export interface SiteSpec {
  host: string;
  /** Serve plain HTTP on port 80. */
  http: boolean;
  /** Serve HTTPS on port 443. */
  https: boolean;
  /** The page served for every path; default: a page of about 1.5 KB whose title names the host. */
  body?: string;
  /** HTTP status of every response. */
  status: number;
  /** How many A records (and addresses with servers) the site has. */
  addresses: number;
  /** Pharos extension: the certificate the site presents over HTTPS. */
  cert: 'valid' | 'expired' | 'wrong-name' | 'unknown-ca';
  /** Pharos extension: what the world's DNS says about the name, for everyone (not censorship). */
  dns: 'ok' | 'nxdomain' | 'localhost';
  /** Pharos extension: answer every request with a 302 to this URL. */
  redirect?: string;
  /** Pharos extension: serve a body of this many bytes (a page with a title, then padding). */
  size?: number;
  /**
   * Pharos extension: a CDN with geo-DNS. The ISP's resolver is given different addresses than
   * everyone else (public resolver, test helper); all of them serve the site with a valid
   * certificate. Doubles the site's addresses.
   */
  geoDns: boolean;
  /** Pharos extension (issue 4): the ASN the site's addresses belong to. */
  asn?: number;
  /**
   * Pharos extension (issue 4): the site's own uplink, a tc rate such as `1mbit`. Shaped in the
   * internet namespace, so the site is slow for everyone (probe, control, test helper): a slow
   * site, not throttling.
   */
  rate?: string;
}

export type CensorMatch =
  | { kind: 'dns_name'; name: string }
  | { kind: 'sni'; name: string }
  | { kind: 'host'; name: string }
  | { kind: 'dst'; target: string; port?: number }
  | { kind: 'all' };

export type CensorAction =
  | { kind: 'nxdomain' }
  | { kind: 'refused' }
  | { kind: 'servfail' }
  | { kind: 'drop' }
  | { kind: 'reset' }
  /** address: an IPv4 literal, or the keywords bogon (10.10.34.35), localhost, proxy (the ISP's transparent proxy). */
  | { kind: 'spoof'; address: string }
  | { kind: 'blockpage'; html: string }
  /** rate in tc syntax, e.g. "128kbit". */
  | { kind: 'throttle'; rate: string }
  /** Pharos extension (issue 4): drop this percentage of packets at random (a lossy path, not censorship). */
  | { kind: 'loss'; percent: number };

export interface CensorRule {
  match: CensorMatch;
  action: CensorAction;
  /** DNS rules only: `resolver` (the ISP resolver lies) or `path` (every DNS query crossing the router). */
  via: 'resolver' | 'path';
}

export interface ProbeSpec {
  cc: string;
  asn: number;
  experiments: string[];
  inputs: string[];
  /** Pharos extension: blockpage fingerprint files (OONI's CSV format), absolute paths. */
  fingerprints: string[];
}

export interface Expectation {
  /** The experiment whose measurement is judged (default web_connectivity). */
  experiment: string;
  /** The measured input; null for experiments without one (the messaging apps, the platforms). */
  input: string | null;
  /** Pharos extension, for experiments other than Web Connectivity: `x_verdict`. */
  verdict?: 'ok' | 'blocked' | 'throttled' | 'down' | null;
  blocking?: false | 'dns' | 'tcp_ip' | 'http-failure' | 'http-diff' | null;
  accessible?: boolean | null;
  mechanism?: string | null;
  /** Pharos extension: OONI's dns_consistency. */
  dns_consistency?: 'consistent' | 'inconsistent' | null;
  /** Pharos extension: whether a blockpage fingerprint confirmed the result. */
  confirmed?: boolean;
}

export interface ScenarioSpec {
  name: string;
  description: string;
  /** The file it came from, for messages. */
  file: string;
  sites: SiteSpec[];
  censor: CensorRule[];
  probe: ProbeSpec;
  expect: Expectation[];
}
