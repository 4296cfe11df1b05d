/**
 * Offline verification of evidence, with nothing but the log's vkey: a measurement or a record
 * (an incident's state change) with its `.tlog-proof` (what `pharos verify --measurement` and
 * `--record` do) and two checkpoints with the consistency
 * proof between them. Pure functions over the files' texts; every failure comes back as one
 * sentence saying what does not hold. Uses core's reference (browser-safe) implementations.
 */
import {
  bytesEqual,
  type Checkpoint,
  canonicalJSONBytes,
  ed25519Verify,
  fromBase64,
  leafHash,
  type NoteVerifier,
  openCheckpoint,
  parseTlogProof,
  parseVerifierKey,
  sha256Hex,
  type TlogProof,
  toBase64,
  utf8,
  verifyCheckpointConsistency,
  verifyInclusion,
} from '@pharos/core';
import { z } from 'zod';
import {
  EntryFormatError,
  type MeasurementEntry,
  parseMeasurementEntry,
  parseRecordEntry,
  type RecordEntry,
} from './entry.js';

export type EvidenceVerdict = { ok: true; summary: string; notes: string[] } | { ok: false; reason: string };

const fail = (reason: string): EvidenceVerdict => ({ ok: false, reason });

/** The parts of `GET /api/v1/measurements/:id` the verification reads (the rest is ignored). */
const measurementFileSchema = z.object({
  id: z.string().optional(),
  measurement: z.record(z.string(), z.unknown()),
  probe_key: z.string(),
  signature: z.string(),
  log_index: z.number().int().nonnegative(),
  entry: z.string(),
});

function keyLabel(v: NoteVerifier): string {
  return `${v.name}+${v.keyId.toString(16).padStart(8, '0')}`;
}

function parseVkey(text: string): NoteVerifier | string {
  try {
    return parseVerifierKey(text.trim());
  } catch (err) {
    return `the vkey is not a log verifier key (<origin>+<key id>+<base64>): ${(err as Error).message}`;
  }
}

function openSigned(what: string, text: string, verifier: NoteVerifier): Checkpoint | string {
  const opened = openCheckpoint(text, verifier);
  if (opened.ok) return opened.checkpoint;
  if (/signature|signed/.test(opened.reason)) {
    return `${what} signature does not verify with vkey ${keyLabel(verifier)}: ${opened.reason.replace(/^checkpoint signature: /, '')}`;
  }
  return `${what} is not valid for this log: ${opened.reason}`;
}

export interface MeasurementEvidence {
  /** The JSON text of `GET /api/v1/measurements/:id`. */
  measurementFile: string;
  /** The `.tlog-proof` text. */
  proof: string;
  /** The log's verifier key text. */
  vkey: string;
}

/** What a logged file (measurement or record) and its proof establish once checked. */
interface Logged<E> {
  checkpoint: Checkpoint;
  index: number;
  entry: E;
  /** The canonical JSON of the body, whose SHA-256 the entry records. */
  canonical: Uint8Array;
}

/**
 * The checks a measurement and a record share: the proof's checkpoint is signed by the vkey, the
 * file's entry is in that tree at the proof's index, the file's log_index is that index, and the
 * body's canonical JSON hashes to what the entry records. A string says which of them fails.
 */
