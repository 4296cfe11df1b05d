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
  /** Pharos extension (issue 5): a name a timeline's `lift` can refer to. */
  name?: string;
  /**
   * Pharos extension (issue 5): the rule applies only to these probes (names from `probes:`),
   * resolved from the file's `probes`, `asn` and `region` keys. Absent: everyone behind the router.
   */
  probes?: string[];
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

/** Pharos extension (issue 5): one probe of a multi-probe scenario, in its own namespace. */
export interface ProbeNode {
  /** Unique within the scenario; also names its namespace's log files. */
  name: string;
  cc: string;
  asn: number;
  /** ISO 3166-2, e.g. AZ-FUZ. */
  region: string;
  /** Experiments run in a loop besides the beacon (empty: the probe only beacons). */
  experiments: string[];
  inputs: string[];
}

/** One step of a timeline: lift rules (by name, or all), then apply new ones. */
export interface TimelineEntry {
  /** Seconds since the start of the run. */
  at: number;
  censor: CensorRule[];
  /** Names of rules to lift, or 'all' for every active rule. */
  lift: string[] | 'all';
}

/** Ordinary probe churn: every `every` seconds, `probes` random probes go offline for `offline` seconds. */
export interface ChurnSpec {
  probes: number;
  offline: number;
  every: number;
  /** Seeds the choice of probes, so a run can be repeated. */
  seed: number;
}

/** An incident the observatory must open (and close) during a timeline run. */
export interface IncidentExpectation {
  /** Canonical entity (country, region, asn, platform order), e.g. `region:AZ-FUZ+asn:29049`. */
  entity?: string;
  type: 'Shutdown' | 'Throttle';
  extent: 'Full network' | 'Service-based';
  /** Services affected, compared as a set. */
  services?: string[];
  /** The ASNs the incident names, compared as a set. */
  asns?: number[];
  /** Seconds after the cut within which the server must open it. */
  openedWithin?: number;
  /** Seconds after the restoration within which the server must end it. */
  closedWithin?: number;
  /** Timeline time (s) of the cut the opening is measured from. */
  cutAt: number;
  /** Timeline time (s) of the restoration, when there is one. */
  restoreAt: number | null;
}

/** Pharos extension (issue 5): several probes, the observatory server, a timeline of censor changes. */
export interface ObservatorySpec {
  probes: ProbeNode[];
  timeline: TimelineEntry[];
  churn: ChurnSpec | null;
  /** Seconds the run lasts (probes beaconing, timeline applied, incidents watched). */
  duration: number;
  /** Beacon interval in seconds, also the server's detection cadence. */
  interval: number;
  /** Seconds between two runs of a probe's experiments. */
  experimentEvery: number;
  /** Expected incidents; an empty list means none may open. */
  incidents: IncidentExpectation[];
}

export interface ScenarioSpec {
  name: string;
  description: string;
  /** The file it came from, for messages. */
  file: string;
  sites: SiteSpec[];
  censor: CensorRule[];
  /** For observatory scenarios: the first of `probes`, so code that reads one probe still can. */
  probe: ProbeSpec;
  /** Verdict expectations; empty for observatory scenarios, which state `incidents` instead. */
  expect: Expectation[];
  /** Present when the file has `probes:` (several probes, a server, a timeline). */
  observatory?: ObservatorySpec;
}
