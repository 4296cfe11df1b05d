/**
 * The frame every app and platform experiment runs in: a context, the experiment's own steps,
 * the verdict, the optional throttling check, and the envelope. A measurement never throws: a
 * failure no endpoint shows (an unreadable catalog, a bug) is recorded in `x_failure`.
 */
import type { AppMeasurement, AppTestKeysBase, AppThrottlingResult } from '@pharos/core';
import { urlHostname } from '../../net/endpoint.js';
import { Trace } from '../../net/trace.js';
import {
  concurrency,
  controlFailed,
  createContext,
  type EndpointRecord,
  endpointResult,
  inPool,
  mayStart,
  type RunContext,
} from './engine.js';
import { appEnvelope } from './envelope.js';
import type { AppRunOptions } from './types.js';
import { type Decision, decide } from './verdict.js';

export type OwnKeys<K extends AppTestKeysBase> = Omit<K, keyof AppTestKeysBase>;

export interface StepsResult<K extends AppTestKeysBase> {
  records: EndpointRecord[];
  keys: OwnKeys<K>;
  /** The endpoint a throttling check measures, if any. */
  throttle?: EndpointRecord | null;
}

export interface ExperimentFrame<K extends AppTestKeysBase> {
  testName: string;
  testVersion: string;
  input: string | null;
  /** The experiment's keys when nothing could be measured. */
  empty: () => OwnKeys<K>;
  steps: (ctx: RunContext) => Promise<StepsResult<K>>;
}

export async function runFrame<K extends AppTestKeysBase>(
  frame: ExperimentFrame<K>,
  options: AppRunOptions = {},
): Promise<AppMeasurement<K>> {
  const started = new Date();
  let ctx: RunContext | undefined;
  let result: StepsResult<K>;
  let failure: string | null = null;
  try {
    ctx = createContext(frame.testName, options);
    result = await frame.steps(ctx);
    // The control, only for the failures that count: its bytes are spent where they decide.
    const open = result.records.filter((r) => r.counted && r.status === 'failed');
    const context = ctx;
    await inPool(open, concurrency(context), (r) => controlFailed(context, r));
  } catch (err) {
    failure = `unknown_failure: ${err instanceof Error ? err.message : String(err)}`;
    result = { records: [], keys: frame.empty() };
  }
  const trace = ctx?.trace ?? new Trace();
  let decision: Decision = failure
    ? { verdict: null, mechanism: null, failed: [], blocked: [] }
    : decide(result.records);
  const checked = ctx ? await throttle(ctx, decision, result.throttle ?? null) : null;
  const throttling = checked?.results ?? null;
  if (throttling?.some((t) => t.throttled === true)) {
    decision = {
      ...decision,
      verdict: 'throttled',
      mechanism: throttling.find((t) => t.throttled === true)?.mechanism ?? null,
    };
  }
  await trace.closeAll();
  ctx?.gate.settle();
  const extraBytes = checked?.bytes ?? { sent: 0, received: 0 };
  const testKeys = {
    agent: 'redirect',
    socksproxy: null,
    network_events: trace.networkEvents,
    queries: trace.queries,
    requests: [...trace.requests].reverse(),
    tcp_connect: trace.tcpConnect,
    tls_handshakes: trace.tlsHandshakes,
    ...result.keys,
    x_verdict: decision.verdict,
    x_mechanism: decision.mechanism,
    x_failed_endpoints: decision.failed,
    x_blocked_endpoints: decision.blocked,
    x_endpoints: result.records.map(endpointResult),
    x_control_failure: ctx?.control.failure ?? null,
    x_failure: failure,
    x_data_budget_exhausted: ctx?.gate.exhausted ?? false,
    x_throttling: throttling,
    x_bytes_sent: trace.bytesSent + extraBytes.sent,
    x_bytes_received: trace.bytesReceived + extraBytes.received,
  } as unknown as K;
  return appEnvelope<K>({
    testName: frame.testName,
    testVersion: frame.testVersion,
    input: frame.input,
    started,
    testStartTime: options.testStartTime,
    probeCC: options.probeCC,
    probeASN: options.probeASN,
    reportId: options.reportId,
    annotations: options.annotations,
    backend: ctx?.control.backend ?? null,
    testKeys,
  });
}

/**
 * The throttling module's check, for a reachable experiment's `throttle` endpoint. Nothing is
 * called (and x_throttling is null) without a configured check, or when the verdict is not ok.
 */
async function throttle(
  ctx: RunContext,
  decision: Decision,
  target: EndpointRecord | null,
): Promise<{ results: AppThrottlingResult[]; bytes: { sent: number; received: number } } | null> {
  const check = ctx.options.throttling;
  if (!check || decision.verdict !== 'ok' || !target || target.status !== 'ok') return null;
  if (!mayStart(ctx)) return null;
  try {
    const outcome = await check(
      {
        experiment: ctx.experiment,
        endpoint: target.name,
        url: target.url,
        serverName: urlHostname(new URL(target.url)),
        address: target.reached?.ip ?? null,
      },
      { signal: ctx.options.signal, dataBudget: ctx.options.dataBudget, extraCA: ctx.options.extraCA },
    );
    return {
      results: [
        {
          endpoint: target.name,
          throttled: outcome.throttled,
          mechanism: outcome.mechanism ?? null,
          test_keys: outcome.testKeys ?? null,
        },
      ],
      bytes: { sent: outcome.bytesSent ?? 0, received: outcome.bytesReceived ?? 0 },
    };
  } catch (err) {
    const failure = `unknown_failure: ${err instanceof Error ? err.message : String(err)}`;
    return {
      results: [{ endpoint: target.name, throttled: null, mechanism: null, test_keys: { failure } }],
      bytes: { sent: 0, received: 0 },
    };
  }
}
