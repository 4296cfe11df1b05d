/**
 * A submission, from decoded body bytes to measurements ready for the store: parse, check the
 * wrapper and each envelope, canonicalize, check sizes and keys, verify every signature, charge
 * the rate limit, derive the network, scrub. The first problem refuses the whole batch.
 *
 * Two ways to the same result. The fast path (canonical-scan.ts) takes a body whose measurements
 * are already canonical, as probes send them: it finds each measurement's bytes in the body, which
 * are what was signed, and parses only the envelope (the whole measurement, test_keys and all, is
 * parsed when something asks for it: storing it never does). With signature threads, the scan
 * runs on one of them together with the signature checks. Whenever it declines, or meets any
 * problem, the general path parses the whole body and checks it step by step, and its error names
 * the first problem.
 */

import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { CanonicalJSONError, fromBase64 } from '@pharos/core';
import { bodyText } from './body.js';
import { canonicalize, MeasurementShapeError } from './canonical.js';
import { type ScannedItem, scanCanonicalBatch } from './canonical-scan.js';
import { itemError, SubmissionError } from './errors.js';
import type { NetworkOrigin } from './geo.js';
import type { CollectorOptions } from './options.js';
import type { KeyRateLimiter } from './rate-limit.js';
import {
  describeIssue,
  envelopeSchema,
  isPlainEnvelope,
  submissionItemSchema,
  submissionSchema,
} from './schema.js';
import { needlesFor, ScrubError, scrubValue } from './scrub.js';
import { type KeyCache, type ProbeKey, verifyEd25519 } from './signature.js';
import type { IncomingMeasurement } from './store.js';
import type { VerifyResult, VerifyThreads } from './verify-threads.js';

export interface SubmissionContext {
  options: CollectorOptions;
  keys: KeyCache;
  limiter: KeyRateLimiter;
  /** The network of an address; the address is used for nothing else. */
  locate(ip: string): Promise<NetworkOrigin>;
  /** Threads that check signatures; without them, node:crypto's asynchronous verify does. */
  verifier?: VerifyThreads;
}

interface CheckedItem {
  index: number;
  /**
   * The measurement parsed; from the fast path only its envelope, test_keys cut down to
   * `testKeyScalars` (measurementAt).
   */
  measurement: Record<string, unknown>;
  /** The fast path's test_keys members that are not objects or arrays (IncomingMeasurement). */
  testKeyScalars?: Record<string, unknown>;
  /** The canonical JSON's UTF-8 bytes: what was signed. */
  bytes: Uint8Array;
  probeKey: string;
  signature: string;
  claimedCC: string;
  claimedASN: string;
}

interface KeyedItem extends CheckedItem {
  key: ProbeKey;
  signatureBytes: Uint8Array;
}

