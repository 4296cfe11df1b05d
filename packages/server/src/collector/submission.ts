/**
 * A submission, from decoded body bytes to measurements ready for the store: parse, check the
 * wrapper and each envelope, canonicalize, check sizes and keys, verify every signature, charge
 * the rate limit, derive the network, scrub. The first problem refuses the whole batch.
 */
import { createHash } from 'node:crypto';
import { CanonicalJSONError, fromBase64 } from '@pharos/core';
import { bodyText } from './body.js';
import { canonicalize, MeasurementShapeError } from './canonical.js';
import { itemError, SubmissionError } from './errors.js';
import type { NetworkOrigin } from './geo.js';
import type { CollectorOptions } from './options.js';
import type { KeyRateLimiter } from './rate-limit.js';
import { describeIssue, envelopeSchema, submissionItemSchema, submissionSchema } from './schema.js';
import { needlesFor, ScrubError, scrubValue } from './scrub.js';
import { type KeyCache, verifyEd25519 } from './signature.js';
import type { IncomingMeasurement } from './store.js';

export interface SubmissionContext {
  options: CollectorOptions;
  keys: KeyCache;
  limiter: KeyRateLimiter;
  /** The network of an address; the address is used for nothing else. */
  locate(ip: string): Promise<NetworkOrigin>;
}

interface CheckedItem {
  index: number;
  measurement: Record<string, unknown>;
  canonical: string;
  bytes: Buffer;
  probeKey: string;
  signature: string;
  claimedCC: string;
  claimedASN: string;
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
  const items = parseBatch(body, ctx.options);

  const checked: CheckedItem[] = [];
  const keys: ReturnType<KeyCache['get']>[] = [];
  const signatures: Buffer[] = [];
  for (const [index, item] of items.entries()) {
    const c = checkItem(item, index, ctx.options);
    const rawKey = decodeBase64(c.probeKey, 32, index, 'probe_key', 'an Ed25519 public key');
    const signature = decodeBase64(c.signature, 64, index, 'signature', 'an Ed25519 signature');
    const key = ctx.keys.get(c.probeKey, rawKey);
    if (typeof key === 'string') throw itemError(index, 'key', `probe_key ${key}`);
    checked.push(c);
    keys.push(key);
    signatures.push(signature);
  }

  const verdicts = await Promise.all(
    checked.map((c, i) =>
      verifyEd25519(keys[i] as Exclude<(typeof keys)[number], string>, c.bytes, signatures[i]!),
    ),
  );
  const bad = verdicts.indexOf(false);
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
  return checked.map((c) => {
    const id = createHash('sha256').update(c.bytes).digest('hex');
    let measurement = c.measurement;
    let canonical = c.canonical;
    let scrubbed = false;
    if (needles?.mayContain(canonical)) {
      try {
        const result = scrubValue(measurement, needles);
        if (result.changed) {
          measurement = result.value as Record<string, unknown>;
          canonical = canonicalize(measurement);
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
    return {
      id,
      canonical,
      measurement,
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
  });
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
    canonical,
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
