/**
 * Every experiment the probe can run, by the name OONI (or Pharos) gives its measurements, and
 * one way to run any of them. The CLI and the lab go through here, so an experiment added to the
 * catalog of apps or platforms is runnable everywhere at once.
 */
import type { Envelope } from '@pharos/core';
import { measureWebConnectivity, type WebConnectivityOptions } from '../webconnectivity/index.js';
import { APP_EXPERIMENTS, type DataBudget } from './apps/index.js';
import { runThrottling, THROTTLING_TEST_NAME, throttlingCheck } from './throttling/index.js';

export const WEB_CONNECTIVITY = 'web_connectivity';

/** Experiments that measure the URLs they are given; the others measure their own endpoints. */
const MEASURES_INPUTS = new Set([WEB_CONNECTIVITY, THROTTLING_TEST_NAME]);

export const EXPERIMENT_NAMES: readonly string[] = [
  WEB_CONNECTIVITY,
  THROTTLING_TEST_NAME,
  ...Object.keys(APP_EXPERIMENTS),
];

export function isExperiment(name: string): boolean {
  return EXPERIMENT_NAMES.includes(name);
}

export function takesInput(name: string): boolean {
  return MEASURES_INPUTS.has(name);
}

/** What a run gives every experiment; each takes the parts it uses. */
export interface ExperimentOptions extends WebConnectivityOptions {
  /** The app and platform catalog (a JSON file); default the one shipped with the probe. */
  catalog?: string;
  /** IP→ASN ranges (CSV start,end,asn) for address-ownership checks such as Messenger's. */
  asnTable?: string;
  /** A cap on what the whole run may cost, shared by its experiments. */
  dataBudget?: DataBudget;
  /** Where the throttling experiment keeps its per-target baseline; none when absent. */
  stateDir?: string;
}

export type AnyMeasurement = Envelope<Record<string, unknown>>;

/** Runs one experiment once: on `input` for those that take one, on their endpoints otherwise. */
export async function runExperiment(
  name: string,
  input: string | null,
  options: ExperimentOptions,
): Promise<AnyMeasurement> {
  if (name === WEB_CONNECTIVITY) {
    return (await measureWebConnectivity(requireInput(name, input), options)) as unknown as AnyMeasurement;
  }
  if (name === THROTTLING_TEST_NAME) {
    return (await runThrottling({
      input: requireInput(name, input),
      extraCA: options.extraCA,
      dataBudget: options.dataBudget,
      signal: options.signal,
      stateDir: options.stateDir,
      probeCC: options.probeCC,
      probeASN: options.probeASN,
      testStartTime: options.testStartTime,
      reportId: options.reportId,
      annotations: options.annotations,
    })) as unknown as AnyMeasurement;
  }
  const app = APP_EXPERIMENTS[name];
  if (!app) throw new Error(`unknown experiment "${name}" (known: ${EXPERIMENT_NAMES.join(', ')})`);
  return (await app.run({
    catalog: options.catalog,
    asnTable: options.asnTable,
    testHelpers: options.testHelpers,
    publicResolver: options.publicResolver,
    dohURL: options.dohURL,
    extraCA: options.extraCA,
    timeouts: options.timeouts,
    probeCC: options.probeCC,
    probeASN: options.probeASN,
    testStartTime: options.testStartTime,
    reportId: options.reportId,
    annotations: options.annotations,
    signal: options.signal,
    dataBudget: options.dataBudget,
    // Endpoints the catalog marks for it get a throttling check on the address that answered.
    throttling: throttlingCheck({ extraCA: options.extraCA, stateDir: options.stateDir }),
  })) as unknown as AnyMeasurement;
}

function requireInput(name: string, input: string | null): string {
  if (input === null) throw new Error(`${name} needs an input URL`);
  return input;
}