/** The measurements of a batch, all checked; throws SubmissionError for the first problem. */
export async function prepareBatch(
  body: Buffer,
  clientIP: string,
  receivedAt: Date,
  ctx: SubmissionContext,
): Promise<IncomingMeasurement[]> {
  // Started now, it loads (first time) or answers while the signatures are checked.
  const origin = ctx.locate(clientIP);
  origin.catch(() => {});
  const scanned = await fastBatch(body, ctx);
  // The body may have been moved to a signature thread and back: from here on it is this one.
  body = scanned.body;
  const fast = scanned.result;
  const checked = fast?.items ?? generalBatch(body, ctx);

  const { ok, ids } = fast?.verified ?? (await verifyAll(checked, ctx));
  const bad = ok.indexOf(false);
  if (bad >= 0) {
    throw itemError(
      bad,
      'signature',
      'signature does not verify (it must be Ed25519 by probe_key over the RFC 8785 canonical JSON of the measurement)',
    );
  }

  const counts = new Map<string, number>();
  for (const c of checked) counts.set(c.probeKey, (counts.get(c.probeKey) ?? 0) + 1);
  const rate = ctx.limiter.take(counts);
  if (!rate.ok) {
    throw new SubmissionError(
      429,
      'rate-limit',
      `too many measurements from this probe key: retry in ${rate.retryAfterSeconds} s`,
      { 'retry-after': String(rate.retryAfterSeconds) },
    );
  }

  const network = await origin;
  const needles = needlesFor(clientIP);
  return checked.map((c, i): IncomingMeasurement => {
    let measurement = c.measurement;
    let body = c.bytes;
    let scrubbed = false;
    const text = needles ? Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8') : '';
    if (needles?.mayContain(text)) {
      try {
        // The fast path parsed only the envelope; the address may be anywhere in test_keys.
        const result = scrubValue(c.testKeyScalars ? JSON.parse(text) : measurement, needles);
        if (result.changed) {
          measurement = result.value as Record<string, unknown>;
          body = Buffer.from(canonicalize(measurement), 'utf8');
          scrubbed = true;
        }
      } catch (err) {
        if (err instanceof ScrubError)
          throw itemError(c.index, 'scrub', `the submitter's address: ${err.message}`);
        throw err;
      }
    }
    const ccDiffers = network.cc !== null && c.claimedCC !== 'ZZ' && network.cc !== c.claimedCC;
    const asnDiffers = network.asn !== null && c.claimedASN !== 'AS0' && `AS${network.asn}` !== c.claimedASN;
    const fields = {
      id: ids[i]!,
      body,
      probeKey: c.probeKey,
      signature: c.signature,
      scrubbed,
      receivedAt,
      network: {
        derivedCC: network.cc,
        derivedASN: network.asn,
        claimedCC: c.claimedCC,
        claimedASN: c.claimedASN,
        mismatch: ccDiffers || asnDiffers,
      },
    };
    return c.testKeyScalars && !scrubbed
      ? new ScannedMeasurement(fields, measurement, c.testKeyScalars)
      : { ...fields, measurement };
  });
}

/**
 * An accepted measurement from the fast path: the store and detection read its envelope and
 * test_keys' scalar members, parsed already; `measurement`, the whole of it, is parsed from its
 * bytes the first time something reads it. The getter is the class's, where it was once defined
 * on each parsed measurement: that changed the object's shape every time (1.4% of the main
 * thread's samples in the property definitions alone, and 3.4 KB of garbage a measurement).
 */
class ScannedMeasurement implements IncomingMeasurement {
  readonly id: string;
  readonly body: Uint8Array;
  readonly probeKey: string;
  readonly signature: string;
  readonly scrubbed = false;
  readonly receivedAt: Date;
  readonly network: IncomingMeasurement['network'];
  #measurement: Record<string, unknown> | undefined;

  constructor(
    fields: Omit<IncomingMeasurement, 'measurement' | 'envelope' | 'testKeyScalars'>,
    readonly envelope: Record<string, unknown>,
    readonly testKeyScalars: Record<string, unknown>,
  ) {
    this.id = fields.id;
    this.body = fields.body;
    this.probeKey = fields.probeKey;
    this.signature = fields.signature;
    this.receivedAt = fields.receivedAt;
    this.network = fields.network;
  }

  get measurement(): Record<string, unknown> {
    let parsed = this.#measurement;
    if (parsed === undefined) {
      const b = this.body;
      const text = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
      parsed = JSON.parse(text) as Record<string, unknown>;
      this.#measurement = parsed;
    }
    return parsed;
  }
}

/** Whether each signature verifies, and each measurement's id (SHA-256 of the signed bytes). */
async function verifyAll(
  items: KeyedItem[],
  ctx: SubmissionContext,
): Promise<{ ok: boolean[]; ids: string[] }> {
  if (ctx.verifier) {
    return ctx.verifier.verify(
      items.map((c) => ({
        bytes: c.bytes,
        rawKey: c.key.raw,
        signature: c.signatureBytes,
      })),
    );
  }
  const ok = await Promise.all(items.map((c) => verifyEd25519(c.key.key, c.bytes, c.signatureBytes)));
  return { ok, ids: items.map((c) => createHash('sha256').update(c.bytes).digest('hex')) };
}

/**
 * The batch through the general path: every item parsed and checked in order, each with its key,
 * so that the first problem in the body is the one reported.
 */
