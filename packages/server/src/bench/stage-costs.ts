/**
 * Where a measurement's time goes in the collector: the CPU each step costs on this machine,
 * measured one step at a time on the same corpus, in CPU time of the thread doing it (from
 * /proc/self/task/<tid>/stat), so other processes competing for the cores do not inflate it.
 */
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { canonicalJSON } from '@pharos/core';
import { bodyText } from '../collector/body.js';
import { canonicalize } from '../collector/canonical.js';
import { type ScannedItem, scanCanonicalBatch } from '../collector/canonical-scan.js';
import {
  envelopeSchema,
  isPlainEnvelope,
  submissionItemSchema,
  submissionSchema,
} from '../collector/schema.js';
import { loadSodium } from '../collector/sodium.js';
import { measurementAt } from '../collector/submission.js';

/** CPU milliseconds of the calling (main) thread. */
function threadCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

export interface StageCost {
  step: string;
  /** CPU microseconds per measurement. */
  us: number;
}

/** Per-measurement CPU of each collector step over `bodies` (uncompressed batch bodies). */
export function measureStageCosts(bodies: Buffer[], perBatch: number, minMs = 1500): StageCost[] {
  const texts = bodies.map((b) => bodyText(b));
  const parsed = texts.map((t) => JSON.parse(t) as { measurements: Record<string, unknown>[] });
  const items = parsed.flatMap((p) => p.measurements);
  const measurements = items.map((i) => i.measurement as Record<string, unknown>);
  const sodium = loadSodium();
  const rawKeys = items.map((item) => Buffer.from(item.probe_key as string, 'base64'));
  const sigs = items.map((i) => Buffer.from(i.signature as string, 'base64'));

  /** Runs `step` over `count` measurements until minMs of CPU has passed. */
  const time = (name: string, count: number, step: (i: number) => void): StageCost => {
    let done = 0;
    const started = threadCpuMs();
    while (threadCpuMs() - started < minMs) {
      for (let i = 0; i < count; i++) step(i);
      done += count;
    }
    const perUnit = ((threadCpuMs() - started) * 1000) / done;
    return { step: name, us: count === bodies.length ? perUnit / perBatch : perUnit };
  };

  const scans = bodies.map((b) => scanCanonicalBatch(b, 1000) as ScannedItem[]);
  if (scans.some((x) => x === null)) throw new Error('a benchmark body is not canonical');
  const scanned = scans.flatMap((list, i) => list.map((item) => ({ body: bodies[i]!, item })));
  const envelopes = scanned.map(({ body, item }) => measurementAt(body, item).measurement);
  const signedBytes = scanned.map(({ body, item }) => body.subarray(item.start, item.end));

  return [
    time('UTF-8 check of the body', bodies.length, (i) => isUtf8(bodies[i]!)),
    time(
      'canonical scan of the body (finds each measurement and its bytes; signature thread)',
      bodies.length,
      (i) => scanCanonicalBatch(bodies[i]!, 1000),
    ),
    time('envelope: JSON.parse of it with only the scalar members of test_keys', scanned.length, (i) =>
      measurementAt(scanned[i]!.body, scanned[i]!.item),
    ),
    time('envelope check (by hand; zod only when it says no)', envelopes.length, (i) =>
      isPlainEnvelope(envelopes[i]!),
    ),
    time('SHA-256, the id (signature thread)', signedBytes.length, (i) =>
      createHash('sha256').update(signedBytes[i]!).digest('hex'),
    ),
    time('Ed25519 verification (libsodium, signature thread)', signedBytes.length, (i) => {
      sodium.crypto_sign_verify_detached(sigs[i]!, signedBytes[i]!, rawKeys[i]!);
    }),
    time('general path instead: UTF-8 decode and JSON.parse of the body', bodies.length, (i) =>
      JSON.parse(bodyText(bodies[i]!)),
    ),
    time('general path instead: wrapper, item and envelope schema (zod)', bodies.length, (i) => {
      submissionSchema.safeParse(parsed[i]);
      for (const item of parsed[i]!.measurements) {
        submissionItemSchema.safeParse(item);
        envelopeSchema.safeParse(item.measurement);
      }
    }),
    time('general path instead: canonical JSON (order check + JSON.stringify)', measurements.length, (i) =>
      canonicalize(measurements[i]),
    ),
    time("general path instead: canonical JSON with core's canonicalJSON", measurements.length, (i) =>
      canonicalJSON(measurements[i]),
    ),
  ];
}
