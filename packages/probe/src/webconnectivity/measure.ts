/**
 * Web Connectivity (OONI ts-017, as v0.5 measures it): DNS by three resolvers, the control
 * request, TCP/TLS to every address, the page with its redirects, then the analysis.
 * A measurement never throws: what fails is recorded as a failure string.
 */
import { isIP } from 'node:net';
import { type ControlRequest, isLoopback, type WebConnectivityMeasurement } from '@pharos/core';
import { lookupDoH } from '../net/dns-doh.js';
import { type LookupResult, lookupSystem } from '../net/dns-system.js';
import { lookupUDP } from '../net/dns-udp.js';
import { formatEndpoint, urlHostname, urlPort } from '../net/endpoint.js';
import { type FetchOutcome, fetchFollowingRedirects, type OpenHop } from '../net/fetch.js';
import { Trace } from '../net/trace.js';
import { analyze } from './analysis.js';
import { connectAll, type EndpointPlan } from './connectivity.js';
import { askControl, type ControlOutcome, controlRequest } from './control.js';
import { envelope } from './envelope.js';
import {
  DEFAULT_TEST_HELPERS,
  type ResolvedTimeouts,
  resolveTimeouts,
  type WebConnectivityOptions,
} from './options.js';

interface Observed {
  controlRequest: ControlRequest | null;
  control: ControlOutcome;
  /** The HTTP step's failure as we saw it; the analysis has the final word. */
  httpFailure: string | null;
  dnsFailure: string | null;
  /**
   * A failure no observation shows (an input we cannot measure, a bug of ours): it overrides
   * the analysis, which can only judge what was observed.
   */
  measurementFailure?: string;
}

export async function measureWebConnectivity(
  input: string,
  options: WebConnectivityOptions = {},
): Promise<WebConnectivityMeasurement> {
  const started = new Date();
  const trace = new Trace();
  let observed: Observed;
  try {
    observed = await observe(input, options, trace);
  } catch (err) {
    // A bug of ours, not the network's: keep what was observed and say what went wrong.
    const failure = `unknown_failure: ${err instanceof Error ? err.message : String(err)}`;
    observed = {
      controlRequest: null,
      control: { control: null, failure: null, backend: null },
      httpFailure: failure,
      dnsFailure: null,
      measurementFailure: failure,
    };
  }
  await trace.closeAll();

  const requests = [...trace.requests].reverse();
  const verdict = analyze(
    {
      input,
      queries: trace.queries,
      tcp_connect: trace.tcpConnect,
      tls_handshakes: trace.tlsHandshakes,
      requests,
      control: observed.control.control,
      control_failure: observed.control.failure,
    },
    observed,
    options.fingerprints,
  );
  if (observed.measurementFailure) {
    Object.assign(verdict, {
      http_experiment_failure: observed.measurementFailure,
      blocking: null,
      accessible: null,
    });
  }
  return envelope({
    input,
    started,
    testStartTime: options.testStartTime,
    runtimeSeconds: (Date.now() - started.getTime()) / 1000,
    probeCC: options.probeCC ?? 'ZZ',
    probeASN: options.probeASN ?? 'AS0',
    reportId: options.reportId,
    annotations: options.annotations,
    backend: observed.control.backend,
    testKeys: {
      agent: 'redirect',
      client_resolver: null,
      retries: null,
      socksproxy: null,
      network_events: trace.networkEvents,
      queries: trace.queries,
      requests,
      tcp_connect: trace.tcpConnect,
      tls_handshakes: trace.tlsHandshakes,
      x_control_request: observed.controlRequest,
      control: observed.control.control,
      control_failure: observed.control.failure,
      ...verdict,
      x_bytes_sent: trace.bytesSent,
      x_bytes_received: trace.bytesReceived,
    },
  });
}