function generalBatch(body: Buffer, ctx: SubmissionContext): KeyedItem[] {
  return parseBatch(body, ctx.options).map((item, index) =>
    withKey(checkItem(item, index, ctx.options), ctx.keys),
  );
}

type FastResult = { items: KeyedItem[]; verified: VerifyResult | null } | null;

/**
 * The batch through the fast path (result null when it declines or finds anything wrong), and the
 * body to go on with: with signature threads, one of them scans the body and checks every
 * signature in the same message, so the main thread only parses envelopes, and the body comes
 * back from that thread (verify-threads.ts).
 */
async function fastBatch(
  body: Buffer,
  ctx: SubmissionContext,
): Promise<{ body: Buffer; result: FastResult }> {
  if (!isUtf8(body)) return { body, result: null };
  if (ctx.verifier) {
    const scan = await ctx.verifier.scanAndVerify(body, ctx.options.maxBatchSize);
    return { body: scan.body, result: scan.items && checkScanned(scan.body, scan.items, scan.verified, ctx) };
  }
  const items = scanCanonicalBatch(body, ctx.options.maxBatchSize);
  return { body, result: items && checkScanned(body, items, null, ctx) };
}

/** The scanned items with their envelopes parsed and checked; null at the first problem. */
function checkScanned(
  body: Buffer,
  scanned: ScannedItem[],
  verified: VerifyResult | null,
  ctx: SubmissionContext,
): FastResult {
  const out: KeyedItem[] = [];
  try {
    for (const [index, s] of scanned.entries()) {
      if (s.end - s.start > ctx.options.maxMeasurementBytes) return null;
      const { measurement, testKeyScalars } = measurementAt(body, s);
      if (!isPlainEnvelope(measurement)) return null;
      out.push(
        withKey(
          {
            index,
            measurement,
            testKeyScalars,
            bytes: body.subarray(s.start, s.end),
            probeKey: s.probeKey,
            signature: s.signature,
            claimedCC: measurement.probe_cc as string,
            claimedASN: measurement.probe_asn as string,
          },
          ctx.keys,
        ),
      );
    }
  } catch (err) {
    if (err instanceof SubmissionError) return null;
    throw err;
  }
  return { items: out, verified };
}

/** Where measurementAt puts the text it parses: it is synchronous, so one buffer serves every call. */
let scratch = Buffer.allocUnsafeSlow(64 * 1024);

/**
 * A scanned measurement as an object. Its envelope is parsed now, for the schema and the store's
 * columns, with test_keys cut down to its members that are not objects or arrays
 * (`testKeyScalars`): they are small, and all that a measurement's outcome needs. One text, one
 * JSON.parse: the canonical bytes of the envelope and of those members, copied from the body.
 * The whole measurement is parsed only if something reads it (`ScannedMeasurement`).
 */
export function measurementAt(
  body: Buffer,
  s: ScannedItem,
): { measurement: Record<string, unknown>; testKeyScalars?: Record<string, unknown> } {
  if (s.testKeysStart < 0) return { measurement: JSON.parse(body.toString('utf8', s.start, s.end)) };
  // The text is never longer than the measurement: members are only left out.
  if (scratch.length < s.end - s.start) scratch = Buffer.allocUnsafeSlow(s.end - s.start);
  // Up to and including test_keys' opening brace.
  let at = body.copy(scratch, 0, s.start, s.testKeysStart + 1);
  const m = s.testKeysMembers;
  let kept = 0;
  for (let k = 0; k < m.length; k += 4) {
    const first = body[m[k + 2]!];
    if (first === 0x7b || first === 0x5b) continue; // { or [
    if (kept++ > 0) scratch[at++] = 0x2c; // ,
    // From the name's opening quote to the end of the value.
    at += body.copy(scratch, at, m[k]! - 1, m[k + 3]);
  }
  // From test_keys' closing brace to the end of the measurement.
  at += body.copy(scratch, at, s.testKeysEnd - 1, s.end);
  const measurement = JSON.parse(scratch.toString('utf8', 0, at)) as Record<string, unknown>;
  return { measurement, testKeyScalars: measurement.test_keys as Record<string, unknown> };
}