function checkLogged<E extends { sha256: string }>(
  what: 'measurement' | 'record',
  file: { entry: string; log_index: number; body: Record<string, unknown> },
  proofText: string,
  verifier: NoteVerifier,
  parseEntry: (text: string) => E,
): Logged<E> | string {
  let proof: TlogProof;
  try {
    proof = parseTlogProof(proofText);
  } catch (err) {
    return `the proof file is not a C2SP tlog-proof: ${(err as Error).message}`;
  }
  const checkpoint = openSigned('checkpoint', proof.checkpoint, verifier);
  if (typeof checkpoint === 'string') return checkpoint;

  const entryBytes = utf8(file.entry);
  if (proof.extra && !bytesEqual(proof.extra, entryBytes)) {
    return `the proof file is for a different log entry than the ${what} file (the proof is for index ${proof.index}, the ${what}'s log_index is ${file.log_index})`;
  }
  let entry: E;
  try {
    entry = parseEntry(file.entry);
  } catch (err) {
    return `the ${what} file's log entry is malformed: ${err instanceof EntryFormatError ? err.message : err}`;
  }
  if (proof.index >= checkpoint.size) {
    return `the proof is for index ${proof.index}, which is not in the checkpoint's tree of size ${checkpoint.size}`;
  }
  const inclusion = verifyInclusion(
    proof.index,
    checkpoint.size,
    leafHash(entryBytes),
    proof.hashes,
    checkpoint.rootHash,
  );
  if (!inclusion.ok) {
    return `the inclusion proof does not lead to the checkpoint's root: the log does not contain this entry at index ${proof.index} (${inclusion.reason})`;
  }
  if (file.log_index !== proof.index) {
    return `the ${what} file says log_index ${file.log_index}, but the proof proves the entry at index ${proof.index}`;
  }
  let canonical: Uint8Array;
  try {
    canonical = canonicalJSONBytes(file.body);
  } catch (err) {
    return `the ${what} cannot be put in canonical JSON: ${(err as Error).message}`;
  }
  const hash = sha256Hex(canonical);
  if (hash !== entry.sha256) {
    return `the ${what} does not match its log entry: the SHA-256 of its canonical JSON is ${hash}, but the entry logged at index ${proof.index} records ${entry.sha256} (the ${what} was changed after it was logged)`;
  }
  return { checkpoint, index: proof.index, entry, canonical };
}

/** The JSON text of a file, checked against the parts of it the verification reads. */
function readFile<T>(what: string, route: string, text: string, schema: z.ZodType<T>): T | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return `the ${what} file is not JSON (it should be what GET ${route} returns)`;
  }
  const file = schema.safeParse(json);
  if (file.success) return file.data;
  const issue = file.error.issues[0]!;
  return `the ${what} file has no valid ${issue.path.join('.') || 'content'} (${issue.message})`;
}

function checkpointLabel(c: Checkpoint, index: number, verifier: NoteVerifier): string {
  return `entry ${index} of ${c.origin} (checkpoint of size ${c.size}, root ${toBase64(c.rootHash)}, signed by ${keyLabel(verifier)})`;
}

export function verifyMeasurementEvidence(input: MeasurementEvidence): EvidenceVerdict {
  const verifier = parseVkey(input.vkey);
  if (typeof verifier === 'string') return fail(verifier);
  const m = readFile(
    'measurement',
    '/api/v1/measurements/<id>',
    input.measurementFile,
    measurementFileSchema,
  );
  if (typeof m === 'string') return fail(m);
  const logged = checkLogged(
    'measurement',
    { entry: m.entry, log_index: m.log_index, body: m.measurement },
    input.proof,
    verifier,
    (text): MeasurementEntry => parseMeasurementEntry(text),
  );
  if (typeof logged === 'string') return fail(logged);
  const { entry, canonical } = logged;

  if (!entry.scrubbed && m.id !== undefined && m.id !== entry.sha256) {
    return fail(`the measurement file's id ${m.id} is not the hash its log entry records (${entry.sha256})`);
  }
  if (m.probe_key !== entry.probe_key) {
    return fail(
      `the measurement file's probe_key ${m.probe_key} is not the one its log entry records (${entry.probe_key})`,
    );
  }

  const notes: string[] = [];
  let signed: string;
  if (entry.scrubbed) {
    signed = 'its probe signature was not checked';
    notes.push(
      "the probe's signature was not checked: the collector scrubbed the submitter's address from this measurement, so the stored body is not the exact bytes the probe signed",
    );
  } else {
    let signature: Uint8Array;
    try {
      signature = fromBase64(m.signature);
    } catch {
      return fail("the measurement file's signature is not base64");
    }
    if (!ed25519Verify(signature, canonical, fromBase64(entry.probe_key))) {
      return fail(
        `the measurement's signature does not verify with the probe key ${entry.probe_key} recorded in its log entry`,
      );
    }
    signed = `signed by probe key ${entry.probe_key}`;
  }
  return {
    ok: true,
    summary: `measurement ${entry.sha256} is ${checkpointLabel(logged.checkpoint, logged.index, verifier)}; its content matches the entry; ${signed}`,
    notes,
  };
}

