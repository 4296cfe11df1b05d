/**
 * The control: ask a test helper (OONI's protocol) to measure the same URL from an
 * uncensored network. Helpers are tried in order until one answers; if none does the
 * measurement goes on without control and records why in `control_failure`.
 */
import type { ControlRequest, ControlResponse } from '@pharos/core';
import { BROWSER_HEADERS } from '../net/browser.js';
import { dialURL } from '../net/dial.js';
import { httpRoundTrip } from '../net/http.js';
import type { Trace } from '../net/trace.js';
import { parseControlResponse } from './control-schema.js';
import { SOFTWARE_NAME, SOFTWARE_VERSION } from './software.js';

/** A helper's answer is a few KiB; anything this large is not one. */
const MAX_CONTROL_RESPONSE = 4 << 20;

export function controlRequest(url: URL, endpoints: string[]): ControlRequest {
  const headers: Record<string, string[]> = {};
  for (const [k, v] of BROWSER_HEADERS) headers[k] = [v];
  return {
    http_request: url.href,
    http_request_headers: headers,
    tcp_connect: endpoints,
    x_quic_enabled: false,
  };
}

export interface ControlOutcome {
  control: ControlResponse | null;
  failure: string | null;
  /** The helper that answered, or the last one tried. */
  backend: { address: string; type: string } | null;
}

export interface ControlOptions {
  /** A sidecar trace: control traffic counts as bytes but is not an observation. */
  trace: Trace;
  timeoutMs: number;
  extraCA?: string[];
  signal?: AbortSignal;
}

export async function askControl(
  helpers: string[],
  request: ControlRequest,
  options: ControlOptions,
): Promise<ControlOutcome> {
  let last: ControlOutcome = {
    control: null,
    failure: 'unknown_failure: no test helper configured',
    backend: null,
  };
  for (const helper of helpers) {
    if (options.signal?.aborted) return { ...last, failure: 'interrupted' };
    const budget = AbortSignal.timeout(options.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, budget]) : budget;
    let outcome = await askOne(helper, request, { ...options, signal });
    if (budget.aborted && outcome.failure === 'interrupted')
      outcome = { ...outcome, failure: 'generic_timeout_error' };
    if (outcome.control) return outcome;
    last = outcome;
  }
  return last;
}

async function askOne(
  helper: string,
  request: ControlRequest,
  options: ControlOptions,
): Promise<ControlOutcome> {
  let url: URL;
  try {
    url = new URL(helper);
  } catch {
    return { control: null, failure: `unknown_failure: test helper ${helper} is not a URL`, backend: null };
  }
  const backend = { address: helper, type: url.protocol.replace(':', '') };
  const timeouts = { dns: options.timeoutMs, connect: options.timeoutMs, tls: options.timeoutMs };
  const dialed = await dialURL(url, {
    trace: options.trace,
    signal: options.signal,
    extraCA: options.extraCA,
    timeouts,
  });
  if (!dialed.connection) return { control: null, failure: dialed.failure, backend };
  const rt = await httpRoundTrip(dialed.connection, {
    url,
    method: 'POST',
    headers: [
      ['User-Agent', `${SOFTWARE_NAME}/${SOFTWARE_VERSION}`],
      ['Content-Type', 'application/json'],
      ['Accept', 'application/json'],
    ],
    body: Buffer.from(JSON.stringify(request)),
    maxBodyBytes: MAX_CONTROL_RESPONSE,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
  });
  if (rt.failure !== null) return { control: null, failure: rt.failure, backend };
  if (rt.response?.status !== 200) return { control: null, failure: 'http_request_failed', backend };
  let json: unknown;
  try {
    json = JSON.parse(rt.response.body.toString('utf8'));
  } catch {
    return { control: null, failure: 'json_parse_error', backend };
  }
  const control = parseControlResponse(json);
  return control
    ? { control, failure: null, backend }
    : { control: null, failure: 'json_parse_error', backend };
}
