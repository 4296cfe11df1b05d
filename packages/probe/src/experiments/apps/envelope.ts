/** The OONI 0.2.0 envelope around an app or platform measurement (as web_connectivity's). */
import type { AppMeasurement, AppTestKeysBase } from '@pharos/core';
import { probeEnvelope } from '../../measurement/envelope.js';

export interface AppEnvelopeFields<K extends AppTestKeysBase> {
  testName: string;
  testVersion: string;
  /** null for the messaging apps; the platform's name for the platforms. */
  input: string | null;
  started: Date;
  testStartTime?: Date;
  probeCC?: string;
  probeASN?: string;
  reportId?: string;
  backend: { address: string; type: string } | null;
  testKeys: K;
  annotations?: Record<string, string>;
}

export function appEnvelope<K extends AppTestKeysBase>(f: AppEnvelopeFields<K>): AppMeasurement<K> {
  return probeEnvelope({
    ...f,
    runtimeSeconds: (Date.now() - f.started.getTime()) / 1000,
  }) as AppMeasurement<K>;
}