/** The parts of `GET /api/v1/records/:log_index` the verification reads. */
const recordFileSchema = z.object({
  kind: z.string().optional(),
  log_index: z.number().int().nonnegative(),
  record: z.record(z.string(), z.unknown()),
  entry: z.string(),
});

export interface RecordEvidence {
  /** The JSON text of `GET /api/v1/records/:log_index`. */
  recordFile: string;
  /** The `.tlog-proof` text (`GET /api/v1/records/:log_index/proof`). */
  proof: string;
  vkey: string;
}

/**
 * A record: its entry is in the signed checkpoint's tree at its index, and the SHA-256 of the
 * record's canonical JSON is what the entry records. Records carry no probe signature: the log
 * itself vouches for when they were taken.
 */
export function verifyRecordEvidence(input: RecordEvidence): EvidenceVerdict {
  const verifier = parseVkey(input.vkey);
  if (typeof verifier === 'string') return fail(verifier);
  const r = readFile('record', '/api/v1/records/<log index>', input.recordFile, recordFileSchema);
  if (typeof r === 'string') return fail(r);
  const logged = checkLogged(
    'record',
    { entry: r.entry, log_index: r.log_index, body: r.record },
    input.proof,
    verifier,
    (text): RecordEntry => parseRecordEntry(text),
  );
  if (typeof logged === 'string') return fail(logged);
  const { entry } = logged;
  return {
    ok: true,
    summary: `${entry.kind} record ${entry.sha256} is ${checkpointLabel(logged.checkpoint, logged.index, verifier)}, logged at ${entry.received}; its content matches the entry`,
    notes: [],
  };
}

export interface ConsistencyEvidence {
  older: string;
  newer: string;
  /** Base64 hashes, one per line (`GET /api/v1/log/proof/consistency?format=text`). */
  proof: string;
  vkey: string;
}

/** Parses a consistency proof file: one base64 SHA-256 hash per line. */
export function parseProofLines(text: string): Uint8Array[] | string {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const hashes: Uint8Array[] = [];
  for (const [i, line] of lines.entries()) {
    let h: Uint8Array;
    try {
      h = fromBase64(line.trim());
    } catch {
      return `line ${i + 1} of the consistency proof is not base64`;
    }
    if (h.length !== 32)
      return `line ${i + 1} of the consistency proof has ${h.length} bytes, not a 32-byte hash`;
    hashes.push(h);
  }
  return hashes;
}

export function verifyConsistencyEvidence(input: ConsistencyEvidence): EvidenceVerdict {
  const verifier = parseVkey(input.vkey);
  if (typeof verifier === 'string') return fail(verifier);
  const older = openSigned('old checkpoint', input.older, verifier);
  if (typeof older === 'string') return fail(older);
  const newer = openSigned('new checkpoint', input.newer, verifier);
  if (typeof newer === 'string') return fail(newer);
  const proof = parseProofLines(input.proof);
  if (typeof proof === 'string') return fail(proof);
  const verdict = verifyCheckpointConsistency(older, newer, proof);
  if (!verdict.ok) {
    return fail(
      `the checkpoint of size ${older.size} is not a prefix of the checkpoint of size ${newer.size}: ${verdict.reason.replace(/^checkpoints are not consistent: /, '')}`,
    );
  }
  return {
    ok: true,
    summary: `the checkpoint of size ${older.size} (root ${toBase64(older.rootHash)}) is a prefix of the checkpoint of size ${newer.size} (root ${toBase64(newer.rootHash)}) of ${newer.origin}, both signed by ${keyLabel(verifier)}: the log only grew between them`,
    notes: [],
  };
}
