/**
 * The benchmark's submissions, made before the clock starts: a few hundred realistic base
 * measurements, each varied into many distinct ones (a fresh report_id: a different measurement,
 * id and signature, same size and shape), signed by per-probe keys and packed into batch bodies.
 */
import { sign } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { canonicalJSON, seededRandom } from '@pharos/core';
import { benchProbe, type ProbeIdentity, webConnectivityMeasurement } from './measurements.js';

export interface Corpus {
  /** Per probe, its batch bodies in order. */
  batches: Buffer[][];
  /** Measurements per batch. */
  batchSize: number;
  /** Total measurements and their canonical bytes. */
  measurements: number;
  canonicalBytes: number;
  /** A few canonical measurements, for the verification ceiling. */
  samples: Buffer[];
}

export interface CorpusOptions {
  probes: number;
  measurements: number;
  batchSize: number;
  gzip: boolean;
  onProgress?: (done: number) => void;
}

const BASES = 400;

export async function buildCorpus(options: CorpusOptions): Promise<Corpus> {
  const random = seededRandom(2026);
  const bases = Array.from({ length: BASES }, () => canonicalJSON(webConnectivityMeasurement(random)));
  const probes: ProbeIdentity[] = Array.from({ length: options.probes }, (_, i) => benchProbe(i));
  const perProbe: string[][] = probes.map(() => []);
  let canonicalBytes = 0;
  const pending: Promise<void>[] = [];
  for (let i = 0; i < options.measurements; i++) {
    const canonical = variant(bases[i % BASES]!, i);
    const bytes = Buffer.from(canonical, 'utf8');
    canonicalBytes += bytes.length;
    const probe = probes[i % probes.length]!;
    const list = perProbe[i % probes.length]!;
    const slot = list.length;
    list.push('');
    // Signed on the thread pool: both cores work, the corpus is ready sooner.
    pending.push(
      new Promise((resolve, reject) =>
        sign(null, bytes, probe.privateKey, (err, signature) => {
          if (err) return reject(err);
          list[slot] =
            `{"measurement":${canonical},"probe_key":"${probe.publicKey}","signature":"${signature.toString('base64')}"}`;
          resolve();
        }),
      ),
    );
    if (pending.length >= 2000) {
      await Promise.all(pending.splice(0));
      options.onProgress?.(i + 1);
    }
  }
  await Promise.all(pending);
  const batches = perProbe.map((items) => {
    const out: Buffer[] = [];
    for (let i = 0; i < items.length; i += options.batchSize) {
      const text = `{"format":"pharos-submission/v1","measurements":[${items.slice(i, i + options.batchSize).join(',')}]}`;
      out.push(options.gzip ? gzipSync(text) : Buffer.from(text));
    }
    return out;
  });
  return {
    batches,
    batchSize: options.batchSize,
    measurements: options.measurements,
    canonicalBytes,
    samples: bases.slice(0, 50).map((b) => Buffer.from(b)),
  };
}

/**
 * The base measurement with the random tail of its report_id replaced by a counter: the text
 * stays canonical (only characters inside a string change), and every variant is distinct.
 */
function variant(base: string, n: number): string {
  const match = /"report_id":"[^"]*_n1_([^"]{16})"/.exec(base);
  if (!match) throw new Error('base measurement without a report_id');
  const at = match.index + match[0].length - 17;
  return `${base.slice(0, at)}${n.toString(36).padStart(16, 'b')}${base.slice(at + 16)}`;
}