async function observe(input: string, options: WebConnectivityOptions, trace: Trace): Promise<Observed> {
  const timeouts = resolveTimeouts(options.timeouts);
  const { signal, extraCA } = options;
  const url = parseInput(input);
  if (typeof url === 'string') {
    return {
      controlRequest: null,
      control: { control: null, failure: null, backend: null },
      httpFailure: url,
      dnsFailure: null,
      measurementFailure: url,
    };
  }
  const hostname = urlHostname(url);
  const port = urlPort(url);
  const https = url.protocol === 'https:';

  // 1. DNS. Only the system resolver's answers are "classic" and used to connect; the UDP and
  // DoH answers are evidence for the analysis (a resolver that lies, a path that injects).
  const dnsOptions = { trace, signal, timeoutMs: timeouts.dns };
  const extraLookups: Promise<LookupResult>[] = [];
  let system: LookupResult = { addresses: [hostname], failure: null };
  if (isIP(hostname) === 0) {
    if (options.publicResolver) {
      extraLookups.push(lookupUDP(hostname, options.publicResolver, { ...dnsOptions, tags: ['depth=0'] }));
    }
    if (options.dohURL) {
      extraLookups.push(lookupDoH(hostname, options.dohURL, { ...dnsOptions, tags: ['depth=0'], extraCA }));
    }
    system = await lookupSystem(hostname, { ...dnsOptions, tags: ['classic', 'depth=0'] });
  }
  // A censor (or a broken zone) can point a name at 127.0.0.1: we never connect there, so a
  // forged answer cannot make the probe talk to services on the volunteer's own machine. The
  // answer stays in the measurement and the analysis judges it (as OONI's probe does).
  const addresses = dialable(hostname, system.addresses);

  // 2. What to connect to: the URL's port, and :443 of each address for an http URL, whose
  // handshake proves (or disproves) that the address really serves this name (OONI's E001).
  const plans: EndpointPlan[] = [];
  for (const ip of addresses) {
    plans.push({ ip, port, tls: https, fetchBody: true });
    if (!https && port !== 443) plans.push({ ip, port: 443, tls: true, fetchBody: false });
  }

  // 3. The control runs while we measure.
  const request = controlRequest(
    url,
    plans.map((p) => formatEndpoint(p.ip, p.port)),
  );
  const control = askControl(options.testHelpers ?? DEFAULT_TEST_HELPERS, request, {
    trace: trace.sidecar(),
    timeoutMs: timeouts.control,
    extraCA,
    signal,
  });

  // 4. Connectivity, then 5. the page, reusing the first ready connection.
  let fetched: FetchOutcome | null = null;
  // Attempts still running after their first ready connection was taken; awaited before the
  // test keys are assembled so nothing is appended to them afterwards.
  const background: Promise<void>[] = [];
  if (plans.length > 0) {
    const connectivity = connectAll(plans, {
      trace,
      serverName: hostname,
      tags: (p) => ['classic', 'tcptls_experiment', 'depth=0', `fetch_body=${p.fetchBody}`],
      timeouts,
      extraCA,
      signal,
    });
    background.push(connectivity.settled);
    const first = await connectivity.usable;
    const open: OpenHop = (hopURL, depth) =>
      depth === 0 ? Promise.resolve(first) : openHop(hopURL, depth, { trace, timeouts, options, background });
    fetched = await fetchFollowingRedirects(url, { open, timeoutMs: timeouts.http, signal });
  }

  const [controlOutcome] = await Promise.all([control, ...extraLookups]);
  await Promise.all(background);
  return {
    controlRequest: request,
    control: controlOutcome,
    httpFailure: fetched ? fetched.failure : system.failure,
    dnsFailure: system.failure,
  };
}

/** A redirect hop: its own system lookup, connections to every address, first ready one used. */
async function openHop(
  url: URL,
  depth: number,
  ctx: {
    trace: Trace;
    timeouts: ResolvedTimeouts;
    options: WebConnectivityOptions;
    background: Promise<void>[];
  },
): ReturnType<OpenHop> {
  const { trace, timeouts, options } = ctx;
  const hostname = urlHostname(url);
  const tags = ['classic', `depth=${depth}`];
  let addresses = [hostname];
  if (isIP(hostname) === 0) {
    const found = await lookupSystem(hostname, {
      trace,
      tags,
      signal: options.signal,
      timeoutMs: timeouts.dns,
    });
    if (found.failure !== null) return { connection: null, failure: found.failure, operation: 'resolve' };
    addresses = dialable(hostname, found.addresses);
    if (addresses.length === 0) return { connection: null, failure: 'dns_bogon_error', operation: 'resolve' };
  }
  const https = url.protocol === 'https:';
  const connectivity = connectAll(
    addresses.map((ip) => ({ ip, port: urlPort(url), tls: https, fetchBody: true })),
    {
      trace,
      serverName: hostname,
      tags: () => [...tags, 'fetch_body=true'],
      timeouts,
      extraCA: options.extraCA,
      signal: options.signal,
    },
  );
  ctx.background.push(connectivity.settled);
  return connectivity.usable;
}

/**
 * The resolved addresses the probe may connect to: loopback only for names that mean loopback
 * (`localhost` and `*.localhost`, RFC 6761), which a volunteer can only have asked for on purpose.
 */
function dialable(hostname: string, addresses: string[]): string[] {
  if (isIP(hostname) !== 0 || /(^|\.)localhost\.?$/i.test(hostname)) return addresses;
  return addresses.filter((ip) => !isLoopback(ip));
}

/** The URL to measure, or the failure string when it cannot be measured. */
function parseInput(input: string): URL | string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return `unknown_failure: input is not a URL: ${input}`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `unknown_failure: input must be an http:// or https:// URL: ${input}`;
  }
  if (urlHostname(url) === '') return `unknown_failure: input URL has no host: ${input}`;
  return url;
}
