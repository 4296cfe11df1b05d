import { isLoopback } from '../ip.js';
import type { ControlResponse } from '../measurement.js';
import type { AnalysisContext } from './context.js';
import { isFirstURLLookup, isIgnoredFailure, isValidAddress } from './dns-consistency.js';
import { compareWithControl, type HTTPDiff } from './http-diff.js';
import { type DNSObservation, type EndpointObservation, isHTTPS, type Observation } from './observations.js';

/**
 * OONI Web Connectivity v0.5's classic walk (research/ooni.md §2.4): go through the system-resolver
 * observations in walk order and let the first one that explains the outcome decide it. This
 * module answers "what did the first decisive observation show"; verdict.ts applies the DNS
 * relabelling and Pharos's own rules on top.
 */

export type Outcome =
  /** The page was fetched and looks like the control's (or came over verified TLS). */
  | { kind: 'accessible' }
  /** The probe and the control failed alike: the site is down, not blocked. */
  | { kind: 'down'; siteLevel: boolean }
  /** Nothing to compare with: cannot tell. */
  | { kind: 'unknown' }
  | { kind: 'blocked'; blocking: 'dns' | 'tcp_ip' | 'http-failure' | 'http-diff' };

export interface WalkResult {
  outcome: Outcome;
  /** The observation that decided, null when none did. */
  decidedBy: Observation | null;
  /** OONI's http_experiment_failure: the failure that decided, if any. */
  failure: string | null;
  /** The comparison of the classic final response with the control's, when there was one. */
  diff: HTTPDiff | null;
}

interface Step {
  outcome: Outcome;
  failure: string | null;
}

const unknown = (failure: string | null): Step => ({ outcome: { kind: 'unknown' }, failure });
const blocked = (
  blocking: 'dns' | 'tcp_ip' | 'http-failure' | 'http-diff',
  failure: string | null,
): Step => ({
  outcome: { kind: 'blocked', blocking },
  failure,
});
const down = (siteLevel: boolean, failure: string | null): Step => ({
  outcome: { kind: 'down', siteLevel },
  failure,
});

/** A 2xx, 4xx or 5xx answer ends the fetch; 1xx and 3xx do not. */
export function isFinalStatus(code: number): boolean {
  const family = Math.floor(code / 100);
  return family === 2 || family === 4 || family === 5;
}

/**
 * Fix (b) needs to know whether a shared failure concerns the site itself. A TCP/TLS failure on an
 * address only the probe's resolver returned says nothing about the site: the control just
 * confirmed that the injected address does not serve it.
 */
function vouched(ctx: AnalysisContext, ip: string | null): boolean {
  return ip !== null && isValidAddress(ctx, ip);
}

function tlsControl(ctx: AnalysisContext, e: EndpointObservation) {
  if (!e.endpoint) return undefined;
  const ctl = ctx.control?.tls_handshake?.[e.endpoint];
  // A handshake under another server name (a redirect hop to another host) is not this one's control.
  if (ctl && e.tls && ctl.server_name.toLowerCase() !== e.tls.server_name.toLowerCase()) return undefined;
  return ctl;
}

function endpointStep(
  ctx: AnalysisContext,
  e: EndpointObservation,
  httpCtl: ControlResponse['http_request'] | null,
) {
  if (e.stage === 'http') {
    if (e.failure === null) return undefined; // a successful round trip is handled by the caller
    if (!httpCtl) return unknown(e.failure);
    return httpCtl.failure !== null ? down(true, e.failure) : blocked('http-failure', e.failure);
  }
  if (e.failure === null) return undefined;
  if (e.stage === 'tls') {
    const ctl = tlsControl(ctx, e);
    // Redirect hops have no per-endpoint control: blame the network only if the TH got the page.
    if (!ctl) return ctx.controlFetched ? blocked('http-failure', e.failure) : unknown(e.failure);
    if (ctl.failure !== null || !ctl.status) return down(vouched(ctx, e.ip), e.failure);
    return blocked('http-failure', e.failure);
  }
  const ctl = e.endpoint ? ctx.control?.tcp_connect?.[e.endpoint] : undefined;
  if (!ctl) return ctx.controlFetched ? blocked('http-failure', e.failure) : unknown(e.failure);
  if (!ctl.status) return down(vouched(ctx, e.ip), e.failure);
  // OONI keeps `tcp_ip` for the first URL; on a redirect hop the failure is reported as http-failure.
  return blocked(e.depth === 0 ? 'tcp_ip' : 'http-failure', e.failure);
}

function dnsStep(ctx: AnalysisContext, d: DNSObservation): Step | undefined {
  if (isIgnoredFailure(d)) return undefined;
  // At depth 0 only the URL's own host is part of the fetch; another name is not this site's DNS.
  if (d.depth === 0 && !isFirstURLLookup(ctx, d)) return undefined;
  // The control resolved only the first URL's name; redirect hops have no DNS control.
  const hasControl = ctx.control !== null && isFirstURLLookup(ctx, d);
  if (d.failure !== null) {
    if (!hasControl) {
      // OONI v0.5 codes "accessible" when the TH did not fetch the page either; with no fetch at all
      // that claim has no evidence, so Pharos says "cannot tell" instead.
      return ctx.controlFetched ? blocked('dns', d.failure) : unknown(d.failure);
    }
    const ctlFailure = ctx.control?.dns?.failure ?? null;
    if (ctlFailure !== null) return down(true, d.failure);
    // The name has no addresses for the control either. OONI records no failure in this case.
    if (ctx.controlAddrs.length === 0) return down(true, null);
    return blocked('dns', d.failure);
  }
  // Loopback answers: no connection is attempted, so the DNS lookup itself must decide.
  if (hasControl && d.addresses.length > 0 && d.addresses.every(isLoopback) && ctx.controlAddrs.length > 0) {
    return ctx.controlAddrs.every(isLoopback) ? down(true, null) : blocked('dns', null);
  }
  return undefined;
}

export function classicWalk(ctx: AnalysisContext): WalkResult {
  const httpCtl = ctx.control?.http_request ?? null;
  let diff: HTTPDiff | null = null;
  for (const o of ctx.linear) {
    let step: Step | undefined;
    if (o.kind === 'dns') {
      step = dnsStep(ctx, o);
    } else if (o.stage === 'http' && o.failure === null) {
      const response = o.http?.response;
      if (!response || !isFinalStatus(response.code)) continue; // a redirect: look deeper
      if (httpCtl && httpCtl.failure === null) diff = compareWithControl(response, httpCtl);
      if (isHTTPS(o.http?.request.url ?? '')) step = { outcome: { kind: 'accessible' }, failure: null };
      else if (diff === null) step = unknown(null);
      else
        step = diff.isDiff ? blocked('http-diff', null) : { outcome: { kind: 'accessible' }, failure: null };
    } else {
      step = endpointStep(ctx, o, httpCtl);
    }
    if (step) return { outcome: step.outcome, decidedBy: o, failure: step.failure, diff };
  }
  return { outcome: { kind: 'unknown' }, decidedBy: null, failure: null, diff };
}
