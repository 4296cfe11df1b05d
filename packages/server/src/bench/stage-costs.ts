/**
 * Where a measurement's time goes in the collector: the CPU each step costs on this machine,
 * measured one step at a time on the same corpus, in CPU time of the thread doing it (from
 * /proc/self/task/<tid>/stat), so other processes competing for the cores do not inflate it.
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { canonicalJSON } from '@pharos/core';
import { bodyText } from '../collector/body.js';
import { canonicalize } from '../collector/canonical.js';
import { envelopeSchema, submissionItemSchema, submissionSchema } from '../collector/schema.js';

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
  const canonicals = measurements.map((m) => canonicalize(m));
  const bytes = canonicals.map((c) => Buffer.from(c));
  const keys = new Map<string, ReturnType<typeof createPublicKey>>();
  const keyOf = (b64: string) => {
    let k = keys.get(b64);
    if (!k) {
      k = createPublicKey({
        key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(b64, 'base64')]),
        format: 'der',
        type: 'spki',
      });
      keys.set(b64, k);
    }
    return k;
  };
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

  return [
    time('UTF-8 check and decode of the body', bodies.length, (i) => bodyText(bodies[i]!)),
    time('JSON.parse of the body', texts.length, (i) => JSON.parse(texts[i]!)),
    time('wrapper and envelope schema (zod)', bodies.length, (i) => {
      submissionSchema.safeParse(parsed[i]);
      for (const item of parsed[i]!.measurements) {
        submissionItemSchema.safeParse(item);
        envelopeSchema.safeParse(item.measurement);
      }
    }),
    time('canonical JSON (order check + JSON.stringify)', measurements.length, (i) =>
      canonicalize(measurements[i]),
    ),
    time("canonical JSON with core's canonicalJSON instead", measurements.length, (i) =>
      canonicalJSON(measurements[i]),
    ),
    time('UTF-8 bytes of the canonical JSON', canonicals.length, (i) => Buffer.from(canonicals[i]!)),
    time('SHA-256 (the id)', bytes.length, (i) => createHash('sha256').update(bytes[i]!).digest('hex')),
    time('Ed25519 verification (node:crypto)', bytes.length, (i) => {
      verify(null, bytes[i]!, keyOf(items[i]!.probe_key as string), sigs[i]!);
    }),
  ];
}
