/**
 * Shared by the evidence tests: probe keys, realistic signed measurements, the store's input,
 * temporary data directories and a CliIO that records output.
 */
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { canonicalJSON } from '@pharos/core';
import type { IncomingMeasurement } from '../src/evidence/index.js';

export interface TestProbe {
  publicKey: string;
  privateKey: KeyObject;
}

export function testProbe(): TestProbe {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const x = publicKey.export({ format: 'jwk' }).x!;
  return { publicKey: Buffer.from(x, 'base64url').toString('base64'), privateKey };
}

function ooniTime(date: Date): string {
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

/** A Web Connectivity measurement of roughly `bytes` bytes of canonical JSON. */
export function sampleMeasurement(
  i: number,
  options: { bytes?: number; start?: Date; runtime?: number; probeIP?: string } = {},
): Record<string, unknown> {
  const start = options.start ?? new Date(Date.now() - 2000);
  const queries: unknown[] = [];
  const m: Record<string, unknown> = {
    annotations: { platform: 'linux', ...(options.probeIP ? { note: `seen from ${options.probeIP}` } : {}) },
    data_format_version: '0.2.0',
    extensions: { dnst: 0, httpt: 0, tcpconnect: 0 },
    input: `https://site-${i}.example.az/`,
    measurement_start_time: ooniTime(start),
    options: [],
    probe_asn: 'AS28787',
    probe_cc: 'AZ',
    probe_ip: '127.0.0.1',
    probe_network_name: 'Baktelecom',
    report_id: `20240102T030405Z_webconnectivity_AZ_28787_n1_${String(i).padStart(16, '0')}`,
    resolver_asn: 'AS28787',
    resolver_ip: '10.0.0.53',
    resolver_network_name: null,
    software_name: 'pharos-probe',
    software_version: '0.1.0',
    test_helpers: { backend: { address: 'https://th.pharos.local', type: 'https' } },
    test_keys: { queries, accessible: true, blocking: false, dns_consistency: 'consistent' },
    test_name: 'web_connectivity',
    test_runtime: options.runtime ?? 1.25,
    test_start_time: ooniTime(start),
    test_version: '0.4.3',
  };
  const target = options.bytes ?? 1200;
  let size = JSON.stringify(m).length;
  for (let q = 0; size < target; q++) {
    const query = {
      answers: [{ answer_type: 'A', ipv4: `93.184.${(i + q) % 256}.${(i * 7 + q) % 256}`, ttl: 300 }],
      engine: 'system',
      failure: null,
      hostname: `site-${i}.example.az`,
      query_type: 'A',
      t: q * 0.01,
    };
    queries.push(query);
    size += JSON.stringify(query).length + 1;
  }
  return m;
}

/** What the collector would hand the store for this measurement from this probe. */
export function incoming(
  probe: TestProbe,
  measurement: Record<string, unknown>,
  options: { receivedAt?: Date; scrub?: string } = {},
): IncomingMeasurement {
  const signed = canonicalJSON(measurement);
  const id = createHash('sha256').update(signed).digest('hex');
  const signature = sign(null, Buffer.from(signed), probe.privateKey).toString('base64');
  let stored = measurement;
  if (options.scrub)
    stored = JSON.parse(signed.replaceAll(options.scrub, '[scrubbed]')) as Record<string, unknown>;
  return {
    id,
    body: Buffer.from(canonicalJSON(stored)),
    measurement: stored,
    probeKey: probe.publicKey,
    signature,
    scrubbed: options.scrub !== undefined,
    receivedAt: options.receivedAt ?? new Date(),
    network: { derivedCC: 'AZ', derivedASN: 28787, claimedCC: 'AZ', claimedASN: 'AS28787', mismatch: false },
  };
}

export async function tempDir(prefix: string): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export { recordingIO } from './cli-io-fixture.js';
