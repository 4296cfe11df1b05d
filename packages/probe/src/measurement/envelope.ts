/**
 * The OONI 0.2.0 envelope every experiment's measurement is wrapped in (ooni/spec df-000), and
 * OONI's report ids. One place, so every experiment says the same about the probe — above all
 * that `probe_ip` is never the volunteer's address.
 */
import { randomInt } from 'node:crypto';
import { type Envelope, ooniTimestamp } from '@pharos/core';
import { SOFTWARE_NAME, SOFTWARE_VERSION } from '../webconnectivity/software.js';

/**
 * Annotation keys the server groups detection signals by (server/src/signals/measurement-signals.ts
 * reads them): the probe's ISO 3166-2 region, and the test-list category of the measured URL.
 */
export const REGION_ANNOTATION = 'x_region';
export const CATEGORY_ANNOTATION = 'x_category_code';

/** OONI's resolver_ip when the resolver is not known. */
const UNKNOWN_RESOLVER_IP = '127.0.0.2';
const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export interface EnvelopeFields<K> {
  testName: string;
  testVersion: string;
  /** The measured URL; null, or the platform's name, for experiments with their own endpoints. */
  input: string | null;
  /** When this measurement started. */
  started: Date;
  /** When the run it belongs to started; default `started`. */
  testStartTime?: Date;
  runtimeSeconds: number;
  probeCC?: string;
  probeASN?: string;
  reportId?: string;
  backend: { address: string; type: string } | null;
  testKeys: K;
  /**
   * Extra annotations, flat strings as OONI's are: the run's region (`x_region`), a test-list
   * URL's category (`x_category_code`). They cannot replace the engine's own.
   */
  annotations?: Record<string, string>;
}

export function probeEnvelope<K>(f: EnvelopeFields<K>): Envelope<K> {
  const probeCC = f.probeCC ?? 'ZZ';
  const probeASN = f.probeASN ?? 'AS0';
  const runStart = f.testStartTime ?? f.started;
  return {
    annotations: {
      ...f.annotations,
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
    probe_asn: probeASN,
    probe_cc: probeCC,
    // Never the volunteer's address: we do not even look it up.
    probe_ip: '127.0.0.1',
    probe_network_name: null,
    report_id: f.reportId ?? newReportId(runStart, f.testName, probeCC, probeASN),
    resolver_asn: 'AS0',
    resolver_ip: UNKNOWN_RESOLVER_IP,
    resolver_network_name: null,
    software_name: SOFTWARE_NAME,
    software_version: SOFTWARE_VERSION,
    test_helpers: f.backend ? { backend: f.backend } : null,
    test_keys: f.testKeys,
    test_name: f.testName,
    test_runtime: f.runtimeSeconds,
    test_start_time: ooniTimestamp(runStart),
    test_version: f.testVersion,
  };
}

/** OONI's shape: `20240207T101500Z_webconnectivity_AZ_29049_n1_<16 random letters>`. */
export function newReportId(start: Date, testName: string, probeCC = 'ZZ', probeASN = 'AS0'): string {
  const stamp = start.toISOString().slice(0, 19).replace(/[-:]/g, '');
  let random = '';
  for (let i = 0; i < 16; i++) random += LETTERS[randomInt(LETTERS.length)];
  return `${stamp}Z_${testName.replace(/_/g, '')}_${probeCC}_${probeASN.replace(/^AS/i, '')}_n1_${random}`;
}