// Canonical base64 of 64 bytes: the bits the padding drops are zero (as core's fromBase64 demands).
const CANONICAL_SIGNATURE = /^[A-Za-z0-9+/]{85}[AQgw]==$/;

/** The item with its probe key and signature decoded and checked (400 naming the item if not). */
function withKey(c: CheckedItem, keys: KeyCache): KeyedItem {
  let key = keys.peek(c.probeKey);
  if (!key) {
    const raw = decodeBase64(c.probeKey, 32, c.index, 'probe_key', 'an Ed25519 public key');
    const found = keys.probeKey(c.probeKey, raw);
    if (typeof found === 'string') throw itemError(c.index, 'key', `probe_key ${found}`);
    key = found;
  }
  const signatureBytes = CANONICAL_SIGNATURE.test(c.signature)
    ? Buffer.from(c.signature, 'base64')
    : decodeBase64(c.signature, 64, c.index, 'signature', 'an Ed25519 signature');
  return { ...c, key, signatureBytes };
}

/** The batch's items, after JSON and wrapper checks. */
function parseBatch(body: Buffer, options: CollectorOptions): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bodyText(body));
  } catch (err) {
    if (err instanceof SubmissionError) throw err;
    throw new SubmissionError(400, 'json', `body is not valid JSON: ${(err as Error).message.slice(0, 200)}`);
  }
  const wrapper = submissionSchema.safeParse(parsed, { reportInput: true });
  if (!wrapper.success)
    throw new SubmissionError(400, 'schema', describeIssue(wrapper.error.issues[0]!, '', 'body'));
  const { measurements } = wrapper.data;
  if (measurements.length === 0)
    throw new SubmissionError(400, 'schema', 'measurements: is empty, nothing to submit');
  if (measurements.length > options.maxBatchSize) {
    throw new SubmissionError(
      413,
      'body-size',
      `measurements: ${measurements.length} in one batch, at most ${options.maxBatchSize}: send smaller batches`,
    );
  }
  return measurements;
}

/** One item: wrapper fields, OONI envelope, canonical form and its size. */
function checkItem(item: unknown, index: number, options: CollectorOptions): CheckedItem {
  const shape = submissionItemSchema.safeParse(item, { reportInput: true });
  if (!shape.success) throw itemError(index, 'schema', describeIssue(shape.error.issues[0]!, ''));
  const envelope = envelopeSchema.safeParse(shape.data.measurement, { reportInput: true });
  if (!envelope.success)
    throw itemError(index, 'schema', describeIssue(envelope.error.issues[0]!, 'measurement'));
  // The parsed object itself, not zod's copy: it is what the probe signed, member for member.
  const measurement = shape.data.measurement as Record<string, unknown>;
  let canonical: string;
  try {
    canonical = canonicalize(measurement);
  } catch (err) {
    if (err instanceof MeasurementShapeError) throw itemError(index, 'schema', `measurement ${err.message}`);
    if (err instanceof CanonicalJSONError)
      throw itemError(index, 'schema', `measurement is not plain JSON: ${err.message}`);
    throw err;
  }
  const bytes = Buffer.from(canonical, 'utf8');
  if (bytes.length > options.maxMeasurementBytes) {
    throw itemError(
      index,
      'measurement-size',
      `measurement is ${bytes.length} bytes as canonical JSON, more than the limit of ${options.maxMeasurementBytes}`,
      413,
    );
  }
  return {
    index,
    measurement,
    bytes,
    probeKey: shape.data.probe_key,
    signature: shape.data.signature,
    claimedCC: envelope.data.probe_cc,
    claimedASN: envelope.data.probe_asn,
  };
}

function decodeBase64(text: string, size: number, index: number, field: string, what: string): Buffer {
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(text);
  } catch (err) {
    throw itemError(index, 'key', `${field} is not valid base64: ${(err as Error).message}`);
  }
  if (bytes.length !== size) {
    throw itemError(index, 'key', `${field} has ${bytes.length} bytes, expected ${size} (${what})`);
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}
