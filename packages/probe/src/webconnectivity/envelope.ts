/** The OONI 0.2.0 envelope around Web Connectivity test keys. */
import { randomInt } from 'node:crypto';
import { ooniTimestamp, type WebConnectivityMeasurement, type WebConnectivityTestKeys } from '@pharos/core';
import { SOFTWARE_NAME, SOFTWARE_VERSION } from './software.js';

export const TEST_NAME = 'web_connectivity';
export const TEST_VERSION = '0.5.0';
/** OONI's resolver_ip when the resolver is not known. */
const UNKNOWN_RESOLVER_IP = '127.0.0.2';

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
}

export function envelope(f: EnvelopeFields): WebConnectivityMeasurement {
  return {
    annotations: {
      architecture: process.arch,
      engine_name: SOFTWARE_NAME,
      engine_version: SOFTWARE_VERSION,
      platform: process.platform,
    },
    data_format_version: '0.2.0',
    extensions: { dnst: 0, httpt: 0, netevents: 0, tcpconnect: 0, tlshandshake: 0 },
    input: f.input,
    measurement_start_time: ooniTimestamp(f.started),
    options: [],
    probe_asn: f.probeASN,
    probe_cc: f.probeCC,
    // Never the volunteer's address: we do not even look it up.
    probe_ip: '127.0.0.1',
    probe_network_name: null,
    report_id: f.reportId ?? newReportId(f.testStartTime ?? f.started, f.probeCC, f.probeASN),
    resolver_asn: 'AS0',
    resolver_ip: UNKNOWN_RESOLVER_IP,
    resolver_network_name: null,
    software_name: SOFTWARE_NAME,
    software_version: SOFTWARE_VERSION,
    test_helpers: f.backend ? { backend: f.backend } : null,
    test_keys: f.testKeys,
    test_name: TEST_NAME,
    test_runtime: f.runtimeSeconds,
    test_start_time: ooniTimestamp(f.testStartTime ?? f.started),
    test_version: TEST_VERSION,
  };
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** OONI's shape: `20240207T101500Z_webconnectivity_AZ_29049_n1_<16 random letters>`. */
function newReportId(start: Date, cc: string, asn: string): string {
  const stamp = start.toISOString().slice(0, 19).replace(/[-:]/g, '');
  let random = '';
  for (let i = 0; i < 16; i++) random += LETTERS[randomInt(LETTERS.length)];
  return `${stamp}Z_webconnectivity_${cc}_${asn.replace(/^AS/i, '')}_n1_${random}`;
}
