/** The OONI 0.2.0 envelope around Web Connectivity test keys. */
import type { WebConnectivityMeasurement, WebConnectivityTestKeys } from '@pharos/core';
import { probeEnvelope } from '../measurement/envelope.js';

export const TEST_NAME = 'web_connectivity';
export const TEST_VERSION = '0.5.0';

export interface EnvelopeFields {
  input: string;
  started: Date;
  testStartTime?: Date;
  runtimeSeconds: number;
  probeCC: string;
  probeASN: string;
  reportId?: string;
  backend: { address: string; type: string } | null;
  testKeys: WebConnectivityTestKeys;
  annotations?: Record<string, string>;
}

export function envelope(f: EnvelopeFields): WebConnectivityMeasurement {
  return probeEnvelope({ ...f, testName: TEST_NAME, testVersion: TEST_VERSION });
}
