/**
 * Log entries (docs/evidence-log.md, "Log entries"): the UTF-8 bytes of the RFC 8785 canonical JSON
 * of {kind, sha256, probe_key, received, scrubbed} for a measurement, and of {kind, sha256,
 * received} for a record (an incident's state change, later operator records). The entry commits
 * to the hash, not the bytes, so the log stays small and a withheld item breaks nobody's proof.
 *
 * Parsing is strict because a verifier decides from these bytes what the log vouches for: the text
 * must be exactly the canonical form, with no member missing or extra.
 */
import { canonicalJSON, fromBase64 } from '@pharos/core';

export interface MeasurementEntry {
  kind: 'measurement';
  /** Lower-case hex SHA-256 of the stored measurement's canonical JSON. */
  sha256: string;
  /** Base64 Ed25519 public key that signed the measurement. */
  probe_key: string;
  /** ISO 8601 UTC, millisecond precision: when the collector received it. */
  received: string;
  /** True when the submitter's address was removed from the body before storing. */
  scrubbed: boolean;
}

export class EntryFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EntryFormatError';
  }
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;
const ISO_MILLIS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const MEMBERS = ['kind', 'probe_key', 'received', 'scrubbed', 'sha256'];
const RECORD_MEMBERS = ['kind', 'received', 'sha256'];

/** Kinds of record the log holds beside measurements. */
export const RECORD_KINDS = ['incident'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

export interface RecordEntry {
  kind: RecordKind;
  /** Lower-case hex SHA-256 of the record's canonical JSON. */
  sha256: string;
  /** ISO 8601 UTC, millisecond precision: when the store took the record. */
  received: string;
}

export function isRecordKind(kind: unknown): kind is RecordKind {
  return typeof kind === 'string' && (RECORD_KINDS as readonly string[]).includes(kind);
}

/**
 * The entry text for a measurement: canonicalJSON of its members, written out in their canonical
 * order (JSON.stringify writes a string as RFC 8785 does; the sequencer has checked that the key
 * and hash are base64 and hex). It runs for every measurement, and sorting the members took longer
 * than the rest; a test compares the two on many entries.
 */
export function formatMeasurementEntry(fields: {
  sha256: string;
  probeKey: string;
  received: Date;
  scrubbed: boolean;
}): string {
  const received = fields.received.toISOString();
  return `{"kind":"measurement","probe_key":${JSON.stringify(fields.probeKey)},"received":"${received}","scrubbed":${fields.scrubbed === true},"sha256":${JSON.stringify(fields.sha256)}}`;
}

/** The entry text for a record. */
export function formatRecordEntry(fields: { kind: RecordKind; sha256: string; received: Date }): string {
  return canonicalJSON({ kind: fields.kind, sha256: fields.sha256, received: fields.received.toISOString() });
}

function parseObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new EntryFormatError('the log entry is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new EntryFormatError('the log entry is not a JSON object');
  }
  return value as Record<string, unknown>;
}

function checkHashAndTime(e: Record<string, unknown>): void {
  if (typeof e.sha256 !== 'string' || !HEX_SHA256.test(e.sha256)) {
    throw new EntryFormatError("the log entry's sha256 is not 64 lower-case hex digits");
  }
  if (
    typeof e.received !== 'string' ||
    !ISO_MILLIS_UTC.test(e.received) ||
    Number.isNaN(Date.parse(e.received))
  ) {
    throw new EntryFormatError("the log entry's received is not an ISO 8601 UTC time with milliseconds");
  }
}

/** Parses and checks a record entry's text; throws EntryFormatError saying what is wrong. */
export function parseRecordEntry(text: string): RecordEntry {
  const value = parseObject(text);
  const members = Object.keys(value).sort();
  if (members.join(',') !== RECORD_MEMBERS.join(',')) {
    throw new EntryFormatError(
      `the log entry has members ${members.join(', ')}; a record's has ${RECORD_MEMBERS.join(', ')}`,
    );
  }
  if (!isRecordKind(value.kind)) {
    throw new EntryFormatError(
      `the log entry's kind is ${JSON.stringify(value.kind)}, not a record kind (${RECORD_KINDS.join(', ')})`,
    );
  }
  checkHashAndTime(value);
  if (canonicalJSON(value) !== text) {
    throw new EntryFormatError('the log entry is not in RFC 8785 canonical form');
  }
  return value as unknown as RecordEntry;
}

/** Parses any entry: a measurement's or a record's, by its kind. */
export function parseLogEntry(text: string): MeasurementEntry | RecordEntry {
  const value = parseObject(text);
  return isRecordKind(value.kind) ? parseRecordEntry(text) : parseMeasurementEntry(text);
}

/** Parses and checks a measurement entry's text; throws EntryFormatError saying what is wrong. */
export function parseMeasurementEntry(text: string): MeasurementEntry {
  const value = parseObject(text);
  const members = Object.keys(value).sort();
  if (members.join(',') !== MEMBERS.join(',')) {
    throw new EntryFormatError(
      `the log entry has members ${members.join(', ')}; expected ${MEMBERS.join(', ')}`,
    );
  }
  const e = value;
  if (e.kind !== 'measurement')
    throw new EntryFormatError(`the log entry's kind is ${JSON.stringify(e.kind)}, not "measurement"`);
  if (typeof e.sha256 !== 'string' || !HEX_SHA256.test(e.sha256)) {
    throw new EntryFormatError("the log entry's sha256 is not 64 lower-case hex digits");
  }
  if (typeof e.probe_key !== 'string' || !isBase64Key(e.probe_key)) {
    throw new EntryFormatError("the log entry's probe_key is not the base64 of a 32-byte key");
  }
  checkHashAndTime(e);
  if (typeof e.scrubbed !== 'boolean')
    throw new EntryFormatError("the log entry's scrubbed is not true or false");
  if (canonicalJSON(value) !== text) {
    throw new EntryFormatError('the log entry is not in RFC 8785 canonical form');
  }
  return value as unknown as MeasurementEntry;
}

function isBase64Key(text: string): boolean {
  try {
    return fromBase64(text).length === 32;
  } catch {
    return false;
  }
}
